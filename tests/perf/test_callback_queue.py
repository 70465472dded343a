"""The stored callback is the queue (no Celery publish per callback).

* The intake stores the row (``processed_at`` empty) and wakes the drain at
  most once per ``DRAIN_WINDOW``: one publish for a burst of callbacks.
* The drain acts on each queued row once, oldest first, and marks it: one
  status check per row (``responses`` at Ligdicash's HTTP boundary) and its
  decision on the payment.
* The intake stays within its query budget.

Only the broker is stubbed (``drain_callbacks.apply_async``): the drain runs
here, in the test, with the real ``process_callback``.
"""

from __future__ import annotations

import json
from unittest import mock

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from responses import matchers

from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.providers.ligdicash import TOKEN_PARAM
from payments.services import callbacks
from tests.support.factories import make_payment
from tests.support.kits.dexchange import DexchangeKit
from tests.support.kits.ligdicash import LigdicashKit

pytestmark = pytest.mark.django_db(transaction=True)


def _body(payment, status: str) -> str:
    return json.dumps(
        {
            "date": "2023-10-29 09:46:27+00",
            "response_code": "00",
            "token": "",
            "montant": str(payment.amount),
            "status": status,
            "custom_data": [
                {"keyof_customdata": "transaction_id", "valueof_customdata": str(payment.reference)}
            ],
            "transaction_id": str(payment.reference),
        }
    )


def _post(client, payment, status: str):
    return client.post(
        reverse("payments:callback", args=["ligdicash"]),
        data=_body(payment, status),
        content_type="application/json",
    )


def test_a_burst_of_callbacks_wakes_the_drain_once(client):
    payments = [make_payment(provider="ligdicash") for _ in range(3)]
    with mock.patch("payments.tasks.drain_callbacks.apply_async") as publish:
        for payment in payments:
            assert _post(client, payment, "completed").status_code == 200
    assert publish.call_count == 1
    assert publish.call_args.args == (("ligdicash",),)  # that provider's drain
    assert publish.call_args.kwargs == {"countdown": callbacks.DRAIN_WINDOW}
    queued = callbacks.queued_callbacks().order_by("id")
    assert [e.payment_id for e in queued] == [p.pk for p in payments]


def ligdicash_payments(count: int) -> list[Payment]:
    return [make_payment(provider="ligdicash", provider_reference=f"tok-{i}") for i in range(count)]


def answer_status(rsps, payment: Payment, outcome: str = "succeeded", **fault) -> None:
    """Ligdicash's status answer for this payment's invoice token (or ``fault``)."""
    rsps.get(
        LigdicashKit().status_url(payment),
        match=[matchers.query_param_matcher({TOKEN_PARAM: payment.provider_reference})],
        **(fault or {"json": LigdicashKit().status_body(payment, outcome)}),
    )


def checked_tokens(rsps) -> list[str]:
    return [call.request.params[TOKEN_PARAM] for call in rsps.calls]


def succeeded_decisions(payment: Payment) -> int:
    return payment.events.filter(
        kind=PaymentEvent.Kind.DECISION, message__startswith="succeeded"
    ).count()


def test_the_drain_acts_on_each_queued_callback_once_oldest_first(client, rsps):
    payments = ligdicash_payments(2)
    for payment in payments:
        answer_status(rsps, payment)
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        for payment in payments:
            _post(client, payment, "completed")
        _post(client, payments[0], "completed")  # a replay: not queued again
    assert callbacks.drain_callbacks() == 2
    assert callbacks.drain_callbacks() == 0
    assert not callbacks.queued_callbacks().exists()
    assert checked_tokens(rsps) == ["tok-0", "tok-1"]  # one status check each, oldest first
    for payment in payments:
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCEEDED
        assert succeeded_decisions(payment) == 1


def test_a_vendor_fault_while_acting_leaves_that_payment_polled_and_the_drain_goes_on(client, rsps):
    down, up = ligdicash_payments(2)
    answer_status(rsps, down, body=requests.exceptions.ConnectionError())
    answer_status(rsps, up)
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        for payment in (down, up):
            _post(client, payment, "completed")
    assert callbacks.drain_callbacks() == 2
    assert checked_tokens(rsps) == ["tok-0", "tok-1"]
    down.refresh_from_db()
    up.refresh_from_db()
    assert (down.status, up.status) == (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED)
    assert down.next_check_at > timezone.now(), "still on the poll schedule"
    assert down.events.filter(kind=PaymentEvent.Kind.DECISION).get().message == (
        "still unknown (callback)"
    )
    assert not callbacks.queued_callbacks().exists()


