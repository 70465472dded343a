"""The staff pages as a logged-in "Caisse" user uses them (refund form,
reconciliation CSV, review actions), reconciliation of the providers
without a refund API, goods back after a partial refund, fulfil from the
review queue, and the nightly schedule. Provider HTTP is mocked with
``responses``; everything else is the real code on the test database."""

import csv
import io
import json

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backoffice import refunds, review
from backoffice.models import ReconciliationMismatch, Refund, Resolution
from backoffice.reconcile import reconcile
from backoffice.selectors import public_history
from payments.models import PaymentStatus
from shop import workflow
from shop.emails import deliver_order_confirmation
from shop.locks import lock_order
from shop.models import Order, OrderEvent, Product
from shop.services import release_stock
from tests.support.backoffice import enable_novasend_refunds, late_paid, paid_order, succeed
from tests.support.factories import make_order, make_payment, make_product
from tests.support.kits.dexchange import DexchangeKit
from tests.support.kits.lygos import LygosKit

pytestmark = pytest.mark.django_db
NOVA = "https://novasend.test/v1"
LIGDI = "https://ligdicash.test/pay/v01"
LATE = "provider reports success after the attempt ended as cancelled: refund or fulfil by hand"


def caisse(django_user_model, name="caisse"):
    user = django_user_model.objects.create_user(name, is_staff=True)
    user.groups.add(Group.objects.get(name="Caisse"))
    return user


def caisse_without_refunds(django_user_model):
    """Every permission of "Caisse" except the refund one."""
    user = django_user_model.objects.create_user("sans-remboursement", is_staff=True)
    user.user_permissions.set(
        Group.objects.get(name="Caisse").permissions.exclude(codename="make_refund")
    )
    return user


def refund_form(client, order):
    page = client.get(reverse("backoffice:refund", args=[order.pk]))
    assert page.status_code == 200
    return page.context["key"]


def late_success(provider="ligdicash", price=15000):
    """A payment the provider took after the attempt ended: flagged, status
    unchanged, stock released (the order expired)."""
    order = make_order((make_product(price=price, stock=3), 1))
    with transaction.atomic():
        locked = lock_order(order.pk)
        release_stock(locked)
        workflow.set_status(locked, Order.Status.EXPIRED, workflow.EXPIRY)
    payment = late_paid(order, provider)
    order.refresh_from_db()
    return order, payment


# --- the admin refund form -------------------------------------------------------------
def test_refund_form_posted_twice_with_its_key_gives_one_refund(
    client, django_user_model, rsps, settings
):
    enable_novasend_refunds(settings)
    order, payment = paid_order("novasend", provider_reference="tr_form1")
    sent = rsps.post(
        f"{NOVA}/payin/tr_form1/refund",
        json={
            "type": "refund",
            "reference": "tr_rf1",
            "amount": 5000,
            "currency": "XOF",
            "status": "pending",
        },
        status=201,
    )
    client.force_login(caisse(django_user_model))
    key = refund_form(client, order)
    data = {"payment": payment.pk, "amount": "5000", "reason": "écran fêlé", "key": key}

    first = client.post(reverse("backoffice:refund", args=[order.pk]), data)
    second = client.post(reverse("backoffice:refund", args=[order.pk]), data)

    assert first.status_code == second.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.requested_by.username) == (
        5000,
        Refund.Status.PENDING,
        "caisse",
    )
    assert len(sent.calls) == 1
    assert json.loads(sent.calls[0].request.body) == {"amount": 5000, "reason": "écran fêlé"}


def test_refund_form_refuses_more_than_is_left_with_a_clear_message(client, django_user_model):
    order, payment = paid_order("lygos", provider_reference="lg-form")
    client.force_login(caisse(django_user_model))
    url = reverse("backoffice:refund", args=[order.pk])
    outside = {
        "payment": payment.pk,
        "outside": "1",
        "method": "Orange Money",
        "external_reference": "OM-1",
        "reason": "retour",
    }
    client.post(url, {**outside, "amount": "10000", "key": refund_form(client, order)})

    page = client.post(
        url,
        {
            **outside,
            "amount": "6000",
            "external_reference": "OM-2",
            "key": refund_form(client, order),
        },
    )

    assert page.status_code == 200
    assert "Au plus 5000 XOF peuvent encore être remboursés" in page.content.decode()
    assert list(Refund.objects.values_list("amount", flat=True)) == [10000]


