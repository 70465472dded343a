"""Adversarial review of the money engine (issue 15): one test per defect
found while trying to break it. Real database, real services; ``responses``
only at the provider's HTTP boundary."""

import importlib
import threading
import time

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.urls import reverse

from backoffice import refunds, review
from backoffice.models import Refund
from payments.models import PaymentStatus, ReviewCode
from payments.providers.base import Outcome, StatusResult
from payments.services import apply_status
from shop.locks import lock_order
from shop.models import Order
from tests.support.backoffice import late_paid, paid_order
from tests.support.factories import make_order, make_payment, make_product

pytestmark = pytest.mark.django_db


def staff_user(django_user_model, name="awa"):
    return django_user_model.objects.create_superuser(name, f"{name}@x.bf", "pw")


# --- 1. Honouring a payment whose money was already given back ---------------------------
def test_a_payment_refunded_in_full_is_not_honoured_afterwards(django_user_model):
    """A late success of 15 000 sits in the queue; staff pay it back from the
    order's refund page (which leaves the queue item open), then someone
    clicks "Honorer la commande": the order must not be marked paid on money
    that went back to the shopper."""
    staff = staff_user(django_user_model)
    order = make_order((make_product(price=15000, stock=3), 1))
    payment = late_paid(order)
    assert payment.needs_review and payment.review_code == ReviewCode.LATE_SUCCESS
    refunds.record_outside_refund(payment.pk, 15000, "Orange Money", "OM-77", "rendu", by=staff)
    with pytest.raises(review.ResolutionRefused):
        review.resolve("payment", payment.pk, "fulfil", "client a payé", staff)
    order.refresh_from_db()
    assert order.status != Order.Status.PAID and order.paid_at is None


# --- 2. "Honorer" and "Rembourser" on one item at once: honoured AND refunded -------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_honour_and_refund_of_one_item_at_once_never_leave_a_refund_behind(django_user_model, rsps):
    """Two staff act on the same queue item: A honours, B refunds. B's refund
    was created in its own transaction before B found the item resolved; it
    stayed ``requested`` and the refund sweep sends it 30 s later: the goods
    ship and the money goes back."""
    staff = staff_user(django_user_model)
    order = make_order((make_product(price=15000, stock=3), 1))
    payment = late_paid(order)
    holding, release = threading.Event(), threading.Event()
    outcomes = {}

    def hold():
        try:
            with transaction.atomic():
                lock_order(order.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def act(name, action):
        try:
            review.resolve("payment", payment.pk, action, name, staff, request_key=f"k-{name}")
            outcomes[name] = "done"
        except review.ResolutionRefused as exc:
            outcomes[name] = exc.message
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    honour = threading.Thread(target=act, args=("honour", "fulfil"))
    honour.start()
    time.sleep(0.5)  # A waits on the order row first
    refund = threading.Thread(target=act, args=("refund", "refund"))
    refund.start()
    time.sleep(0.5)  # B waits behind A
    release.set()
    for thread in (holder, honour, refund):
        thread.join(20)
    order.refresh_from_db()
    assert outcomes["honour"] == "done" and order.status == Order.Status.PAID
    assert outcomes["refund"] != "done"
    assert list(Refund.objects.values_list("amount", "status")) == []


# --- 3. Money of an unknown currency is treated as the order's ----------------------------
def test_a_success_without_a_currency_is_neither_refunded_nor_honoured(django_user_model):
    """The provider reported 15 000 with no currency (Lygos and Novasend can):
    the engine flags it as a currency mismatch, but refunds and "Honorer"
    took the blank currency for the order's."""
    staff = staff_user(django_user_model)
    order = make_order((make_product(price=15000), 1))
    payment = make_payment(order, provider="lygos", payer_phone="+22670123456")
    apply_status(
        payment.pk, StatusResult(Outcome.SUCCEEDED, amount=15000, currency=None), source="poll"
    )
    payment.refresh_from_db()
    assert payment.review_code == ReviewCode.AMOUNT_MISMATCH and payment.received_currency == ""
    assert refunds.refundable(payment).left == 0
    with pytest.raises(refunds.RefundRefused, match="devise"):
        refunds.record_outside_refund(payment.pk, 15000, "Orange Money", "OM-1", "retour")
    with pytest.raises(review.ResolutionRefused, match="XOF"):
        review.resolve("payment", payment.pk, "fulfil", "ok", staff)
    order.refresh_from_db()
    assert order.paid_at is None


# --- 4. payments 0004's fill: flagged payments that succeeded get no code ------------------
def test_the_money_facts_migration_codes_flagged_succeeded_payments_and_the_newest_reason():
    """Before 0004 a second success (and a success whose stock ran short)
    left the payment ``succeeded`` *and* flagged; the fill coded only
    non-succeeded payments, so those items lost their code (the queue no
    longer puts a second payment first). A reason appended later must win
    over an older one."""
    fill = importlib.import_module("payments.migrations.0004_money_facts").fill
    order = make_order((make_product(price=15000, stock=3), 1))
    second = make_payment(
        order,
        status=PaymentStatus.SUCCEEDED,
        needs_review=True,
        review_reason="second successful payment for an order already paid: refund it",
    )
    late = make_payment(
        make_order((make_product(price=15000, stock=3), 1)),
        status=PaymentStatus.EXPIRED,
        needs_review=True,
        review_reason=(
            "status unknown at the deadline: check with the provider\n"
            "provider reports success after the attempt ended as expired: refund or fulfil "
            "by hand"
        ),
    )
    fill(django_apps, None)
    second.refresh_from_db()
    late.refresh_from_db()
    assert second.review_code == ReviewCode.SECOND_SUCCESS
    assert (second.received_amount, second.received_currency) == (15000, "XOF")
    assert late.review_code == ReviewCode.LATE_SUCCESS


# --- 5. A refund form with a non-ASCII digit answers 500 -------------------------------------
def test_a_refund_form_with_a_unicode_digit_payment_is_a_404_not_a_500(client, django_user_model):
    order, _payment = paid_order()
    client.force_login(staff_user(django_user_model))
    response = client.post(
        reverse("backoffice:refund", args=[order.pk]),
        {"payment": "²", "amount": "100", "reason": "x", "key": "k"},
    )
    assert response.status_code == 404


# --- 6. A queue form's key answers for another item -----------------------------------------
def test_a_queue_form_key_of_another_item_is_refused_not_reported_resolved(django_user_model):
    """The key of item A's form posted on item B returned A's resolution:
    "Résolu." while B stayed open and nothing was done for it (G-05's
    pattern, in the queue)."""
    staff = staff_user(django_user_model)
    first = late_paid(make_order((make_product(price=15000, stock=3), 1)))
    second = late_paid(make_order((make_product(price=15000, stock=3), 1)))
    review.resolve("payment", first.pk, "close", "vu", staff, request_key="k-a")
    with pytest.raises(review.ResolutionRefused):
        review.resolve("payment", second.pk, "close", "vu", staff, request_key="k-a")
    second.refresh_from_db()
    assert second.needs_review


# --- 7. A short payment honoured with cash, then its wallet part refunded ---------------------
def test_refunding_the_wallet_part_of_an_honoured_short_payment_does_not_cancel_it(
    django_user_model,
):
    staff = staff_user(django_user_model)
    order, payment = paid_order(price=15000, received=5000)
    review.resolve(
        "payment", payment.pk, "fulfil", "reste", staff, collected=10000, collected_how="espèces"
    )
    refunds.record_outside_refund(payment.pk, 5000, "Orange Money", "OM-5", "partiel", by=staff)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
