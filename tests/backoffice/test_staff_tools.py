"""Reconciliation, review queue, dashboard query budget, groups."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice import review
from backoffice.dashboard import numbers
from backoffice.models import ReconciliationMismatch, Resolution
from backoffice.reconcile import reconcile
from payments.models import PaymentStatus, ReviewCode
from shop import workflow
from shop.models import Order, Product
from tests.support.backoffice import late_paid, paid_order
from tests.support.factories import make_order, make_payment

pytestmark = pytest.mark.django_db
LIGDI = "https://ligdicash.test/pay/v01/redirect/checkout-invoice/confirm/"


def confirm(status, amount, code="00"):
    return {
        "response_code": code,
        "token": "t",
        "amount": str(amount),
        "status": status,
        "custom_data": [],
    }


def test_reconciliation_finds_each_kind_once_and_a_second_run_changes_nothing(rsps):
    since = timezone.now() - timezone.timedelta(days=1)
    _o, paid_here = paid_order(provider_reference="A")
    _o, amount = paid_order(provider_reference="B")
    unpaid = make_payment(make_order(), provider_reference="C", status=PaymentStatus.EXPIRED)
    _o, unknown = paid_order(provider_reference="D")
    answers = {
        "A": confirm("notcompleted", 15000, "01"),
        "B": confirm("completed", 9000),
        "C": confirm("completed", 15000),
        "D": {"response_code": "01"},
    }
    rsps.add_callback(
        "GET",
        LIGDI,
        callback=lambda req: (
            200,
            {},
            __import__("json").dumps(answers[req.params["invoiceToken"]]),
        ),
    )

    first = reconcile(since=since)
    kinds = {m.payment_id: m.kind for m in first.mismatches}
    assert kinds == {
        paid_here.pk: "paid_here",
        amount.pk: "amount",
        unpaid.pk: "paid_there",
        unknown.pk: "unknown_there",
    }
    assert len(first.new) == 4

    ReconciliationMismatch.objects.update(found_at=timezone.now())
    from payments.models import PaymentEvent

    PaymentEvent.objects.filter(kind="request").update(
        created_at=timezone.now() - timezone.timedelta(seconds=10)
    )
    second = reconcile(since=since)
    assert second.new == [] and ReconciliationMismatch.objects.count() == 4
    unpaid.refresh_from_db()
    assert unpaid.status == PaymentStatus.EXPIRED  # reconciliation never moves a payment


def test_reconciliation_asks_a_payment_at_most_once_per_5_seconds(rsps):
    _o, payment = paid_order(provider_reference="A")
    call = rsps.get(LIGDI, json=confirm("completed", 15000))
    since = timezone.now() - timezone.timedelta(days=1)
    reconcile(since=since)
    reconcile(since=since)
    assert len(call.calls) == 1


def test_lengopay_history_answers_for_the_whole_window(rsps):
    _o, payment = paid_order("lengopay", provider_reference="cGF5MQ")
    rsps.post(
        "https://lengopay.test/api/v1/cashin/all-transactions",
        json=[{"pay_id": "cGF5MQ", "status": "FAILED", "amount": 15000}],
    )
    report = reconcile(since=timezone.now() - timezone.timedelta(days=1), provider="lengopay")
    assert [m.kind for m in report.mismatches] == ["paid_here"]


def test_review_queue_lists_flagged_items_oldest_first_and_close_is_journalled(django_user_model):
    staff = django_user_model.objects.create_user("moussa", is_staff=True)
    order = make_order()
    late = make_payment(
        order,
        status=PaymentStatus.CANCELLED,
        needs_review=True,
        review_reason="provider reports success after the attempt ended",
    )
    items = review.queue()
    assert [(i.kind, i.pk) for i in items] == [("payment", late.pk)]

    review.resolve("payment", late.pk, "close", "vu avec Ligdicash", staff)
    late.refresh_from_db()
    assert not late.needs_review
    assert Resolution.objects.get().by == staff
    assert late.events.filter(message__contains="moussa").exists()
    assert review.queue() == []


def test_fulfil_reserves_the_stock_again_or_says_why(django_user_model):
    staff = django_user_model.objects.create_user("awa", is_staff=True)
    order = make_order()
    workflow.move(order, Order.Status.CANCELLED, by=staff, note="client injoignable")
    late = late_paid(order)
    assert late.needs_review and late.review_code == ReviewCode.LATE_SUCCESS
    product = order.lines.get().product
    Product.objects.filter(pk=product.pk).update(stock=0)
    with pytest.raises(review.ResolutionRefused, match="rupture"):
        review.resolve("payment", late.pk, "fulfil", "honorer", staff)
    Product.objects.filter(pk=product.pk).update(stock=3)
    review.resolve("payment", late.pk, "fulfil", "honorer", staff)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and Product.objects.get(pk=product.pk).stock == 2


def test_dashboard_query_count_does_not_grow_with_orders():
    paid_order()
    with CaptureQueriesContext(connection) as few:
        numbers()
    for _ in range(5):
        paid_order()
    with CaptureQueriesContext(connection) as many:
        result = numbers()
    assert len(few) == len(many) <= 4
    assert result["orders"]["paid_30"] == 6


@pytest.mark.parametrize(
    ("group", "allowed", "refused"),
    [
        (
            "Catalogue",
            ["admin:shop_product_changelist"],
            [
                "admin:shop_order_changelist",
                "backoffice:review",
                "admin:backoffice_refund_changelist",
            ],
        ),
        (
            "Caisse",
            [
                "admin:shop_order_changelist",
                "backoffice:review",
                "backoffice:dashboard",
                "admin:backoffice_refund_changelist",
            ],
            ["admin:shop_product_add"],
        ),
    ],
)
def test_each_group_sees_only_its_screens(client, django_user_model, group, allowed, refused):
    user = django_user_model.objects.create_user(f"u-{group}", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    for name in allowed:
        assert client.get(reverse(name)).status_code == 200, name
    for name in refused:
        assert client.get(reverse(name)).status_code == 403, name


def test_only_refunders_see_the_refund_link(client, django_user_model):
    order, _payment = paid_order()
    user = django_user_model.objects.create_user("caisse", is_staff=True)
    user.groups.add(Group.objects.get(name="Caisse"))
    client.force_login(user)
    page = client.get(reverse("admin:shop_order_change", args=[order.pk])).content.decode()
    assert reverse("backoffice:refund", args=[order.pk]) in page
    assert 'name="status"' not in page  # read-only
