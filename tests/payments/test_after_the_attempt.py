"""Regressions of the security review of 2026-11-29: money is watched until
the provider can no longer take it, and the callback intake and provider
calls resist abuse. Each test names its finding (F-nn) and fails on the code
the review ran (commit 76864de).

Ligdicash is the provider under test (its hosted flow redirects, its direct
flows push); ``responses`` stands in for its servers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from shop.models import Order
from tests.support.factories import hold, make_order, make_payment, make_product
from tests.support.kits.ligdicash import LigdicashKit

KIT = LigdicashKit()
pytestmark = pytest.mark.django_db(transaction=True)

CREATE = "https://ligdicash.test/pay/v01/redirect/checkout-invoice/create"
STRAIGHT = "https://ligdicash.test/pay/v01/straight/checkout-invoice/create"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.after-the-attempt"
LINK = "https://app.ligdicash.com/pay/invoice/after"


def created(token=TOKEN, link=LINK) -> dict:
    return {"response_code": "00", "token": token, "response_text": link, "description": ""}


def started(rsps, **order) -> Payment:
    rsps.post(CREATE, json=created())
    return services.start_payment(
        make_order((make_product(stock=3), 1), **order), "ligdicash", "hosted"
    )


def status_calls(rsps) -> int:
    return sum(1 for call in rsps.calls if "/confirm/" in call.request.url)


def expire(payment: Payment, rsps, outcome="pending") -> Payment:
    Payment.objects.filter(pk=payment.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    KIT.mock_status(rsps, payment, outcome)
    return services.check_payment(payment.pk)


# --- what the provider answered is kept, even after the attempt ended -----------
def test_an_attempt_ended_during_its_initiation_keeps_the_reference_and_is_watched(rsps):
    order = make_order((make_product(stock=2), 1))

    def create(request):
        services.cancel_payment(
            Payment.objects.get(order=order).pk, reason="another tab chose another provider"
        )
        return 200, {}, json.dumps(created())

    rsps.add_callback("POST", CREATE, callback=create)
    payment = services.start_payment(order, "ligdicash", "hosted")
    assert payment.status == PaymentStatus.CANCELLED
    assert payment.provider_reference == TOKEN, (
        "the token is kept: the vendor may still take money on it"
    )
    assert payment.watch_until and payment.next_check_at
    # The shopper pays on the page they still have open: a watched check flags it.
    rsps.get(KIT.status_url(payment), json=KIT.status_body(payment, "succeeded"))
    payment = services.check_payment(payment.pk, source="poll")
    assert payment.needs_review and "after the attempt ended" in payment.review_reason


def test_a_switch_while_the_first_initiation_is_in_flight_is_refused(rsps, client):
    order = make_order((make_product(stock=2), 1), country="SN", phone="+221771234567")
    # Its initiation call is still out: no answer stored yet.
    in_flight = make_payment(order, provider="ligdicash", method="moov_bf", provider_reference="")
    with pytest.raises(services.PaymentStartError) as excinfo:
        services.start_payment(order, "dexchange", "hosted")
    assert excinfo.value.follow and excinfo.value.payment.pk == in_flight.pk
    in_flight.refresh_from_db()
    assert in_flight.status == PaymentStatus.PENDING, "never superseded while its call is out"
    assert len(rsps.calls) == 0
    # Through the page: the shopper is taken to the attempt's waiting page.
    hold(client, order)
    response = client.post(
        reverse("payments:pay", args=[order.token]), {"choice": "dexchange:hosted"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("payments:wait", args=[order.token, in_flight.reference])


# --- ended attempts are checked until the provider cannot take money ------------
def test_an_expired_attempt_stays_watched_and_late_money_is_flagged(rsps):
    payment = expire(started(rsps), rsps)
    assert payment.status == PaymentStatus.EXPIRED and not payment.needs_review
    assert payment.watch_until > timezone.now() + timedelta(hours=1)
    # The sweep picks the watched attempt up when its slow check is due.
    Payment.objects.filter(pk=payment.pk).update(
        next_check_at=timezone.now() - timedelta(minutes=5)
    )
    assert payment.pk in services.sweep().enqueued
    rsps.upsert("GET", KIT.status_url(payment), json=KIT.status_body(payment, "succeeded"))
    payment = services.check_payment(payment.pk, source="poll")
    assert payment.status == PaymentStatus.EXPIRED and payment.needs_review
    assert payment.watch_until is None and payment.next_check_at is None


def test_a_watched_attempt_still_pending_is_rescheduled_slowly_then_let_go(rsps, settings):
    payment = expire(started(rsps), rsps)
    payment = services.check_payment(payment.pk, source="poll")
    assert payment.next_check_at >= timezone.now() + timedelta(
        seconds=settings.PAYMENT_LATE_CHECK_INTERVAL - 5
    )
    # The provider says it is dead: nothing more to watch.
    rsps.upsert("GET", KIT.status_url(payment), json=KIT.status_body(payment, "failed"))
    payment = services.check_payment(payment.pk, source="poll")
    assert (
        payment.watch_until is None and payment.next_check_at is None and not payment.needs_review
    )


def test_the_first_return_re_checks_an_ended_attempt(rsps, client):
    payment = started(rsps)
    services.cancel_payment(payment.pk, reason="superseded by a new attempt")
    rsps.get(KIT.status_url(payment), json=KIT.status_body(payment, "succeeded"))
    hold(client, payment.order)
    client.get(reverse("payments:return", args=[payment.reference]))
    payment.refresh_from_db()
    assert payment.needs_review, (
        "money paid on a superseded attempt is seen on the shopper's return"
    )
    calls = status_calls(rsps)
    client.get(reverse("payments:return", args=[payment.reference]))
    assert status_calls(rsps) == calls, "only the first return re-checks an ended attempt"


# --- no definite answer at the deadline is flagged ---------------------------------
def test_a_provider_without_status_api_expires_flagged(rsps, settings):
    settings.SHOP_CURRENCY = "GNF"
    providers = dict(settings.PAYMENT_PROVIDERS)
    providers["lengopay"] = {**providers["lengopay"], "status_path": ""}
    settings.PAYMENT_PROVIDERS = providers
    rsps.post(
        "https://lengopay.test/api/v2/cashin/request",
        json={"status": "Success", "pay_id": "Tm9TdGF0dXNBcGk"},
    )
    order = make_order((make_product(price=5000, stock=2), 1), country="GN", phone="+224620124578")
    payment = services.start_payment(order, "lengopay", "lp-om-gn", payer_phone="+224620124578")
    Payment.objects.filter(pk=payment.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    payment = services.check_payment(payment.pk)
    assert payment.status == PaymentStatus.EXPIRED and payment.needs_review
    assert "unknown at the deadline" in payment.review_reason


def test_an_unknown_status_at_the_deadline_is_flagged(rsps):
    payment = started(rsps)
    Payment.objects.filter(pk=payment.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    rsps.get(KIT.status_url(payment), status=503, body="down")
    payment = services.check_payment(payment.pk)
    assert payment.status == PaymentStatus.EXPIRED and payment.needs_review


# --- a late success whose check fails is retried ---------------------------------
def test_a_callback_about_an_ended_attempt_with_the_status_api_down_is_retried(rsps, client):
    payment = started(rsps)
    services.cancel_payment(payment.pk, reason="superseded by a new attempt")
    Payment.objects.filter(pk=payment.pk).update(
        watch_until=None, next_check_at=None
    )  # watch already over
    body, _ = KIT.callback(payment, "succeeded")
    client.post(
        reverse("payments:callback", args=["ligdicash"]), data=body, content_type="application/json"
    )
    rsps.get(KIT.status_url(payment), status=500, body="oops")
    services.process_callback(PaymentEvent.objects.get(kind="callback").pk)
    payment.refresh_from_db()
    assert payment.next_check_at is not None and payment.watch_until > timezone.now(), (
        "never dropped"
    )
    rsps.upsert("GET", KIT.status_url(payment), json=KIT.status_body(payment, "succeeded"))
    payment = services.check_payment(payment.pk, source="poll")
    assert payment.needs_review


# --- unsigned callbacks cannot be amplified into status calls -------------------
def test_twenty_distinct_callbacks_cost_one_status_call(rsps, client):
    payment = started(rsps)
    KIT.mock_status(rsps, payment, "pending")
    body, _ = KIT.callback(payment, "succeeded")
    data = json.loads(body)
    for n in range(20):
        data["date"] = f"2026-11-29 10:{n:02d}:00"
        data["status"] = f"forged-{n}"
        client.post(
            reverse("payments:callback", args=["ligdicash"]),
            data=json.dumps(data),
            content_type="application/json",
        )
    events = PaymentEvent.objects.filter(
        kind=PaymentEvent.Kind.CALLBACK, valid=True, payment=payment
    ).values_list("pk", flat=True)
    for event_id in events:
        services.process_callback(event_id)
    assert status_calls(rsps) == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and payment.next_check_at is not None


# --- what a provider answers --------------------------------
def test_a_provider_redirect_is_not_followed_with_our_credentials(rsps):
    rsps.post(CREATE, status=307, headers={"Location": "https://collector.example/steal"})
    with pytest.raises(services.PaymentStartError):
        services.start_payment(make_order((make_product(), 1)), "ligdicash", "hosted")
    assert [call.request.url for call in rsps.calls] == [CREATE]


def test_vendor_error_text_never_reaches_the_shopper(rsps, client, settings):
    key = settings.PAYMENT_PROVIDERS["ligdicash"]["api_key"]
    rsps.post(
        CREATE,
        json={
            "response_code": "01",
            "token": "",
            "response_text": f"invalid merchant {key}",
            "description": "",
        },
    )
    order = make_order((make_product(), 1))
    hold(client, order)
    response = client.post(
        reverse("payments:pay", args=[order.token]), {"choice": "ligdicash:hosted"}
    )
    page = response.content.decode()
    assert key not in page and "invalid merchant" not in page
    assert "Ligdicash a refusé ce paiement" in page
    payment = Payment.objects.get(order=order)
    assert key not in payment.last_error


def test_a_nul_in_an_answer_key_keeps_the_reference(rsps):
    answer = {**created(), "bad\u0000key": 1}
    rsps.post(CREATE, json=answer)
    payment = services.start_payment(make_order((make_product(), 1)), "ligdicash", "hosted")
    assert payment.status == PaymentStatus.PENDING and payment.provider_reference == TOKEN


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_a_direct_debit_is_an_unknown_outcome(rsps, status):
    rsps.post(STRAIGHT, status=status, body="upstream error")
    order = make_order((make_product(), 1))
    with pytest.raises(services.PaymentStartError) as excinfo:
        services.start_payment(order, "ligdicash", "moov_bf", payer_phone="+22670123456")
    assert "ne serez pas débité deux fois" in str(excinfo.value.message)
    payment = Payment.objects.get(order=order)
    assert payment.status == PaymentStatus.PENDING and payment.initiation_unknown


def test_a_huge_answer_is_journalled_truncated(rsps):
    payment = started(rsps)
    rsps.get(KIT.status_url(payment), json={"status": "pending", "padding": "x" * 300_000})
    services.check_payment(payment.pk)
    sizes = [
        len(json.dumps(data))
        for data in payment.events.filter(kind=PaymentEvent.Kind.REQUEST).values_list(
            "data", flat=True
        )
    ]
    assert max(sizes) < 20_000


def test_a_deeply_nested_status_answer_is_unknown_not_a_crash(rsps):
    payment = started(rsps)
    rsps.get(
        KIT.status_url(payment), body="[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    payment = services.check_payment(payment.pk)
    assert payment.status == PaymentStatus.PENDING and payment.next_check_at is not None


# --- the callback intake ---------------------------------------
def test_a_deeply_nested_callback_is_a_clean_400_and_stored(client):
    response = client.post(
        reverse("payments:callback", args=["ligdicash"]),
        data=b"[" * 30000,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, valid=False).count() == 1


def test_refused_bodies_are_stored_truncated(client, settings):
    body = json.dumps({"token": "", "padding": "y" * 60_000}).encode()
    client.post(
        reverse("payments:callback", args=["dexchange"]), data=body, content_type="application/json"
    )
    row = PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK)
    assert row.valid is False and len(bytes(row.body)) <= settings.CALLBACK_REFUSED_BODY_BYTES


def test_duplicates_are_counted_not_stored_again(rsps, client):
    payment = started(rsps)
    body, _ = KIT.callback(payment, "succeeded")
    for _ in range(5):
        assert (
            client.post(
                reverse("payments:callback", args=["ligdicash"]),
                data=body,
                content_type="application/json",
            ).status_code
            == 200
        )
    rows = PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK)
    assert rows.count() == 1 and rows.get().deliveries == 5


def test_callbacks_are_rate_limited_per_source_without_storing(client, settings):
    settings.RATELIMIT_CALLBACK = "3/m"
    codes = [
        client.post(
            reverse("payments:callback", args=["dexchange"]),
            data=b"{}",
            content_type="application/json",
        ).status_code
        for _ in range(5)
    ]
    assert codes[3:] == [429, 429]
    assert PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK).count() == 3


def test_phone_numbers_are_masked_in_stored_callbacks(client):
    body = json.dumps(
        {
            "id": "MID1",
            "externalTransactionId": "ext",
            "STATUS": "SUCCESS",
            "AMOUNT": 100,
            "PHONE_NUMBER": "221771234567",
            "transactionType": "MERCHANT",
        }
    ).encode()
    client.post(
        reverse("payments:callback", args=["dexchange"]), data=body, content_type="application/json"
    )
    stored = bytes(PaymentEvent.objects.get(kind=PaymentEvent.Kind.CALLBACK).body)
    assert b"221771234567" not in stored and b"***67" in stored
    assert json.loads(stored)["STATUS"] == "SUCCESS", "the rest of the body is kept as it came"


def test_every_accepted_callback_gets_the_same_answer(rsps, client):
    payment = started(rsps)
    body, _ = KIT.callback(payment, "succeeded")
    url = reverse("payments:callback", args=["ligdicash"])
    matched = client.post(url, data=body, content_type="application/json").json()
    duplicate = client.post(url, data=body, content_type="application/json").json()
    unknown = json.loads(body)
    unknown["custom_data"] = [
        {
            "keyof_customdata": "transaction_id",
            "valueof_customdata": "00000000-0000-4000-8000-000000000000",
        }
    ]
    stranger = client.post(url, data=json.dumps(unknown), content_type="application/json").json()
    assert matched == duplicate == stranger == {"status": "received"}


# --- abuse of payment starts -------------------------------------------------
def test_pushes_to_one_wallet_are_capped_per_hour(rsps, settings):
    settings.PAYMENT_MAX_PUSHES_PER_NUMBER = 2
    for n in range(2):
        rsps.post(STRAIGHT, json={**created(token=f"{TOKEN}-{n}"), "response_text": ""})
        services.start_payment(
            make_order((make_product(), 1)), "ligdicash", "moov_bf", payer_phone="+22676000001"
        )
        rsps.reset()
    with pytest.raises(services.PaymentStartError) as excinfo:
        services.start_payment(
            make_order((make_product(), 1)), "ligdicash", "moov_bf", payer_phone="+22676000001"
        )
    assert "Trop de demandes de paiement vers ce numéro" in str(excinfo.value.message)
    assert len(rsps.calls) == 0


def test_attempts_per_order_are_capped(rsps, settings):
    settings.PAYMENT_MAX_ATTEMPTS_PER_ORDER = 2
    order = make_order((make_product(stock=3), 1))
    for n in range(2):
        rsps.post(CREATE, json=created(token=f"{TOKEN}-{n}"))
        payment = services.start_payment(order, "ligdicash", "hosted")
        services.cancel_payment(payment.pk)
        rsps.reset()
    with pytest.raises(services.PaymentStartError) as excinfo:
        services.start_payment(Order.objects.get(pk=order.pk), "ligdicash", "hosted")
    assert "Trop de tentatives" in str(excinfo.value.message)


def test_timeout_on_initiation_is_unknown_not_failed(rsps):
    rsps.add("POST", CREATE, body=requests.exceptions.ReadTimeout())
    order = make_order((make_product(), 1))
    with pytest.raises(services.PaymentStartError):
        services.start_payment(order, "ligdicash", "hosted")
    assert Payment.objects.get(order=order).initiation_unknown