def test_refund_form_needs_the_refund_permission(client, django_user_model):
    order, payment = paid_order("lygos", provider_reference="lg-perm")
    client.force_login(caisse_without_refunds(django_user_model))
    url = reverse("backoffice:refund", args=[order.pk])

    assert client.get(url).status_code == 403
    posted = client.post(
        url,
        {
            "payment": payment.pk,
            "amount": "1000",
            "outside": "1",
            "method": "cash",
            "external_reference": "X",
            "reason": "r",
        },
    )
    assert posted.status_code == 403
    assert not Refund.objects.exists()
    # The order page does not offer the link either.
    assert (
        reverse("backoffice:refund", args=[order.pk])
        not in client.get(reverse("admin:shop_order_change", args=[order.pk])).content.decode()
    )


# --- reconciliation CSV ----------------------------------------------------------------
def test_reconciliation_csv_has_a_header_and_one_row_per_mismatch(client, django_user_model):
    _o, here = paid_order(provider_reference="A")
    there = make_payment(
        make_order(), provider="dexchange", provider_reference="MID9", status=PaymentStatus.EXPIRED
    )
    ReconciliationMismatch.objects.create(
        payment=here, provider="ligdicash", kind="paid_here", ours="succeeded", theirs="failed"
    )
    ReconciliationMismatch.objects.create(
        payment=there,
        provider="dexchange",
        kind="paid_there",
        ours="expired",
        theirs="succeeded 15000",
    )
    client.force_login(caisse(django_user_model))

    response = client.get(
        reverse("backoffice:reconciliation_csv"), {"since": timezone.localdate().isoformat()}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "found_at",
        "provider",
        "payment",
        "order",
        "kind",
        "ours",
        "theirs",
        "resolved_at",
    ]
    assert sorted((r[1], r[2], r[4]) for r in rows[1:]) == [
        ("dexchange", str(there.reference), "paid_there"),
        ("ligdicash", str(here.reference), "paid_here"),
    ]


def test_reconciliation_csv_is_refused_to_the_catalogue_group(client, django_user_model):
    user = django_user_model.objects.create_user("cat", is_staff=True)
    user.groups.add(Group.objects.get(name="Catalogue"))
    client.force_login(user)
    assert client.get(reverse("backoffice:reconciliation_csv")).status_code == 403


# --- reconciliation of the providers without a refund API ----------------------------------
@pytest.mark.parametrize("kit", [LygosKit(), DexchangeKit()], ids=lambda k: k.code)
def test_reconciliation_finds_each_mismatch_kind(rsps, kit):
    since = timezone.now() - timezone.timedelta(days=1)
    _o, paid_here = paid_order(kit.code, provider_reference=f"{kit.code}-here")
    _o, amount = paid_order(kit.code, provider_reference=f"{kit.code}-amount")
    paid_there = make_payment(
        make_order(),
        provider=kit.code,
        provider_reference=f"{kit.code}-there",
        status=PaymentStatus.EXPIRED,
    )
    _o, agreed = paid_order(kit.code, provider_reference=f"{kit.code}-ok")
    kit.mock_status(rsps, paid_here, "failed")
    kit.mock_status(rsps, amount, "succeeded", amount=9000)
    kit.mock_status(rsps, paid_there, "succeeded")
    kit.mock_status(rsps, agreed, "succeeded")

    report = reconcile(since=since, provider=kit.code)

    assert report.checked == 4
    assert {m.payment_id: m.kind for m in report.mismatches} == {
        paid_here.pk: "paid_here",
        amount.pk: "amount",
        paid_there.pk: "paid_there",
    }
    paid_there.refresh_from_db()
    assert paid_there.status == PaymentStatus.EXPIRED  # never moved by reconciliation
    assert [i.kind for i in review.queue()] == ["mismatch"] * 3


