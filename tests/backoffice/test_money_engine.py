"""The money engine around payments: amounts not strings, refunds bounded by
what the provider reported, back to the wallet that paid, once per form,
staff permissions, and orders that cannot be paid again. One test per finding
of the 2026-12-03 reviews (G-01…G-08 and the code review's R1/R2); provider
HTTP is ``responses`` at the boundary, everything else the real code."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from backoffice import refunds, review
from backoffice.models import Refund, Resolution
from payments.models import Payment, PaymentStatus, ReviewCode
from payments.providers.base import Outcome, StatusResult
from payments.services import PaymentStartError, apply_status, start_payment
from shop import workflow
from shop.models import Order, OrderEvent
from tests.support.backoffice import (
    enable_novasend_refunds,
    late_paid,
    paid_order,
    succeed,
)
from tests.support.factories import at_once, make_order, make_payment, make_product

pytestmark = pytest.mark.django_db
LIGDI = "https://ligdicash.test/pay/v01"
NOVA = "https://novasend.test/v1"
PAYOUT_OK = {"response_code": "00", "token": "payout-1", "response_text": "", "custom_data": {}}


def caisse(django_user_model, name="caisse", without=()):
    user = django_user_model.objects.create_user(name, is_staff=True)
    perms = Group.objects.get(name="Caisse").permissions.exclude(codename__in=without)
    user.user_permissions.set(perms)
    return user


def short_payment(total=15000, received=5000, provider="ligdicash"):
    """A 15 000 order whose provider reported a success of 5 000 (G-01)."""
    order, payment = paid_order(provider, price=total, received=received)
    return order, payment


# --- G-01 / R1: a short payment is never refunded in full -------------------------------
def test_a_short_success_keeps_what_the_provider_reported_and_flags_it_as_a_code():
    order, payment = short_payment()
    assert (payment.received_amount, payment.received_currency) == (5000, "XOF")
    assert payment.needs_review and payment.review_code == ReviewCode.AMOUNT_MISMATCH
    assert payment.status == PaymentStatus.PENDING and order.status == Order.Status.PENDING_PAYMENT
    assert refunds.refundable(payment).left == 5000


def test_the_review_queue_default_refund_of_a_short_payment_is_what_was_received(
    client, django_user_model, rsps
):
    _order, payment = short_payment()
    create = rsps.post(f"{LIGDI}/withdrawal/create", json=PAYOUT_OK)
    client.force_login(caisse(django_user_model))
    response = client.post(
        reverse("backoffice:resolve", args=["payment", payment.pk]),
        {"action": "refund", "note": "client rembourse", "key": "g01"},
    )
    assert response.status_code == 302
    assert json.loads(create.calls[0].request.body)["commande"]["amount"] == 5000
    assert Refund.objects.get().amount == 5000
    with pytest.raises(refunds.RefundRefused, match="Au plus 0"):
        refunds.request_refund(payment.pk, 1, "encore")


def test_honouring_a_short_payment_needs_the_shortfall_collected_and_records_it(
    django_user_model,
):
    staff = django_user_model.objects.create_user("awa", is_staff=True)
    order, payment = short_payment()
    with pytest.raises(review.ResolutionRefused, match="10000"):
        review.resolve("payment", payment.pk, "fulfil", "ok", staff)
    with pytest.raises(review.ResolutionRefused, match="10000"):
        review.resolve(
            "payment", payment.pk, "fulfil", "ok", staff, collected=9000, collected_how="x"
        )
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and not order.paid_at

    review.resolve(
        "payment",
        payment.pk,
        "fulfil",
        "reste en espèces",
        staff,
        collected=10000,
        collected_how="espèces au comptoir",
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    resolution = Resolution.objects.get()
    assert (resolution.collected_amount, resolution.collected_how) == (10000, "espèces au comptoir")
    paid = OrderEvent.objects.get(order=order, to_status=Order.Status.PAID)
    assert paid.actor == "review" and paid.by == staff and "10000" in paid.note


def test_money_in_another_currency_is_neither_honoured_nor_refunded(django_user_model):
    staff = django_user_model.objects.create_user("awa", is_staff=True)
    order = make_order((make_product(price=15000), 1))
    payment = make_payment(order, payer_phone="+22670123456")
    apply_status(
        payment.pk,
        StatusResult(Outcome.SUCCEEDED, amount=15000, currency="EUR"),
        source="poll",
    )
    payment.refresh_from_db()
    assert payment.received_currency == "EUR" and payment.review_code == ReviewCode.AMOUNT_MISMATCH
    with pytest.raises(review.ResolutionRefused, match="XOF"):
        review.resolve("payment", payment.pk, "fulfil", "ok", staff)
    with pytest.raises(refunds.RefundRefused, match="devise"):
        refunds.request_refund(payment.pk, 100, "retour")


# --- G-02: free text never moves money ----------------------------------------------------
def test_typing_success_into_a_refused_payment_moves_no_money(client, django_user_model):
    order = make_order()
    payment = make_payment(order, payer_phone="+22670123456")
    apply_status(payment.pk, StatusResult(Outcome.FAILED, message="refusé"), source="poll")
    Payment.objects.filter(pk=payment.pk).update(
        needs_review=True, review_reason="success — trust me"
    )
    payment.refresh_from_db()
    assert not payment.money_received and refunds.refundable(payment).paid == 0
    staff = django_user_model.objects.create_superuser("root", "r@x.bf", "pw")
    with pytest.raises(review.ResolutionRefused, match="pas été encaissé"):
        review.resolve("payment", payment.pk, "fulfil", "ok", staff)
    with pytest.raises(refunds.RefundRefused, match="pas été encaissé"):
        refunds.request_refund(payment.pk, 100, "retour")


def test_review_fields_and_money_facts_are_read_only_in_the_admin(client, django_user_model):
    order, payment = short_payment()
    client.force_login(django_user_model.objects.create_superuser("root", "r@x.bf", "pw"))
    url = reverse("admin:payments_payment_change", args=[payment.pk])
    page = client.get(url).content.decode()
    assert 'name="review_reason"' not in page and 'name="received_amount"' not in page
    client.post(url, {"review_reason": "success", "received_amount": "15000", "needs_review": ""})
    payment.refresh_from_db()
    assert payment.received_amount == 5000 and payment.needs_review


# --- G-03: refunds go back to the wallet that paid -----------------------------------------
def test_a_ligdicash_refund_pays_the_wallet_the_provider_reported(rsps):
    order, payment = paid_order(payer="22676000001")
    Order.objects.filter(pk=order.pk).update(phone="+22670999999")  # staff edited the order
    create = rsps.post(f"{LIGDI}/withdrawal/create", json=PAYOUT_OK)
    refunds.send_refund(refunds.request_refund(payment.pk, 15000, "retour").pk)
    assert json.loads(create.calls[0].request.body)["commande"]["customer"] == "22676000001"
    assert Refund.objects.get().payee == "22676000001"


def test_a_refund_with_no_known_payer_wallet_is_refused_never_sent_to_the_order_phone(rsps):
    _order, payment = paid_order(payer_phone="")  # hosted page, the vendor named no payer
    with pytest.raises(refunds.RefundRefused, match="numéro qui a payé"):
        refunds.request_refund(payment.pk, 15000, "retour")
    assert not Refund.objects.exists() and not rsps.calls


# --- G-04 / G-05: one refund per form, bound to its payment ---------------------------------
def test_the_queue_refund_submitted_twice_refunds_once(client, django_user_model, rsps):
    order = make_order((make_product(price=15000, stock=3), 1))
    payment = late_paid(order)
    create = rsps.post(f"{LIGDI}/withdrawal/create", json=PAYOUT_OK)
    client.force_login(caisse(django_user_model))
    data = {"action": "refund", "note": "double clic", "key": "same-form"}
    url = reverse("backoffice:resolve", args=["payment", payment.pk])
    client.post(url, data)
    client.post(url, data)
    assert Refund.objects.count() == 1 and len(create.calls) == 1
    assert Resolution.objects.count() == 1
    # Another form on an item already resolved is refused.
    with pytest.raises(review.ResolutionRefused, match="déjà été résolu"):
        review.resolve("payment", payment.pk, "refund", "encore", None, request_key="other")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_queue_refund_clicked_twice_at_once_refunds_once(rsps):
    order = make_order((make_product(price=15000, stock=3), 1))
    payment = late_paid(order)
    rsps.post(f"{LIGDI}/withdrawal/create", json=PAYOUT_OK)
    at_once(
        lambda: review.resolve("payment", payment.pk, "refund", "clic", None, request_key="k-r"),
        refused=review.ResolutionRefused,
    )
    assert Refund.objects.count() == 1 and Refund.objects.get().amount == 15000
    assert Resolution.objects.count() == 1


def test_a_refund_form_key_used_for_another_payment_is_refused(client, django_user_model):
    order_a, pay_a = paid_order("lygos", provider_reference="lg-a")
    _order_b, pay_b = paid_order("lygos", provider_reference="lg-b")
    refunds.record_outside_refund(pay_a.pk, 1000, "Orange Money", "OM-1", "", request_key="kk")
    with pytest.raises(refunds.RefundRefused, match="autre paiement"):
        refunds.record_outside_refund(pay_b.pk, 1000, "Orange Money", "OM-2", "", request_key="kk")
    assert Refund.objects.filter(payment=pay_b).count() == 0


# --- R2: a guessed vendor API never moves money by default ----------------------------------
def test_novasend_refunds_are_off_by_default_and_say_how_to_refund(rsps):
    _order, payment = paid_order("novasend", provider_reference="tr_def")
    with pytest.raises(refunds.RefundRefused, match="hors boutique"):
        refunds.request_refund(payment.pk, 15000, "retour")
    assert not rsps.calls


def test_a_novasend_answer_that_echoes_the_payin_is_not_a_refund(rsps, settings):
    """If the real endpoint answers with the payin object (a common REST
    shape), "completed" must not read as "refunded"."""
    enable_novasend_refunds(settings)
    order, payment = paid_order("novasend", provider_reference="tr_payin1")
    rsps.post(
        f"{NOVA}/payin/tr_payin1/refund",
        json={"reference": "tr_payin1", "amount": 15000, "currency": "XOF", "status": "completed"},
    )
    refund = refunds.send_refund(refunds.request_refund(payment.pk, 15000, "retour").pk)
    assert refund.status != Refund.Status.SUCCEEDED
    assert refund.needs_review and refund.review_code == ReviewCode.REFUND_NOT_RECOGNISED
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert any(i.kind == "refund" and i.pk == refund.pk for i in review.queue())


# --- G-06: an unreadable 200 on a direct debit is an unknown outcome ------------------------
def test_an_unreadable_200_on_a_ligdicash_direct_debit_is_unknown_not_a_refusal(rsps):
    order = make_order()
    rsps.post(f"{LIGDI}/redirect/checkout-invoice/create", body="<html>oops</html>", status=200)
    rsps.post(f"{LIGDI}/straight/checkout-invoice/create", body="<html>oops</html>", status=200)
    with pytest.raises(PaymentStartError, match="pas répondu à temps"):
        start_payment(order, "ligdicash", "moov_bf", payer_phone="+22670123456")
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.PENDING and payment.initiation_unknown


# --- G-07: a cancelled or refunded order cannot be paid again -------------------------------
def test_an_order_cancelled_by_staff_cannot_be_paid_again(client):
    order = make_order()
    workflow.move(order, Order.Status.CANCELLED, note="client injoignable")
    order.refresh_from_db()
    assert not order.is_payable
    with pytest.raises(PaymentStartError):
        start_payment(order, "ligdicash", "hosted")
    assert not Payment.objects.filter(order=order).exists()


def test_a_fully_refunded_order_is_cancelled_and_cannot_be_paid_again():
    order, payment = paid_order("lygos", provider_reference="lg-full")
    refunds.record_outside_refund(payment.pk, 15000, "Orange Money", "OM-9", "retour")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and not order.is_payable
    move = OrderEvent.objects.get(order=order, to_status=Order.Status.CANCELLED)
    assert move.actor == "refund"


def test_a_payment_cancelled_at_the_vendor_leaves_the_order_payable():
    order = make_order()
    payment = make_payment(order)
    apply_status(payment.pk, StatusResult(Outcome.CANCELLED), source="poll")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and order.is_payable
    assert not order.stock_reserved


# --- G-08: moving money needs the change permission -----------------------------------------
@pytest.mark.parametrize(
    ("action", "missing"),
    [
        ("fulfil", "change_order"),  # honouring marks the order paid
        ("close", "change_payment"),  # closing changes the payment's review state
        ("refund", "make_refund"),
    ],
)
def test_moving_money_needs_the_change_permission_not_only_view(
    client, django_user_model, action, missing
):
    order = make_order((make_product(price=15000, stock=3), 1))
    payment = late_paid(order)
    client.force_login(caisse(django_user_model, "vue", without=(missing,)))
    response = client.post(
        reverse("backoffice:resolve", args=["payment", payment.pk]),
        {"action": action, "note": "x", "key": f"g08-{action}"},
    )
    assert response.status_code == 403
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status != Order.Status.PAID and payment.needs_review
    assert not Resolution.objects.exists() and not Refund.objects.exists()


def test_bad_amounts_in_the_staff_forms_get_a_message_not_a_500(client, django_user_model):
    order, payment = paid_order("lygos", provider_reference="lg-bad")
    client.force_login(caisse(django_user_model))
    for amount in ("-5", "abc", "1e9", "99999999999999999999", ""):
        response = client.post(
            reverse("backoffice:refund", args=[order.pk]),
            {
                "payment": payment.pk,
                "amount": amount,
                "key": "k",
                "outside": "1",
                "method": "OM",
                "external_reference": "x",
            },
        )
        assert response.status_code == 200
        assert "montant" in response.content.decode().lower()
    response = client.post(
        reverse("backoffice:refund", args=[order.pk]), {"payment": "abc", "amount": "1", "key": "k"}
    )
    assert response.status_code == 404 and Refund.objects.count() == 0


# --- second payment: first in the queue ----------------------------------------------------
def test_a_second_success_for_a_paid_order_comes_first_in_the_review_queue():
    order_a = make_order((make_product(price=15000, stock=3), 1))
    late_paid(order_a)  # older item
    order, _first = paid_order()
    second = succeed(make_payment(order, provider="lygos", provider_reference="lg-2nd"))
    assert second.review_code == ReviewCode.SECOND_SUCCESS
    items = review.queue()
    assert items[0].payment.pk == second.pk and items[0].urgent


# --- U-09: paid twice, told once -------------------------------------------------------
def test_a_superseded_page_paid_after_another_method_tells_the_shopper_plainly(
    client, queued_mail, django_capture_on_commit_callbacks
):
    order, _first = paid_order()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        late_paid(order, provider="lygos", provider_reference="lg-sup")
    assert "send_paid_twice_notice" in queued_mail.names()
    queued_mail.run()
    notices = [m for m in mail.outbox if "deux paiements" in m.subject]
    assert len(notices) == 1 and notices[0].to == [order.email]
    assert "remboursé sous 48 h" in notices[0].body

    page = client.get(order.get_absolute_url()).content.decode()
    assert "Nous avons reçu deux paiements pour cette commande" in page
    assert "remboursé sous 48 h" in page and "Lygos : Annulé" not in page


def test_a_second_success_tells_the_shopper_once(queued_mail, django_capture_on_commit_callbacks):
    order, _first = paid_order()
    with django_capture_on_commit_callbacks(execute=True):
        second = succeed(make_payment(order, provider="lygos", provider_reference="lg-2"))
        succeed(second)  # the same answer again: already final, nothing more
    assert queued_mail.names().count("send_paid_twice_notice") == 1


def test_one_payment_says_nothing_about_paying_twice(client):
    order, _payment = paid_order()
    page = client.get(order.get_absolute_url()).content.decode()
    assert "deux paiements" not in page
