"""End to end through the sandbox with a real Celery worker on Redis.

A live server serves the shop and the sandbox; a real worker (Celery's own
test worker, consuming from Redis on 127.0.0.1:6379) runs the poller, the
callback processing and the sandbox's callback delivery. The shopper is a
``requests`` session: product → cart → checkout → pay → the sandbox's page.

For every provider: paid exactly once with the browser return, with only the
callback (the browser never comes back), and with only the poller (the
callback is lost); refused and expired payments release the stock.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
import requests
from django.core import mail
from django.urls import reverse

from payments.models import Payment, PaymentStatus
from payments.sandbox.core import EMULATORS, SANDBOX_OTP
from shop.models import Order, Product
from tests.factories import make_product, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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


def available(route: Route) -> bool:
    try:
        __import__(EMULATORS[route.provider], fromlist=["urlpatterns"])
        __import__(f"payments.providers.{route.provider}")
    except ImportError:
        return False
    return True


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def buy(base: str, route: Route, product: Product) -> tuple[requests.Session, Payment, requests.Response]:
    """A shopper's path up to the provider: returns the answer to "Payer"."""
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
        "country": route.country,
        "phone": route.phone,
    }
    pay = s.post(f"{base}/commande/", data=data, headers={"Referer": base}, timeout=10)
    assert "/paiement/" in pay.url, pay.text[:500]
    choice = {"csrfmiddlewaretoken": csrf(pay.text), "choice": f"{route.provider}:{route.method}", "payer_phone": route.phone}
    answer = s.post(pay.url, data=choice, headers={"Referer": base}, allow_redirects=False, timeout=20)
    if answer.status_code == 200 and 'name="otp"' in answer.text:
        choice.update(otp=SANDBOX_OTP, csrfmiddlewaretoken=csrf(answer.text))
        answer = s.post(pay.url, data=choice, headers={"Referer": base}, allow_redirects=False, timeout=20)
    assert answer.status_code == 302, answer.text[:800]
    token = pay.url.rstrip("/").rsplit("/", 1)[-1]
    payment = Payment.objects.get(order__token=token)
    return s, payment, answer


def sandbox_page(base: str, payment: Payment) -> str:
    if payment.redirect_url:
        return payment.redirect_url
    return base + reverse("sandbox:page", args=[payment.provider, payment.provider_reference])


def act_in_sandbox(s: requests.Session, base: str, payment: Payment, action: str, follow: bool) -> requests.Response:
    url = sandbox_page(base, payment)
    page = s.get(url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    return s.post(url, data={"csrfmiddlewaretoken": csrf(page.text), "action": action}, headers={"Referer": base}, allow_redirects=follow, timeout=20)


def final(payment: Payment) -> Payment:
    def done():
        payment.refresh_from_db()
        return payment.is_final

    wait_for(done)
    return payment


def setup_route(route: Route, settings):
    if not available(route):
        pytest.skip(f"{route.provider} emulator not available")
    settings.SHOP_CURRENCY = route.currency


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
@pytest.mark.parametrize("path", ["return", "callback-only", "poll-only"])
def test_paid_exactly_once(sandbox_shop, settings, route, path):
    setup_route(route, settings)
    shop = sandbox_shop
    if path == "poll-only":
        settings.SANDBOX_SEND_CALLBACKS = False
    product = make_product(price=2500, stock=3)
    mail.outbox.clear()
    s, payment, _ = buy(shop, route, product)
    response = act_in_sandbox(s, shop, payment, "pay", follow=(path == "return"))
    if path == "return" and route.provider == "novasend":
        # A Novasend session has no return URL: the shopper stays on its page
        # and comes back by themselves, to the waiting page (or the order).
        assert response.status_code == 200 and response.url == sandbox_page(shop, payment)
        back = s.get(shop + reverse("payments:pay", args=[payment.order.token]), timeout=10)
        wait_url = reverse("payments:wait", args=[payment.order.token, payment.reference])
        assert back.status_code == 200 and (wait_url in back.url or back.url.startswith(shop + "/commande/")), back.url
    elif path == "return" and (payment.method in ("hosted",) or payment.redirect_url):
        assert response.url.startswith(shop + "/commande/"), response.url
    payment = final(payment)
    assert payment.status == PaymentStatus.SUCCEEDED and not payment.needs_review
    order = Order.objects.get(pk=payment.order_id)
    wait_for(lambda: Order.objects.get(pk=order.pk).confirmation_sent_at)
    time.sleep(1.5)  # let any late duplicate (callback, poll) land before counting
    assert order.status == Order.Status.PAID
    assert sum(1 for m in mail.outbox if "awa@example.com" in m.to) == 1
    assert payment.events.filter(message__startswith="succeeded").count() == 1
    assert Product.objects.get(pk=product.pk).stock == 2


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_refused_payment_releases_stock(sandbox_shop, settings, route):
    setup_route(route, settings)
    shop = sandbox_shop
    product = make_product(price=2500, stock=1)
    s, payment, _ = buy(shop, route, product)
    assert Product.objects.get(pk=product.pk).stock == 0
    refused_at = time.monotonic()
    act_in_sandbox(s, shop, payment, "refuse", follow=True)
    order_page = shop + Order.objects.get(pk=payment.order_id).get_absolute_url()
    # The shopper sees the refusal within one poll (the callback or the first
    # check), not at the deadline.
    wait_for(lambda: "Échoué" in s.get(order_page, timeout=10).text, timeout=15)
    assert time.monotonic() - refused_at < 15
    payment = final(payment)
    assert payment.status == PaymentStatus.FAILED
    assert (payment.deadline - payment.created_at).total_seconds() > 60, "ended by the provider's answer, not by a deadline"
    wait_for(lambda: Product.objects.get(pk=product.pk).stock == 1)
    assert Order.objects.get(pk=payment.order_id).status != Order.Status.PAID


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_unpaid_payment_expires_and_releases_stock(sandbox_shop, settings, route):
    setup_route(route, settings)
    shop = sandbox_shop
    settings.PAYMENT_TTL = 4
    product = make_product(price=2500, stock=1)
    _, payment, _ = buy(shop, route, product)
    if route.provider == "novasend" or (payment.deadline - payment.created_at).total_seconds() > 60:
        Payment.objects.filter(pk=payment.pk).update(deadline=payment.created_at)
    payment = final(payment)
    assert payment.status == PaymentStatus.EXPIRED
    assert Product.objects.get(pk=product.pk).stock == 1
