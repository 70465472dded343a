"""Refunds: whole life per provider with ``responses`` at the HTTP boundary,
the totals never above what was paid, never sent twice."""

import json

import pytest

from backoffice import refunds
from backoffice.models import Refund, RefundEvent
from shop.models import Order, Product
from tests.support.backoffice import enable_novasend_refunds, paid_order
from tests.support.factories import at_once

pytestmark = pytest.mark.django_db
LIGDI = "https://ligdicash.test/pay/v01"
NOVA = "https://novasend.test/v1"


def payout_answer(token="payout-tok-1", code="00"):
    # The vendor text's "Payout - Réponse" object.
    return {
        "response_code": code,
        "token": token if code == "00" else "",
        "response_text": "" if code == "00" else "Echec (Code02)",
        "description": "",
        "custom_data": {},
        "wiki": "https://client.ligdicash.com/wiki/createInvoice",
    }


def confirm_answer(status, amount=15000, token="payout-tok-1"):
    return {
        "date": "2026-11-29 09:46:27+00",
        "response_code": "00" if status != "notcompleted" else "01",
        "token": token,
        "amount": str(amount),
        "status": status,
        "custom_data": [],
    }


def test_ligdicash_refund_is_a_client_payout_polled_until_completed(rsps):
    order, payment = paid_order("ligdicash")
    create = rsps.post(f"{LIGDI}/withdrawal/create", json=payout_answer())
    rsps.get(f"{LIGDI}/withdrawal/confirm/", json=confirm_answer("pending"))

    refund = refunds.request_refund(payment.pk, 15000, "article défectueux")
    refund = refunds.send_refund(refund.pk)
    assert refund.status == Refund.Status.PENDING
    assert refund.provider_reference == "payout-tok-1"
    body = json.loads(create.calls[0].request.body)["commande"]
    assert (
        body["amount"] == 15000 and body["customer"] == "22670123456" and body["top_up_wallet"] == 1
    )
    assert body["custom_data"]["refund_id"] == str(refund.reference)

    refund = refunds.check_refund(refund.pk)
    assert refund.status == Refund.Status.PENDING
    rsps.replace("GET", f"{LIGDI}/withdrawal/confirm/", json=confirm_answer("completed"))
    refund = refunds.check_refund(refund.pk)

    assert refund.status == Refund.Status.SUCCEEDED
    assert rsps.calls[-1].request.params == {"withdrawalToken": "payout-tok-1"}
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED  # refunded in full
    assert refunds.send_refund(refund.pk).status == Refund.Status.SUCCEEDED
    assert len(create.calls) == 1
    kinds = list(refund.events.values_list("kind", flat=True))
    assert kinds.count(RefundEvent.Kind.REQUEST) == 3
    assert "test-ligdi-token-9XK" not in json.dumps(
        list(refund.events.values_list("data", flat=True))
    )


def test_ligdicash_refund_below_500_is_refused_with_the_reason():
    _order, payment = paid_order("ligdicash")
    with pytest.raises(refunds.RefundRefused, match="500"):
        refunds.request_refund(payment.pk, 400, "geste commercial")
    assert not Refund.objects.exists()


def test_a_refused_payout_fails_and_goes_to_review(rsps):
    _order, payment = paid_order("ligdicash")
    rsps.post(f"{LIGDI}/withdrawal/create", json=payout_answer(code="01"))
    refund = refunds.send_refund(refunds.request_refund(payment.pk, 5000, "retour").pk)
    assert refund.status == Refund.Status.FAILED and refund.needs_review
    # A failed refund does not count: the whole amount can be refunded again.
    assert refunds.refundable(payment).left == 15000


def test_a_ligdicash_payout_whose_answer_was_lost_is_flagged_never_resent(rsps):
    import requests

    _order, payment = paid_order("ligdicash")
    create = rsps.post(f"{LIGDI}/withdrawal/create", body=requests.ReadTimeout())
    refund = refunds.send_refund(refunds.request_refund(payment.pk, 5000, "retour").pk)
    assert refund.status == Refund.Status.REQUESTED
    Refund.objects.filter(pk=refund.pk).update(sent_at=refund.sent_at - refunds.SEND_TIMEOUT)
    refund = refunds.check_refund(refund.pk)
    assert refund.needs_review and "idempotency" in refund.review_reason
    assert len(create.calls) == 1