def test_a_crash_while_acting_is_journalled_and_the_drain_goes_on(client, rsps):
    broken, fine = ligdicash_payments(2)
    answer_status(rsps, fine)
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        for payment in (broken, fine):
            _post(client, payment, "completed")
    # A payment whose provider is no longer registered: acting on its callback raises.
    Payment.objects.filter(pk=broken.pk).update(provider="retired")
    assert callbacks.drain_callbacks() == 2
    failure = PaymentEvent.objects.get(kind="error", message__startswith="handling callback")
    assert failure.payment_id == broken.pk and "UnknownProvider" in failure.data["traceback"]
    fine.refresh_from_db()
    assert fine.status == PaymentStatus.SUCCEEDED and succeeded_decisions(fine) == 1
    assert checked_tokens(rsps) == ["tok-1"]
    assert not callbacks.queued_callbacks().exists()


def _post_dexchange(client, payment):
    body, headers = DexchangeKit().callback(payment)
    return client.post(
        reverse("payments:callback", args=["dexchange"]),
        data=body,
        content_type="application/json",
        **headers,
    )


def test_each_provider_wakes_its_own_drain(client):
    ligdicash = [make_payment(provider="ligdicash") for _ in range(3)]
    dexchange = make_payment(provider="dexchange", provider_reference="dex-1")
    with mock.patch("payments.tasks.drain_callbacks.apply_async") as publish:
        for payment in ligdicash:
            assert _post(client, payment, "completed").status_code == 200
        assert _post_dexchange(client, dexchange).status_code == 200
    assert [call.args for call in publish.call_args_list] == [
        (("ligdicash",),),
        (("dexchange",),),
    ], "a burst from Ligdicash does not hold the wake-up of DEXCHANGE's drain"


def test_a_providers_drain_acts_only_on_its_own_callbacks(client, rsps):
    burst = ligdicash_payments(3)
    other = make_payment(provider="dexchange", provider_reference="dex-1")
    DexchangeKit().mock_status(rsps, other, "succeeded")
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        for payment in burst:
            _post(client, payment, "completed")
        _post_dexchange(client, other)
    assert callbacks.drain_callbacks("dexchange") == 1
    other.refresh_from_db()
    assert other.status == PaymentStatus.SUCCEEDED
    assert [call.request.url for call in rsps.calls] == [DexchangeKit().status_url(other)]
    assert callbacks.queued_callbacks().count() == 3, "Ligdicash's wait for their own drain"


def test_the_beats_drain_takes_the_providers_in_turn_not_a_burst_first(client, rsps):
    burst = ligdicash_payments(4)
    other = make_payment(provider="dexchange", provider_reference="dex-1")
    for payment in burst:
        answer_status(rsps, payment)
    DexchangeKit().mock_status(rsps, other, "succeeded")
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        for payment in burst:
            _post(client, payment, "completed")
        _post_dexchange(client, other)  # queued last, behind the whole burst
    assert callbacks.drain_callbacks() == 5
    hosts = [call.request.url.split("/")[2] for call in rsps.calls]
    # Providers in turn (in name order), each one's oldest first: DEXCHANGE's
    # callback, queued behind four of Ligdicash's, is acted on in the first turn.
    assert hosts == ["dexchange.test"] + ["ligdicash.test"] * 4, hosts
    assert not callbacks.queued_callbacks().exists()


def test_broker_down_loses_nothing(client):
    payment = make_payment(provider="ligdicash")
    with mock.patch(
        "payments.tasks.drain_callbacks.apply_async", side_effect=OSError("broker down")
    ):
        assert _post(client, payment, "completed").status_code == 200
    assert callbacks.queued_callbacks().count() == 1  # the beat's drain acts on it


def test_intake_query_budget(client):
    payment = make_payment(provider="ligdicash")
    with mock.patch("payments.tasks.drain_callbacks.apply_async"):
        _post(client, payment, "pending")
        with CaptureQueriesContext(connection) as new:
            _post(client, payment, "completed")
        with CaptureQueriesContext(connection) as duplicate:
            _post(client, payment, "completed")
    assert len(new) <= 4 and len(duplicate) <= 4, (
        [q["sql"] for q in new],
        [q["sql"] for q in duplicate],
    )
