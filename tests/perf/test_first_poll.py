"""A new attempt's first check is a row, not a Celery message (issue 20, item 5).

* The payment start publishes no ``poll_payment``: it writes
  ``next_check_at`` and wakes ``poll_first_checks`` at most once per window
  of due times (a burst of starts: one publish).
* ``poll_first_checks`` sends the poll of each attempt whose first check is
  due, once (leased as the sweep leases), and leaves alone what is not due,
  already checked, or whose initiation call is still out.
* A lost wake-up loses nothing: the beat's sweep polls the row.
* With a real worker (Celery's test worker on Redis) and the sandbox, a
  payment whose callback never comes is paid by its first poll, and the
  shopper's request published no per-payment message.

The provider is ``responses`` at Ligdicash's HTTP boundary (or the
sandbox); the broker is the test run's Redis.
"""

from __future__ import annotations

import math
from datetime import timedelta
from unittest import mock

import pytest
from celery.signals import after_task_publish
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from payments import services, tasks
from payments.models import Payment, PaymentEvent, PaymentStatus
from payments.services import schedule
from tests.support.e2e import ROUTES, act_in_sandbox, buy, final, setup_route
from tests.support.factories import hold, make_order, make_product, wait_for
from tests.support.kits.ligdicash import LigdicashKit

KIT = LigdicashKit()
POLL = "payments.tasks.poll_payment"
WAKE = "payments.tasks.poll_first_checks"


@pytest.fixture
def published():
    """Tasks really published to the broker, and whether a task published them
    (a worker) or not (the shopper's request)."""
    from celery import current_task

    sent: list[tuple[str, tuple, bool]] = []

    def record(sender=None, headers=None, body=None, **kwargs):
        in_task = bool(current_task and current_task.request.id)
        sent.append((sender, tuple(body[0]) if body else (), in_task))

    after_task_publish.connect(record, weak=False)
    yield sent
    after_task_publish.disconnect(record)