def test_novasend_refund_sends_the_idempotency_key_and_replays_it_after_a_lost_answer(
    rsps, settings
):
    import requests

    enable_novasend_refunds(settings)
    _order, payment = paid_order("novasend", provider_reference="tr_abc123")
    url = f"{NOVA}/payin/tr_abc123/refund"
    rsps.post(url, body=requests.ReadTimeout())
    refund = refunds.send_refund(refunds.request_refund(payment.pk, 6000, "annulation").pk)
    assert refund.status == Refund.Status.REQUESTED

    rsps.replace(
        "POST",
        url,
        json={
            "type": "refund",
            "reference": "tr_ref999",
            "amount": 6000,
            "currency": "XOF",
            "status": "pending",
        },
        status=201,
    )
    Refund.objects.filter(pk=refund.pk).update(sent_at=refund.sent_at - refunds.SEND_TIMEOUT)
    refund = refunds.check_refund(refund.pk)
    assert refund.status == Refund.Status.PENDING and refund.provider_reference == "tr_ref999"
    keys = {c.request.headers["X-Idempotency-Key"] for c in rsps.calls}
    assert keys == {str(refund.reference)}
    assert json.loads(rsps.calls[-1].request.body) == {"amount": 6000, "reason": "annulation"}

    rsps.get(
        f"{NOVA}/payin/tr_ref999",
        json={
            "type": "refund",
            "reference": "tr_ref999",
            "amount": 6000,
            "currency": "XOF",
            "status": "completed",
        },
    )
    refund = refunds.check_refund(refund.pk)
    assert refund.status == Refund.Status.SUCCEEDED
    # Partial: the order stays paid.
    assert Order.objects.get(pk=payment.order_id).status == Order.Status.PAID


def test_refunds_never_exceed_what_was_paid():
    _order, payment = paid_order("lygos", provider_reference="lg-1")
    refunds.record_outside_refund(
        payment.pk, 10000, "Orange Money", "OM-778", "remboursé au client"
    )
    with pytest.raises(refunds.RefundRefused, match="5000"):
        refunds.record_outside_refund(payment.pk, 5001, "Orange Money", "OM-779", "")
    refunds.record_outside_refund(payment.pk, 5000, "Orange Money", "OM-780", "")
    assert refunds.refundable(payment).left == 0
    assert Order.objects.get(pk=payment.order_id).status == Order.Status.CANCELLED


def test_providers_without_a_refund_api_ask_for_an_outside_refund():
    _order, payment = paid_order("dexchange", provider_reference="MID1")
    with pytest.raises(refunds.RefundRefused, match="hors boutique"):
        refunds.request_refund(payment.pk, 1000, "retour")


def test_stock_comes_back_only_when_staff_say_the_goods_did():
    order, payment = paid_order("lengopay", provider_reference="pay1")
    product_id = order.lines.get().product_id
    stock = Product.objects.get(pk=product_id).stock
    with pytest.raises(refunds.RefundRefused):
        refunds.restock_returned(order.pk)
    refunds.record_outside_refund(payment.pk, 15000, "MTN MoMo", "MM-1", "")
    assert Product.objects.get(pk=product_id).stock == stock
    refunds.restock_returned(order.pk)
    assert Product.objects.get(pk=product_id).stock == stock + 1
    with pytest.raises(refunds.RefundRefused):
        refunds.restock_returned(order.pk)


def test_one_refund_form_submitted_twice_is_one_refund():
    _order, payment = paid_order("ligdicash", provider_reference="tok-x")
    first = refunds.request_refund(payment.pk, 1000, "retour", request_key="k1")
    second = refunds.request_refund(payment.pk, 1000, "retour", request_key="k1")
    assert first.pk == second.pk and Refund.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_refunding_at_once_give_one_refund():
    _order, payment = paid_order("ligdicash", provider_reference="tok-y")
    outcomes = at_once(
        lambda: refunds.request_refund(payment.pk, 15000, "retour").pk,
        refused=refunds.RefundRefused,
    )
    assert Refund.objects.count() == 1
    assert sum(isinstance(o, int) for o in outcomes) == 1
