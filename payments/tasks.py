"""Celery tasks: thin wrappers that take ids and call ``payments.services``.

Every task is idempotent: it re-reads the rows under lock, so a
redelivery after a worker crash (``acks_late`` + ``reject_on_worker_lost``)
or a duplicate enqueue changes nothing twice. Database and provider
outages are retried with back-off and jitter, capped.
"""

from __future__ import annotations

import logging
import traceback

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ashtech_store.task_retry import RETRY

from . import services
from .models import Payment
from .services.callbacks import drain_callbacks as drain_stored_callbacks

log = logging.getLogger(__name__)


@shared_task(acks_late=True, **RETRY)
def poll_payment(payment_id: int, scheduled_for: str | None = None) -> str:
    """Check one payment's status; the services schedule the next check.

    ``scheduled_for`` is the ``next_check_at`` this task was sent for: if the
    payment has been rescheduled since (a return, a staff re-check, the
    sweep), another task carries the schedule and this one stops."""
    if not services.is_scheduled(payment_id, scheduled_for):
        return "superseded"
    try:
        payment = services.check_payment(payment_id, source="poll")
    except Payment.DoesNotExist:
        return "missing"
    return payment.status


@shared_task(acks_late=True, **RETRY)
def poll_first_checks() -> int:
    """Send the first poll of every new attempt now due. Woken by the
    payment start at most once per window of due times
    (``services.wake_first_polls``); the beat's sweep is the safety net."""
    return len(services.poll_first_checks())


@shared_task(acks_late=True, **RETRY)
def process_callback(event_id: int) -> str:
    """Act on a stored callback (the status API decides).

    If handling crashes, the payment change rolls back (one atomic block in
    ``apply_status``), the traceback is journalled next to the raw callback,
    and the poller or ``manage.py recheck_payment`` re-runs it."""
    try:
        payment = services.process_callback(event_id)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        services.record_failure(event_id, traceback.format_exc())
        raise
    return payment.status if payment else "ignored"


@shared_task(acks_late=True, **RETRY)
def drain_callbacks(provider: str | None = None) -> int:
    """Act on every stored callback not acted on yet (the stored row is the
    queue): ``provider``'s, woken by the intake at most once a second per
    provider; without one, every provider's in turn (the beat's safety net)."""
    return drain_stored_callbacks(provider)


@shared_task(acks_late=True, **RETRY)
def sweep_payments() -> int:
    """Periodic safety net (beat): re-queue overdue checks."""
    report = services.sweep()
    if report.enqueued or report.emails or report.orders_expired:
        log.info(
            "sweep: %s checks enqueued, %s e-mails queued, %s orders expired",
            len(report.enqueued),
            report.emails,
            report.orders_expired,
        )
    return len(report.enqueued)