def start_through_the_view(client) -> Payment:
    order = make_order((make_product(), 1))
    hold(client, order)
    response = client.post(
        reverse("payments:pay", args=[order.token]), {"choice": "ligdicash:hosted"}
    )
    assert response.status_code == 302, response.content[:300]
    return Payment.objects.get(order=order)


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_payment_starts_publishes_no_poll_and_one_wake_up(client, rsps, published):
    KIT.mock_initiate_ok(rsps)
    payments = [start_through_the_view(client) for _ in range(3)]
    assert [name for name, _, _ in published if name == POLL] == []
    wakes = [name for name, _, _ in published if name == WAKE]
    # The three are due within ~1.5 s of each other (jittered back-off): at
    # most one wake-up per window of due times they fall in.
    windows = {int(p.next_check_at.timestamp() // schedule.FIRST_POLL_WINDOW) for p in payments}
    assert 1 <= len(wakes) <= len(windows) + 1
    for payment in payments:
        assert payment.status == PaymentStatus.PENDING and payment.check_count == 0
        assert payment.next_check_at > timezone.now(), "the first check is scheduled in the row"


@pytest.mark.django_db(transaction=True)
def test_the_wake_up_polls_each_due_first_check_once(client, rsps, published):
    KIT.mock_initiate_ok(rsps)
    due, later = start_through_the_view(client), start_through_the_view(client)
    checked = start_through_the_view(client)
    in_flight = start_through_the_view(client)
    now = timezone.now()
    Payment.objects.filter(pk__in=[due.pk, checked.pk, in_flight.pk]).update(
        next_check_at=now - timedelta(seconds=1)
    )
    Payment.objects.filter(pk=later.pk).update(next_check_at=now + timedelta(seconds=30))
    Payment.objects.filter(pk=checked.pk).update(check_count=1)  # its poll chain carries it
    Payment.objects.filter(pk=in_flight.pk).update(initiated_at=None)  # call still out
    published.clear()

    assert services.poll_first_checks() == [due.pk]
    assert services.poll_first_checks() == [], "leased: sent once"
    due.refresh_from_db()
    assert published == [(POLL, (due.pk, due.next_check_at.isoformat()), False)]
    lease = timedelta(seconds=settings.PAYMENT_SWEEP_GRACE)
    assert now + lease - timedelta(seconds=1) < due.next_check_at <= timezone.now() + lease, (
        "leased for a short while: a killed worker's first check is swept soon after"
    )

    # The poll it sent is the real check: the provider says paid.
    KIT.mock_status(rsps, due, "succeeded")
    assert tasks.poll_payment.apply(args=published[0][1]).get() == "succeeded"
    assert tasks.poll_first_checks.apply().get() == 0


@pytest.mark.django_db(transaction=True)
def test_an_attempt_answered_after_its_due_time_is_woken_in_the_window_of_now(published):
    from django.core.cache import cache

    due = timezone.now() - timedelta(seconds=3)  # a slow provider answered 3 s late
    window = schedule.FIRST_POLL_WINDOW
    # Another attempt due in the same window already woke a task, which ran
    # before this one's answer was stored.
    cache.add(schedule.FIRST_POLL_KEY.format(math.ceil(due.timestamp() / window)), 1, 60)
    schedule.wake_first_polls(12345, due)
    assert [name for name, _, _ in published] == [WAKE]


@pytest.mark.django_db(transaction=True)
def test_a_lost_wake_up_is_swept(client, rsps):
    KIT.mock_initiate_ok(rsps)
    with mock.patch(
        "payments.tasks.poll_first_checks.apply_async", side_effect=OSError("broker down")
    ) as wake:
        payment = start_through_the_view(client)
    assert wake.called, "the start tried to wake the first checks"
    assert payment.status == PaymentStatus.PENDING  # the shopper was sent to pay all the same
    payment.refresh_from_db()
    overdue = payment.next_check_at + timedelta(seconds=settings.PAYMENT_SWEEP_GRACE + 1)
    report = services.sweep(now=overdue)
    assert payment.pk in report.enqueued


@pytest.mark.django_db(transaction=True)
def test_an_unknown_initiation_outcome_wakes_the_first_check_too(rsps, published):
    rsps.post(KIT.initiate_url(), status=502, body="upstream error")
    order = make_order((make_product(), 1))
    with pytest.raises(services.PaymentStartError):
        services.start_payment(order, "ligdicash", "hosted")
    payment = Payment.objects.get(order=order)
    assert payment.initiation_unknown and payment.check_count == 0
    assert [name for name, _, _ in published if name == POLL] == []
    assert [name for name, _, _ in published if name == WAKE] == [WAKE]
    later = payment.next_check_at + timedelta(seconds=1)
    assert services.poll_first_checks(now=later) == [payment.pk]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_with_a_real_worker_the_request_publishes_no_poll_and_the_first_check_pays(
    sandbox_shop, settings, published
):
    route = next(r for r in ROUTES if (r.provider, r.method) == ("ligdicash", "hosted"))
    setup_route(route, settings)
    settings.SANDBOX_SEND_CALLBACKS = False  # only a poll can learn the payment succeeded
    product = make_product(price=2500, stock=3)
    s, payment, _ = buy(sandbox_shop, route, product)
    act_in_sandbox(s, sandbox_shop, payment, "pay", follow=False)
    payment = final(payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    from_requests = [name for name, _, in_task in published if not in_task]
    assert POLL not in from_requests, from_requests
    assert from_requests.count(WAKE) <= 1, from_requests
    # The worker sent the poll (woken once), not the beat's sweep: no beat runs here.
    from_worker = [name for name, _, in_task in published if in_task]
    assert POLL in from_worker, from_worker
    first_check = wait_for(
        lambda: payment.events.filter(
            kind=PaymentEvent.Kind.DECISION, message__startswith="succeeded"
        ).first()
    )
    assert (first_check.created_at - payment.created_at).total_seconds() < 15
