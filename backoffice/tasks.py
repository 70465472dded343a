"""Celery tasks: thin wrappers that take ids and call the backoffice services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from ashtech_store.task_retry import RETRY

from . import refunds


@shared_task(acks_late=True, **RETRY)
def poll_refund(refund_id: int) -> str:
    """Check one refund; the service schedules the next check until final."""
    return refunds.check_refund(refund_id, source="poll").status


@shared_task(acks_late=True, **RETRY)
def send_refund(refund_id: int) -> str:
    return refunds.send_refund(refund_id).status


@shared_task
def sweep_refunds() -> int:
    return len(refunds.sweep_refunds())


@shared_task
def reconcile_recent(days: int = 7) -> int:
    """Nightly: reconcile the last ``days`` days; new mismatches are flagged."""
    from .reconcile import reconcile

    return len(reconcile(since=timezone.now() - timedelta(days=days)).new)