def test_lengopay_reconciliation_reads_the_history_and_asks_the_rest(rsps):
    since = timezone.now() - timezone.timedelta(days=1)
    _o, paid_here = paid_order("lengopay", provider_reference="aGVyZQ")
    _o, amount = paid_order("lengopay", provider_reference="YW1vdW50")
    paid_there = make_payment(
        make_order(),
        provider="lengopay",
        provider_reference="dGhlcmU",
        status=PaymentStatus.EXPIRED,
    )
    _o, missing = paid_order("lengopay", provider_reference="bWlzc2luZw")
    history = [
        {"pay_id": "aGVyZQ==", "status": "FAILED", "amount": 15000},
        {"pay_id": "YW1vdW50", "status": "SUCCESS", "amount": 14000},
        {"pay_id": "dGhlcmU", "status": "SUCCESS", "amount": 15000},
    ]
    listing = rsps.post("https://lengopay.test/api/v1/cashin/all-transactions", json=history)
    status = rsps.post(
        "https://lengopay.test/api/v2/cashin/transaction",
        json={"status": "PENDING", "pay_id": "bWlzc2luZw==", "amount": 15000},
    )

    report = reconcile(since=since, provider="lengopay")

    assert {m.payment_id: m.kind for m in report.mismatches} == {
        paid_here.pk: "paid_here",
        amount.pk: "amount",
        paid_there.pk: "paid_there",
        missing.pk: "paid_here",  # paid here, still pending there
    }
    assert len(listing.calls) == 1 and len(status.calls) == 1
    assert json.loads(status.calls[0].request.body)["pay_id"].rstrip("=") == "bWlzc2luZw"


# --- the review queue's refund action ----------------------------------------------------
def test_review_refund_action_refunds_late_money_through_the_provider(
    client, django_user_model, rsps
):
    order, payment = late_success("ligdicash")
    create = rsps.post(
        f"{LIGDI}/withdrawal/create",
        json={"response_code": "00", "token": "payout-rv", "response_text": "", "custom_data": {}},
    )
    user = caisse(django_user_model)
    client.force_login(user)
    assert order.number in client.get(reverse("backoffice:review")).content.decode()

    response = client.post(
        reverse("backoffice:resolve", args=["payment", payment.pk]),
        {"action": "refund", "note": "client a repris son argent", "key": "k-rv"},
    )

    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.provider_reference) == (
        15000,
        Refund.Status.PENDING,
        "payout-rv",
    )
    assert json.loads(create.calls[0].request.body)["commande"]["amount"] == 15000
    resolution = Resolution.objects.get()
    assert (resolution.action, resolution.by, resolution.payment_id) == ("refund", user, payment.pk)
    payment.refresh_from_db()
    assert not payment.needs_review and payment.status == PaymentStatus.CANCELLED
    assert payment.events.filter(message="review resolved by caisse: refund").exists()
    # Still counted as money received (and refunded), so nothing more can be refunded.
    assert (refunds.refundable(payment).paid, refunds.refundable(payment).left) == (15000, 0)
    assert review.queue() == []


def test_review_refund_action_needs_the_refund_permission(client, django_user_model):
    _order, payment = late_success("ligdicash")
    client.force_login(caisse_without_refunds(django_user_model))
    response = client.post(
        reverse("backoffice:resolve", args=["payment", payment.pk]),
        {"action": "refund", "note": "x"},
    )
    assert response.status_code == 403
    assert not Refund.objects.exists() and not Resolution.objects.exists()


