"""When a payment is checked next: the back-off and the poll task.

The schedule lives in ``Payment.next_check_at`` (the database), so a lost
task or a dead broker loses nothing: the sweep re-queues what is overdue."""

from __future__ import annotations

import logging
import random

from django.conf import settings
from django.utils import timezone

from ..models import Payment
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
