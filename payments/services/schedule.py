"""When a payment is checked next: the back-off and the poll task.

The schedule lives in ``Payment.next_check_at`` (the database), so a lost
task or a dead broker loses nothing: the sweep re-queues what is overdue.

A new attempt's first check is only a row: the payment start writes
``next_check_at`` and wakes ``poll_first_checks`` at most once per
``FIRST_POLL_WINDOW`` of due times per cache (``wake_first_polls``), the
way the callback intake wakes its drain; no Celery message per payment is
published inside the shopper's request."""

from __future__ import annotations

import logging
import math
import random
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shop.locks import lock_batch

from ..models import Payment, PaymentStatus
from ..providers.base import Provider

log = logging.getLogger(__name__)


def poll_delay(
    check_count: int, provider: Provider | None = None, retry_after: float | None = None
) -> float:
    """Growing delay before the next status check, with jitter, never
    below the provider's minimum interval nor a 429's Retry-After."""
    backoff = settings.PAYMENT_POLL_BACKOFF
    base = backoff[min(check_count, len(backoff) - 1)]
    delay = base * random.uniform(0.85, 1.15)
    floor = max(provider.min_poll_interval if provider else 0, retry_after or 0)
    return min(max(delay, floor), max(backoff))


def enqueue_poll(payment_id: int, due, now: bool = False) -> None:
    """Send the poll task for the check scheduled at ``due`` (the payment's
    ``next_check_at``). The task runs only if that is still the schedule, so a
    rescheduled payment never has two poll chains (Novasend's rate limit).

    A broker outage is logged, not raised: the schedule is in the
    database and the sweep will pick the payment up. ``now``: run at once
    (the sweep, whose lease moved ``next_check_at`` forward)."""
    from ..tasks import poll_payment

    countdown = 0.0 if now else max(0.0, (due - timezone.now()).total_seconds())
    try:
        poll_payment.apply_async((payment_id, due.isoformat()), countdown=countdown)
    except Exception as exc:  # kombu/redis errors vary by transport
        log.warning(
            "poll of payment %s not enqueued (%s); the sweep will do it",
            payment_id,
            type(exc).__name__,
        )


def is_scheduled(payment_id: int, due_iso: str | None) -> bool:
    """True when ``due_iso`` is still the payment's next check (or not given)."""
    if not due_iso:
        return True
    current = Payment.objects.filter(pk=payment_id).values_list("next_check_at", flat=True).first()
    return current is not None and current.isoformat() == due_iso


# The first checks of new attempts: one wake-up per window of due times.
FIRST_POLL_KEY = "payments:first-polls:{}"
FIRST_POLL_WINDOW = 1  # second


def wake_first_polls(payment_id: int, due) -> None:
    """Make sure ``poll_first_checks`` runs once ``due`` (a new attempt's
    ``next_check_at``, its row committed) has come, with at most one
    publish per ``FIRST_POLL_WINDOW`` of due times per cache.

    The due times are cut into windows; the first attempt due in a window
    publishes one task at the window's end, which finds every attempt due in
    it (their rows were committed before they were due). The others cost one
    cache ``add``. An attempt answered after its due time (a slow provider)
    counts in the window of now, so a task that ran before its answer was
    stored does not stand for it. A lost wake-up (broker down, a worker
    lost) leaves the row due: the beat's sweep polls it
    ``PAYMENT_SWEEP_GRACE`` later."""
    from ..tasks import poll_first_checks

    if poll_first_checks.app.conf.task_always_eager:
        # Eager runs every task at once (countdowns ignored): check now, as before.
        enqueue_poll(payment_id, due)
        return
    window = FIRST_POLL_WINDOW
    now = time.time()
    slot = math.ceil(max(due.timestamp(), now) / window)
    countdown = max(0.0, slot * window - now)
    wake_once(
        poll_first_checks,
        FIRST_POLL_KEY.format(slot),
        int(countdown) + 2 * window + 1,
        countdown,
        what=f"first check of payment {payment_id}",
    )


def wake_once(task, key: str, ttl: int, countdown: float, args: tuple = (), what: str = "") -> None:
    """Publish ``task`` unless ``key`` is already taken in the cache (held
    ``ttl`` seconds): one publish per window for a burst of rows that the
    task will find in the database. A broker outage is logged, not raised:
    the rows stay due and the beat's sweep or drain acts on them. Eager
    Celery (tests) ran the task already: the key is given back."""
    if not cache.add(key, 1, ttl):
        return
    try:
        task.apply_async(args, countdown=countdown)
        if task.app.conf.task_always_eager:
            cache.delete(key)
    except Exception as exc:  # kombu/redis errors vary by transport
        cache.delete(key)
        log.warning("%s: %s not woken (%s); the beat will", what, task.name, type(exc).__name__)


def first_checks_due(now):
    """New attempts whose first check is due: pending, answered (or with an
    unknown outcome), never checked yet. An attempt whose initiation call
    is still out is left to the sweep, as before."""
    return Payment.objects.filter(
        Q(initiated_at__isnull=False) | Q(initiation_unknown=True),
        status=PaymentStatus.PENDING,
        needs_review=False,
        check_count=0,
        next_check_at__lte=now,
    )


def poll_first_checks(now=None, lease_seconds: int | None = None, batch: int = 200) -> list[int]:
    """Send the poll of every new attempt whose first check is due, once.

    As the sweep does: rows taken with ``skip_locked`` and leased
    (``next_check_at`` moved forward), so two runs at once send each poll
    once and a lost poll task is swept when its lease runs out.

    The lease is short, ``PAYMENT_SWEEP_GRACE`` (the sweep's own, 60 s, is for
    later checks): a worker killed during a first check leaves the row due
    again at once, and the sweep takes it within the grace and one interval,
    as it did when the start sent the poll itself. A first poll only late in
    the queue is then skipped by ``is_scheduled``: never two poll chains."""
    now = now or timezone.now()
    if lease_seconds is None:
        lease_seconds = settings.PAYMENT_SWEEP_GRACE
    sent: list[int] = []
    while True:
        ids = lease_and_poll(first_checks_due(now), now + timedelta(seconds=lease_seconds), batch)
        sent += ids
        if len(ids) < batch:
            return sent


def lease_and_poll(rows, lease, batch: int) -> list[int]:
    """Take up to ``batch`` of ``rows`` (``skip_locked``), move their
    ``next_check_at`` to ``lease`` and send each one's poll once committed:
    two runs at once send each poll once, and a poll lost after the commit
    is swept when its lease runs out (the sweep and the first checks)."""
    with transaction.atomic():
        ids = lock_batch(rows, batch)
        if ids:
            Payment.objects.filter(pk__in=ids).update(next_check_at=lease)
            transaction.on_commit(lambda: [enqueue_poll(pk, lease, now=True) for pk in ids])
    return ids
