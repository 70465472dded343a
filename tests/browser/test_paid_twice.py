"""Paid twice, told once (issue 17, U-09 / item 3), on a 360×740 phone: a
superseded hosted page was paid after another method had paid the order. The
order page says so plainly, the old attempt reads "paid twice, refunded", and
the superseded tab says the order is paid."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.backoffice import late_paid, paid_order
from tests.support.browser import MARKS
from tests.support.browser import chromium as launch_chromium

pytestmark = MARKS


@pytest.fixture(scope="module")
def chromium():
    with launch_chromium() as browser:
        yield browser


def test_the_order_page_and_the_superseded_tab_tell_the_shopper(chromium, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    order, _first = paid_order()
    second = late_paid(order, provider="lygos", provider_reference="lg-twice")
    context = chromium.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(live_server.url + order.get_absolute_url())
        notice = page.locator("p.notice")
        assert "Nous avons reçu deux paiements pour cette commande" in notice.inner_text()
        assert "remboursé sous 48 h" in notice.inner_text()
        box = notice.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 360  # readable on the phone
        payments = page.locator("ul.payments").inner_text()
        assert "paiement reçu en double" in payments and "Annulé" not in payments

        page.goto(live_server.url + reverse("payments:wait", args=[order.token, second.reference]))
        assert "Votre commande est payée" in page.locator("#payment-status").inner_text()
    finally:
        context.close()
