"""Celery queues: which task runs on which queue, which tasks are acknowledged
late, and the per-provider limit on provider calls (issue 20, item 2).

Queues, so that a burst of one kind never waits behind another:

    callbacks  stored callbacks acted on (the drain), one status call each
    polling    the status checks of pending payments (the poll chain)
    refunds    refunds sent and checked
    email      confirmation, delivery and order-link e-mails, staff alerts
    images     product photo renditions (CPU-heavy, never urgent)
    celery     the default queue: the beat's sweeps, the nightly
               reconciliation, and any task not named below

A worker serves the queues it is started with (``celery worker -Q …``;
``docker-compose.yml`` and ``Procfile.dev`` show the split); ``all_queues()``
names them all. When ``CELERY_TASK_DEFAULT_QUEUE`` is not ``celery`` (a test
run, or a second shop on the same Redis), every queue is named under it
(``<default>.polling``), so two such users never consume each other's tasks.

The provider limit: before a task that calls a provider runs, it takes a
token from its provider's bucket (``CELERY_PROVIDER_RATE_LIMIT`` calls a
second per provider, all workers together, counted in the shared cache). A
task over the limit is sent again a second or so later, at the back of its
queue, and the worker takes the next task, so one provider's burst is
spread out and the others' tasks go past it. The tasks are idempotent and
check their schedule, so a resent copy changes nothing twice.
"""

from __future__ import annotations

import fnmatch
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from celery import current_app
from celery.exceptions import Ignore

log = logging.getLogger(__name__)

CALLBACKS, POLLING, REFUNDS, EMAIL, IMAGES = "callbacks", "polling", "refunds", "email", "images"
DEFAULT = "celery"
KINDS = (CALLBACKS, POLLING, REFUNDS, EMAIL, IMAGES)

# Task name (or pattern) → queue kind; the first match wins, the rest go to the default.
ROUTES: tuple[tuple[str, str], ...] = (
    ("payments.tasks.process_callback", CALLBACKS),
    ("payments.tasks.drain_callbacks", CALLBACKS),
    ("payments.tasks.poll_payment", POLLING),
    ("payments.tasks.poll_first_checks", POLLING),
    ("backoffice.tasks.send_refund", REFUNDS),
    ("backoffice.tasks.poll_refund", REFUNDS),
    ("shop.tasks.*", EMAIL),
    ("shop.lookup.send_order_link", EMAIL),
    ("shop.images.make_product_images", IMAGES),
)

# Acknowledged after they ran (``task_acks_late``), so a worker lost mid-task
# hands the message to another: only tasks that are idempotent, because each
# re-reads its rows under lock or claims its work first —
#   poll_payment, poll_first_checks, process_callback, drain_callbacks, sweep_payments
#     (payments.tasks: FSM under the row lock, the schedule check, claimed callback
#     rows, lease);
#   send_refund, poll_refund, sweep_refunds (backoffice.refunds: the refund's own
#     idempotency key, FSM under lock, lease);
#   send_order_confirmation (shop.emails: claimed by a conditional UPDATE with a lease);
#   make_product_images (remakes the same files); reconcile_recent (only flags).
# The other e-mails (staff alert, paid-twice notice, delivery notice, order link)
# have no claim: acknowledged on receipt (CELERY_TASK_ACKS_LATE is off), so a lost
# worker never sends one twice. A task whose decorator says acks_late keeps it.
ACKS_LATE = frozenset(
    {
        "payments.tasks.poll_payment",
        "payments.tasks.poll_first_checks",
        "payments.tasks.process_callback",
        "payments.tasks.drain_callbacks",
        "payments.tasks.sweep_payments",
        "backoffice.tasks.send_refund",
        "backoffice.tasks.poll_refund",
        "backoffice.tasks.sweep_refunds",
        "backoffice.tasks.reconcile_recent",
        "shop.tasks.send_order_confirmation",
        "shop.images.make_product_images",
    }
)


def queue_name(kind: str, default: str | None = None) -> str:
    """The queue of ``kind`` for this shop (namespaced under a non-default default queue)."""
    default = default or current_app.conf.task_default_queue
    if kind == DEFAULT:
        return default
    return kind if default == DEFAULT else f"{default}.{kind}"


def all_queues(default: str | None = None) -> list[str]:
    """Every queue this shop's tasks go to: what a worker serving everything consumes."""
    return [queue_name(kind, default) for kind in (*KINDS, DEFAULT)]


def kind_of(task_name: str) -> str:
    for pattern, kind in ROUTES:
        if fnmatch.fnmatchcase(task_name, pattern):
            return kind
    return DEFAULT


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any):
    """Celery router (``CELERY_TASK_ROUTES``): a task's queue, from its name."""
    return {"queue": queue_name(kind_of(name))}


# --- the per-provider limit ---------------------------------------------------


def _payment_provider(payment_id: int, *rest: Any, **kw: Any) -> str | None:
    from payments.models import Payment

    return Payment.objects.filter(pk=payment_id).values_list("provider", flat=True).first()


def _event_provider(event_id: int, *rest: Any, **kw: Any) -> str | None:
    from payments.models import PaymentEvent

    return PaymentEvent.objects.filter(pk=event_id).values_list("provider", flat=True).first()


def _refund_provider(refund_id: int, *rest: Any, **kw: Any) -> str | None:
    from backoffice.models import Refund

    return Refund.objects.filter(pk=refund_id).values_list("provider", flat=True).first()


# The tasks that make one provider call each, and how to find the provider.
PROVIDER_OF: dict[str, Callable[..., str | None]] = {
    "payments.tasks.poll_payment": _payment_provider,
    "payments.tasks.process_callback": _event_provider,
    "backoffice.tasks.send_refund": _refund_provider,
    "backoffice.tasks.poll_refund": _refund_provider,
}


def take_token(provider: str, per_second: int, now: float | None = None) -> bool:
    """One call of ``provider`` in this second, if fewer than ``per_second``
    were taken by all workers (the shared cache counts; a cache failure lets
    the call through: the limit protects fairness, not money)."""
    from django.core.cache import cache

    key = f"provider-rate:{provider}:{int(now if now is not None else time.time())}"
    try:
        cache.add(key, 0, 5)
        return cache.incr(key) <= per_second
    except Exception:  # noqa: BLE001 - a cache outage must not stop the payments
        log.warning("provider rate limit: cache unavailable, call allowed")
        return True


def _limited_before_start(task: Any, task_id: str, args: Any, kwargs: Any) -> None:
    """``Task.before_start``: defer this task when its provider is over the limit."""
    from django.conf import settings

    per_second = getattr(settings, "CELERY_PROVIDER_RATE_LIMIT", 0)
    if not per_second:
        return
    provider = PROVIDER_OF[task.name](*(args or ()), **(kwargs or {}))
    if provider is None or take_token(provider, per_second):
        return
    task.apply_async(args, kwargs, countdown=random.uniform(0.5, 1.5))
    log.info("%s for %s deferred: over %s calls/s", task.name, provider, per_second)
    raise Ignore()


class TaskPolicy:
    """Celery annotation (``CELERY_TASK_ANNOTATIONS``): late acknowledgement
    for the idempotent tasks, the provider limit for those that call one."""

    def annotate(self, task: Any) -> dict[str, Any] | None:
        attributes: dict[str, Any] = {}
        if task.name in ACKS_LATE:
            attributes["acks_late"] = True
        if task.name in PROVIDER_OF:
            attributes["before_start"] = _limited_before_start
        return attributes