# --- goods back after a partial refund ----------------------------------------------------
def test_goods_back_after_a_partial_refund_is_refused_and_nothing_is_restocked():
    phone = make_product(price=10000, stock=5)
    case = make_product(price=5000, stock=5)
    order = make_order((phone, 1), (case, 1))
    payment = succeed(make_payment(order, provider="lygos", provider_reference="lg-part"))
    refunds.record_outside_refund(payment.pk, 5000, "Orange Money", "OM-p1", "coque rendue")

    with pytest.raises(refunds.RefundRefused, match="partiel"):
        refunds.restock_returned(order.pk)
    assert [Product.objects.get(pk=p.pk).stock for p in (phone, case)] == [4, 4]

    refunds.record_outside_refund(payment.pk, 10000, "Orange Money", "OM-p2", "téléphone rendu")
    refunds.restock_returned(order.pk)
    assert [Product.objects.get(pk=p.pk).stock for p in (phone, case)] == [5, 5]
    with pytest.raises(refunds.RefundRefused):
        refunds.restock_returned(order.pk)
    assert [Product.objects.get(pk=p.pk).stock for p in (phone, case)] == [5, 5]


def test_goods_back_admin_action_says_why_after_a_partial_refund(client, django_user_model):
    order, payment = paid_order("lygos", provider_reference="lg-adm")
    refunds.record_outside_refund(payment.pk, 1000, "Wave", "W-1", "geste")
    client.force_login(caisse(django_user_model))
    response = client.post(
        reverse("admin:shop_order_changelist"),
        {"action": "restock_returned", "_selected_action": [order.pk], "index": 0},
        follow=True,
    )
    assert "Remboursement partiel" in response.content.decode()
    assert Order.objects.get(pk=order.pk).stock_reserved


# --- fulfil from the review queue -------------------------------------------------------------
def test_fulfil_is_journalled_and_the_shopper_gets_one_confirmation(
    django_user_model, django_capture_on_commit_callbacks, queued_mail
):
    staff = django_user_model.objects.create_user("awa", is_staff=True)
    order, payment = late_success("ligdicash")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        review.resolve("payment", payment.pk, "fulfil", "argent vu chez Ligdicash", staff)
    assert queued_mail.names() == ["send_order_confirmation"] and queued_mail.run()

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.PAID and order.confirmation_sent_at
    assert (
        payment.status == PaymentStatus.CANCELLED and not payment.needs_review
    )  # the payment stays as it was
    assert [m.to for m in mail.outbox] == [[order.email]]
    moves = list(
        OrderEvent.objects.filter(order=order).values_list(
            "from_status", "to_status", "actor", "by"
        )
    )
    S = Order.Status
    assert moves == [
        (S.PENDING_PAYMENT, S.EXPIRED, "expiry", None),
        (S.EXPIRED, S.PENDING_PAYMENT, "review", staff.pk),  # its stock held again
        (S.PENDING_PAYMENT, S.PAID, "review", staff.pk),
    ]
    assert "argent vu chez Ligdicash" in OrderEvent.objects.filter(order=order).last().note
    messages = list(payment.events.values_list("message", flat=True))
    assert (
        any("marked paid by staff" in m for m in messages)
        and "review resolved by awa: fulfil" in messages
    )
    assert Resolution.objects.get().by == staff
    assert public_history(order) == ["Payée"]
    # The sweep's retry and a second resolution send nothing more.
    assert deliver_order_confirmation(order.pk) is False
    with pytest.raises(review.ResolutionRefused):
        review.resolve("payment", payment.pk, "fulfil", "encore", staff)
    assert len(mail.outbox) == 1
    # The money taken stays refundable from the refund page.
    assert [p.pk for p in refunds.paid_payments(order)] == [payment.pk]
    assert refunds.refundable(payment).left == payment.amount


# --- the nightly reconciliation ---------------------------------------------------------------
def test_nightly_reconciliation_runs_at_half_past_two_in_the_shop_time_zone():
    from ashtech_store.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["reconcile-nightly"]
    schedule = entry["schedule"]
    assert entry["task"] == "backoffice.tasks.reconcile_recent"
    assert isinstance(schedule, crontab)
    assert (schedule.hour, schedule.minute) == ({2}, {30})
    assert str(app.timezone) == settings.TIME_ZONE
