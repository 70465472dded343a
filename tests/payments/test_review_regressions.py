"""Regressions found in review of the money path."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers.base import parse_amount
from tests.support.factories import make_order, make_payment, make_product
from tests.support.kits.ligdicash import LigdicashKit

KIT = LigdicashKit()
pytestmark = pytest.mark.django_db(transaction=True)


def started(rsps) -> Payment:
    KIT.mock_initiate_ok(rsps)
    return services.start_payment(make_order((make_product(stock=2), 1)), "ligdicash", "hosted")


def test_money_arriving_after_our_deadline_is_flagged_when_the_callback_comes(rsps, client):
    payment = started(rsps)
    Payment.objects.filter(pk=payment.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    KIT.mock_status(rsps, payment, "pending")
    services.check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    # The shopper paid at the last minute: the provider calls back.
    body, _ = KIT.callback(payment, "succeeded")
    client.post(
        reverse("payments:callback", args=["ligdicash"]), data=body, content_type="application/json"
    )
    rsps.upsert("GET", KIT.status_url(payment), json=KIT.status_body(payment, "succeeded"))
    services.process_callback(PaymentEvent.objects.get(kind="callback").pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED and payment.needs_review
    assert "after the attempt ended" in payment.review_reason


def test_a_second_submit_while_the_first_call_is_in_flight_sends_nothing(rsps):
    order = make_order((make_product(), 1))
    # Its initiation call is still out: no answer stored yet.
    in_flight = make_payment(order, provider="ligdicash", method="hosted", provider_reference="")
    with pytest.raises(services.PaymentStartError) as excinfo:
        services.start_payment(order, "ligdicash", "hosted")
    assert excinfo.value.follow and excinfo.value.payment.pk == in_flight.pk
    assert len(rsps.calls) == 0


def test_an_attempt_cancelled_during_its_initiation_sends_nobody_to_pay(rsps):
    order = make_order((make_product(), 1))

    def create(request):
        # Meanwhile another tab picked another provider: this attempt ends.
        services.cancel_payment(Payment.objects.get(order=order).pk, "superseded")
        return (
            200,
            {},
            json.dumps(
                {
                    "response_code": "00",
                    "token": "tok-late",
                    "response_text": "https://client.ligdicash.com/tok-late",
                }
            ),
        )

    rsps.add_callback("POST", KIT.initiate_url(), callback=create)
    payment = services.start_payment(order, "ligdicash", "hosted")
    assert payment.status == PaymentStatus.CANCELLED
    assert payment.events.filter(message__startswith="initiated after the attempt ended").exists()
    assert payment.provider_reference == "tok-late" and payment.watch_until is not None


def test_huge_exponents_are_refused_at_once():
    started_at = time.monotonic()
    assert parse_amount("1e400000") is None
    assert parse_amount("1e16") is None
    assert parse_amount("1e3") == 1000
    assert time.monotonic() - started_at < 0.1


def test_nul_characters_in_a_callback_are_refused_and_stored(client):
    body = json.dumps({"token": "abc\u0000def", "status": "completed", "date": "x"}).encode()
    response = client.post(
        reverse("payments:callback", args=["ligdicash"]), data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert PaymentEvent.objects.get(kind="callback").valid is False


@pytest.mark.parametrize(
    "path", ["/commande/abc%00def0123456789abcdef/", "/paiement/abc%00def0123456789abcdef/"]
)
def test_nul_characters_in_an_order_token_are_a_404(client, path):
    assert client.get(path).status_code == 404


def test_long_provider_tokens_keep_distinct_callbacks_apart(rsps, client):
    payment = started(rsps)
    long_token = "eyJ" + "x" * 400
    Payment.objects.filter(pk=payment.pk).update(provider_reference=long_token)
    payment.refresh_from_db()
    statuses = []
    for outcome in ("pending", "succeeded"):
        body, _ = KIT.callback(payment, outcome)
        statuses.append(
            client.post(
                reverse("payments:callback", args=["ligdicash"]),
                data=body,
                content_type="application/json",
            ).json()["status"]
        )
    assert statuses == ["received", "received"]
