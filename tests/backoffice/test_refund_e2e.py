"""A refund end to end: a shopper pays through the sandbox (as
``tests/payments/test_e2e_worker.py`` does), a "Caisse" user refunds the
order on the admin's refund page, and a real Celery worker on Redis polls
the refund through the sandbox's refund API until it is final.

The sandbox decides a refund by its reason: "[refuser]" refuses it,
anything else completes a couple of seconds after the request.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from backoffice import refunds
from backoffice.models import Refund, RefundEvent
from payments.models import PaymentStatus
from shop.models import Order
from tests.support.backoffice import enable_novasend_refunds
from tests.support.e2e import Route, act_in_sandbox, buy, final, setup_route
from tests.support.factories import make_product, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Ligdicash pays a refund back to the payer's wallet: a direct debit, whose
# number the shop knows (a hosted page's payer is whatever Ligdicash reports).
# Novasend's refund API is unconfirmed: off by default, turned on here.
ROUTES = [
    Route("ligdicash", "moov_bf", "BF", "+22670123456"),
    Route("novasend", "mobile_money", "CI", "+2250701234567"),
]
PRICE = 2500


def paid_through_the_sandbox(shop: str, route: Route):
    product = make_product(price=PRICE, stock=3)
    s, payment, _ = buy(shop, route, product)
    act_in_sandbox(s, shop, payment, "pay", follow=False)
    payment = final(payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    wait_for(lambda: Order.objects.get(pk=payment.order_id).status == Order.Status.PAID)
    return Order.objects.get(pk=payment.order_id), payment


def refund_as_staff(django_user_model, order: Order, payment, amount: int, reason: str) -> Refund:
    """The admin's refund page, posted by a logged-in cashier. (The "Caisse"
    group comes from a data migration, gone after a transactional test's
    flush: the user gets the group's refund and order permissions directly.)"""
    staff = django_user_model.objects.create_user("caisse-e2e", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(
            codename__in=["make_refund", "view_order", "change_order", "view_refund"]
        )
    )
    client = Client()
    client.force_login(staff)
    url = reverse("backoffice:refund", args=[order.pk])
    key = client.get(url).context["key"]
    response = client.post(
        url, {"payment": payment.pk, "amount": str(amount), "reason": reason, "key": key}
    )
    assert response.status_code == 302, response.content[:500]
    return Refund.objects.get(order=order)


def settled(refund: Refund) -> Refund:
    def done():
        refund.refresh_from_db()
        return refund.is_final

    wait_for(done, timeout=60)
    return refund


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.provider)
def test_a_full_refund_is_polled_to_success_by_the_worker(
    sandbox_shop, settings, django_user_model, route
):
    setup_route(route, settings)
    enable_novasend_refunds(settings)
    order, payment = paid_through_the_sandbox(sandbox_shop, route)

    refund = refund_as_staff(django_user_model, order, payment, PRICE, "article rendu")
    assert refund.status == Refund.Status.PENDING  # accepted by the sandbox, not paid yet

    refund = settled(refund)
    assert refund.status == Refund.Status.SUCCEEDED and not refund.needs_review
    assert (
        refund.events.filter(
            kind=RefundEvent.Kind.DECISION, message__startswith="succeeded (poll)"
        ).count()
        == 1
    )
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED  # refunded in full
    assert refunds.refundable(payment).left == 0
    assert refunds.refunded_amount(payment.pk) == PRICE
    assert Refund.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.provider)
def test_a_refused_partial_refund_fails_goes_to_review_and_counts_nothing(
    sandbox_shop, settings, django_user_model, route
):
    setup_route(route, settings)
    enable_novasend_refunds(settings)
    order, payment = paid_through_the_sandbox(sandbox_shop, route)

    refund = refund_as_staff(django_user_model, order, payment, 1000, "geste commercial [refuser]")

    refund = settled(refund)
    assert refund.status == Refund.Status.FAILED and refund.needs_review
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert refunds.refunded_amount(payment.pk) == 0
    assert refunds.refundable(payment).left == PRICE
