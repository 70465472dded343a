"""Celery tasks: the shop's e-mails, sent by the worker, never under a lock.

Thin wrappers over ``shop.emails``: they take ids and text, not rows. The
confirmation is idempotent (claimed before it is sent), so a redelivery
after a worker crash (``acks_late``) sends nothing twice; the sweep queues
any confirmation left unsent.
"""

from __future__ import annotations

from celery import shared_task

from ashtech_store.task_retry import RETRY

from . import emails


@shared_task(acks_late=True, **RETRY)
def send_order_confirmation(order_id: int, lease: str | None = None) -> bool:
    """Send a paid order's confirmation once (see ``emails.deliver_order_confirmation``)."""
    return emails.deliver_order_confirmation(order_id, lease)


@shared_task
def alert_staff(subject: str, body: str) -> bool:
    """E-mail a staff alert (already logged when it was raised)."""
    return emails.deliver_staff_alert(subject, body)


@shared_task(**RETRY)
def send_paid_twice_notice(order_id: int) -> bool:
    """Tell the shopper a second payment arrived and will be refunded."""
    return emails.deliver_paid_twice_notice(order_id)


@shared_task(**RETRY)
def send_delivery_notice(order_id: int, event: str) -> bool:
    """E-mail a delivery step to the shopper (``shop.notify.EmailBackend``)."""
    return emails.deliver_delivery_notice(order_id, event)
