"""A refused payment is named on the shop's pay page (issue 15, item 9), in a
real browser against the live shop, the sandbox and a real worker.

For each provider: start paying, press "Refuser" on its sandbox page (or the
simulated phone of a push), then come back to the shop's pay page by
oneself — as a Novasend shopper must, its page having no link back — and
read that the payment was refused, with the choice offered again.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from payments.models import Payment, PaymentStatus
from payments.providers import provider_class
from tests.support.browser import MARKS, chromium
from tests.support.e2e import ROUTES, final, setup_route
from tests.support.factories import make_order, make_product

pytestmark = MARKS


@pytest.fixture(scope="module")
def browser():
    with chromium("--disable-quic", "--no-first-run", "--disable-background-networking") as b:
        yield b


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.method != "moov_bf"], ids=lambda r: r.provider
)
def test_the_pay_page_says_the_payment_was_refused(sandbox_shop, settings, page, route):
    setup_route(route, settings)
    product = make_product(name=f"Batterie Externe {route.provider}", price=4500, stock=2)
    order = make_order((product, 1), country=route.country, phone=route.phone)
    pay_url = sandbox_shop + reverse("payments:pay", args=[order.token])

    page.goto(pay_url)
    # One aggregator's own offer: under "Autres moyens" (issue 18, wallet first).
    page.locator("details.other-offers summary").click()
    page.check(f"input[value='{route.provider}:{route.method}']")
    if page.locator("#payer_phone").is_visible():
        page.fill("#payer_phone", route.phone)
    page.get_by_role("button", name=re.compile("^Payer")).click()
    page.wait_for_load_state()
    if "/sandbox/page/" not in page.url:  # a push: the simulated phone
        page.get_by_role("link", name="Bac à sable : ouvrir le téléphone simulé").click()
    page.get_by_role("button", name="Refuser", exact=True).click()
    payment = final(Payment.objects.get(order=order))
    assert payment.status == PaymentStatus.FAILED

    page.goto(pay_url)  # back to the shop by oneself

    name = provider_class(route.provider).name
    said = page.locator("#last-attempt")
    assert said.inner_text() == (
        f"Votre paiement {name} a été refusé. Choisissez un autre moyen ou réessayez."
    )
    assert page.get_by_role("heading", name="Choisissez votre moyen de paiement").is_visible()
    assert page.get_by_role("button", name=re.compile("^Payer")).is_visible()
