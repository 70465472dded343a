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

import time

import pytest
from django.core import mail
from django.urls import reverse

from payments.models import Payment, PaymentStatus
from shop.models import Order, Product
from tests.support.e2e import ROUTES, act_in_sandbox, buy, final, sandbox_page, setup_route
from tests.support.factories import make_product, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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
        assert back.status_code == 200 and (
            wait_url in back.url or back.url.startswith(shop + "/commande/")
        ), back.url
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
    assert (payment.deadline - payment.created_at).total_seconds() > 60, (
        "ended by the provider's answer, not by a deadline"
    )
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
