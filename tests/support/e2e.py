"""The shopper's path through the live shop and its sandbox, with
``requests``: product → cart → checkout → pay → the sandbox's page.
Used by the end-to-end tests (a real Celery worker) and the browser tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module

import requests
from django.urls import reverse

from payments.models import Payment
from payments.providers import provider_class
from payments.sandbox.core import EMULATORS, SANDBOX_OTP
from shop.models import Product
from tests.support.factories import wait_for


@dataclass(frozen=True)
class Route:
    provider: str
    method: str
    country: str
    phone: str
    currency: str = "XOF"

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.method}"


ROUTES = [
    Route("ligdicash", "hosted", "BF", "+22670123456"),
    Route("ligdicash", "moov_bf", "BF", "+22670123456"),
    Route("novasend", "mobile_money", "CI", "+2250701234567"),
    Route("lygos", "hosted", "BF", "+22670123456"),
    Route("lengopay", "lp-om-gn", "GN", "+224620124578", currency="GNF"),
    Route("dexchange", "hosted", "SN", "+221771234567"),
]


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def checkout(
    base: str, product: Product, country: str, phone: str
) -> tuple[requests.Session, requests.Response]:
    """Product → cart → checkout: returns the shopper's session and the pay page."""
    s = requests.Session()
    page = s.get(f"{base}/produit/{product.slug}/", timeout=10)
    assert page.status_code == 200
    s.post(
        f"{base}/panier/ajouter/",
        data={"csrfmiddlewaretoken": csrf(page.text), "product_id": product.pk, "quantity": "1"},
        headers={"Referer": base},
        timeout=10,
    )
    form = s.get(f"{base}/commande/", timeout=10)
    key = re.search(r'name="checkout_key" value="([^"]+)"', form.text).group(1)
    data = {
        "csrfmiddlewaretoken": csrf(form.text),
        "checkout_key": key,
        "full_name": "Awa Traoré",
        "email": "awa@example.com",
        "country": country,
        "phone": phone,
    }
    pay = s.post(f"{base}/commande/", data=data, headers={"Referer": base}, timeout=10)
    assert "/paiement/" in pay.url, pay.text[:500]
    return s, pay


def buy(
    base: str, route: Route, product: Product
) -> tuple[requests.Session, Payment, requests.Response]:
    """A shopper's path up to the provider: returns the answer to "Payer"."""
    s, pay = checkout(base, product, route.country, route.phone)
    choice = {
        "csrfmiddlewaretoken": csrf(pay.text),
        "choice": f"{route.provider}:{route.method}",
        "payer_phone": route.phone,
    }
    answer = s.post(
        pay.url, data=choice, headers={"Referer": base}, allow_redirects=False, timeout=20
    )
    if answer.status_code == 200 and 'name="otp"' in answer.text:
        choice.update(otp=SANDBOX_OTP, csrfmiddlewaretoken=csrf(answer.text))
        answer = s.post(
            pay.url, data=choice, headers={"Referer": base}, allow_redirects=False, timeout=20
        )
    assert answer.status_code == 302, answer.text[:800]
    token = pay.url.rstrip("/").rsplit("/", 1)[-1]
    payment = Payment.objects.get(order__token=token)
    return s, payment, answer


def sandbox_page(base: str, payment: Payment) -> str:
    if payment.redirect_url:
        return payment.redirect_url
    return base + reverse("sandbox:page", args=[payment.provider, payment.provider_reference])


def act_in_sandbox(
    s: requests.Session, base: str, payment: Payment, action: str, follow: bool
) -> requests.Response:
    url = sandbox_page(base, payment)
    page = s.get(url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    return s.post(
        url,
        data={"csrfmiddlewaretoken": csrf(page.text), "action": action},
        headers={"Referer": base},
        allow_redirects=follow,
        timeout=20,
    )


def final(payment: Payment) -> Payment:
    def done():
        payment.refresh_from_db()
        return payment.is_final

    wait_for(done)
    return payment


def setup_route(route: Route, settings):
    """The shop set for ``route``. Its provider and emulator are imported
    here: one that fails to import fails the test, never skips it."""
    provider_class(route.provider)
    import_module(EMULATORS[route.provider])
    settings.SHOP_CURRENCY = route.currency
