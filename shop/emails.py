"""Order e-mails and staff alerts, sent by the worker with no lock held.

A mail server that hangs must never hold up money: the money paths (the
return view, callbacks, polls, the review queue, the sweep) only *queue* an
e-mail, after their transaction commits, and a Celery task (``shop.tasks``)
sends it, bounded by ``EMAIL_TIMEOUT``.

The paid-order confirmation is sent once:

1. **claim**: one conditional ``UPDATE`` (its own short transaction) sets
   ``confirmation_claimed_until`` on a paid, unsent order whose claim is
   free or has run out; of two sends at once, the row lock lets one win;
2. **send**, with no transaction open and no lock held;
3. **record**: ``confirmation_sent_at`` is set and the claim cleared.

A send that fails keeps its claim for ``RETRY_DELAY`` (then the sweep queues
it again, for ``RETRY_WINDOW`` after payment); a worker that dies mid-send
leaves a claim that runs out after ``claim_ttl()``, longer than a task may
live, so no claim is taken over while its send may still run. Only a crash
between the send and the record can send twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import Order

log = logging.getLogger(__name__)

# After a failed send, the next try waits this long (the sweep re-queues it).
RETRY_DELAY = timedelta(minutes=5)
# A confirmation still unsent this long after payment is no longer retried.
RETRY_WINDOW = timedelta(days=2)


def claim_ttl() -> timedelta:
    """How long a claim holds: longer than a task may run (Celery's hard
    time limit), so a live send is never taken over."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def _render_order_mail(order: Order, subject: str, *templates: str) -> tuple[str, ...]:
    """The subject (a ``gettext_noop`` message with ``%(number)s``) and one body a
    template, rendered in the order's language."""
    with translation.override(order.language or settings.LANGUAGE_CODE):
        context = {
            "order": order,
            "lines": list(order.lines.all()),
            "site_url": settings.SITE_URL,
            "shop_name": settings.SHOP_NAME,
        }
        return (
            _(subject) % {"number": order.number},
            *(render_to_string(template, context) for template in templates),
        )


def render_confirmation(order: Order) -> tuple[str, str, str]:
    """Subject, text and HTML bodies of the confirmation, in the order's language."""
    return _render_order_mail(
        order,
        gettext_noop("Votre commande %(number)s est payée"),
        "shop/email/order_paid.txt",
        "shop/email/order_paid.html",
    )


# --- the confirmation ----------------------------------------------------------
def send_order_confirmation(order_id: int, lease: datetime | None = None) -> None:
    """Queue the paid-order confirmation (call it after the commit that
    marked the order paid). A broker outage is logged: the sweep queues
    every paid order whose confirmation is unsent."""
    from .tasks import send_order_confirmation as task

    try:
        task.apply_async((order_id, lease.isoformat() if lease else None))
    except Exception as exc:  # kombu/redis errors vary by transport
        log.warning(
            "confirmation of order %s not queued (%s); the sweep will", order_id, type(exc).__name__
        )


def deliver_order_confirmation(order_id: int, lease: str | None = None) -> bool:
    """Claim, send and record the confirmation; True when this call sent it.

    Run it outside any transaction (the worker does): the claim must commit
    before the e-mail leaves. ``lease``: the claim the sweep took when it
    queued this send (see ``queue_due_confirmations``)."""
    if not _claim(order_id, lease):
        return False
    try:
        order = Order.objects.get(pk=order_id)
        subject, text, html = render_confirmation(order)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [order.email])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception:
        log.exception("confirmation e-mail for order %s not sent; the sweep will retry", order_id)
        Order.objects.filter(pk=order_id, confirmation_sent_at__isnull=True).update(
            confirmation_claimed_until=timezone.now() + RETRY_DELAY
        )
        return False
    Order.objects.filter(pk=order_id).update(
        confirmation_sent_at=timezone.now(), confirmation_claimed_until=None
    )
    return True


def _claim(order_id: int, lease: str | None) -> bool:
    """Take the send in one conditional UPDATE: of two at once, the second
    waits on the row lock, then finds the claim taken."""
    now = timezone.now()
    free = Q(confirmation_claimed_until__isnull=True) | Q(confirmation_claimed_until__lt=now)
    if lease:
        free |= Q(confirmation_claimed_until=datetime.fromisoformat(lease))
    return bool(
        Order.objects.filter(
            free, pk=order_id, status=Order.Status.PAID, confirmation_sent_at__isnull=True
        ).update(confirmation_claimed_until=now + claim_ttl())
    )


def due_confirmations(now: datetime | None = None):
    """Paid orders whose confirmation is unsent and free to send again."""
    now = now or timezone.now()
    return Order.objects.filter(
        Q(confirmation_claimed_until__isnull=True) | Q(confirmation_claimed_until__lt=now),
        status=Order.Status.PAID,
        confirmation_sent_at__isnull=True,
        paid_at__gte=now - RETRY_WINDOW,
    )


def queue_due_confirmations(now: datetime | None = None, limit: int = 50) -> int:
    """The sweep's part: queue each due confirmation once per ``RETRY_DELAY``.

    Each order is leased first (its claim moved forward, one conditional
    UPDATE), so a sweep that runs again before the worker has sent it, or
    two sweeps at once, queue it once; the task carries the lease and may
    claim over it. Returns how many were queued."""
    now = now or timezone.now()
    lease = now + RETRY_DELAY
    queued = 0
    for order_id in due_confirmations(now).values_list("pk", flat=True)[:limit]:
        if due_confirmations(now).filter(pk=order_id).update(confirmation_claimed_until=lease):
            send_order_confirmation(order_id, lease)
            queued += 1
    return queued


# --- paid twice ------------------------------------------------------------------------
def send_paid_twice_notice(order_id: int) -> None:
    """Queue the shopper's "we received two payments" e-mail (after the
    commit that flagged the second payment; once per flagged payment)."""
    from .tasks import send_paid_twice_notice as task

    try:
        task.apply_async((order_id,))
    except Exception as exc:
        log.warning("paid-twice notice of order %s not queued (%s)", order_id, type(exc).__name__)


def deliver_paid_twice_notice(order_id: int) -> bool:
    """Tell the shopper plainly that a second payment arrived and will come back."""
    return _send_text_mail(
        order_id,
        gettext_noop("Commande %(number)s : deux paiements reçus, le second vous sera rendu"),
        "shop/email/paid_twice.txt",
    )


def _send_text_mail(order_id: int, subject: str, template: str) -> bool:
    """A plain-text e-mail to an order's shopper, in the order's language; a
    failure is logged (never raised), True when it left."""
    try:
        order = Order.objects.get(pk=order_id)
        subject, text = _render_order_mail(order, subject, template)
        EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [order.email]).send()
        return True
    except Exception:
        log.exception("%s for order %s not sent", template, order_id)
        return False


# --- staff alerts and the shipped e-mail --------------------------------------------
def alert_staff(subject: str, body: str) -> None:
    """Tell staff about money that needs a human (mismatch, late success).

    Logged at once, e-mailed by the worker: this runs in money paths (the
    return view, a poll), which must not wait on the mail server."""
    log.warning("staff alert: %s", subject)
    if not settings.SHOP_ALERT_EMAILS:
        return
    from .tasks import alert_staff as task

    try:
        task.apply_async((subject, body))
    except Exception as exc:
        log.warning("staff alert not queued (%s); it is in the log", type(exc).__name__)


def deliver_staff_alert(subject: str, body: str) -> bool:
    """Send a staff alert now (the worker's half of ``alert_staff``)."""
    try:
        EmailMultiAlternatives(
            f"[{settings.SHOP_NAME}] {subject}",
            body,
            settings.DEFAULT_FROM_EMAIL,
            settings.SHOP_ALERT_EMAILS,
        ).send()
        return True
    except Exception:
        log.exception("staff alert not sent")
        return False


def send_order_shipped(order_id: int) -> bool:
    """Tell the shopper their order has left (called after the move to
    "shipped" commits, so no lock is held; a staff action, not a money path,
    so it is sent in the request, within ``EMAIL_TIMEOUT``). A failure is
    logged: the order is shipped anyway."""
    return _send_text_mail(
        order_id,
        gettext_noop("Votre commande %(number)s est expédiée"),
        "backoffice/email/order_shipped.txt",
    )


def deliver_delivery_notice(order_id: int, event: str) -> bool:
    """A delivery step (``shop.notify.EVENTS``) e-mailed to the shopper, with
    the delivery option, fee, delay and pickup point; logged on failure."""
    from .notify import EVENTS

    try:
        order = Order.objects.get(pk=order_id)
        with translation.override(order.language or settings.LANGUAGE_CODE):
            headline = str(EVENTS[event]) % {"number": order.number}
            context = {
                "order": order,
                "headline": headline,
                "lines": list(order.lines.all()),
                "site_url": settings.SITE_URL,
                "shop_name": settings.SHOP_NAME,
            }
            text = render_to_string("shop/email/delivery_notice.txt", context)
        EmailMultiAlternatives(headline, text, settings.DEFAULT_FROM_EMAIL, [order.email]).send()
        return True
    except Exception:
        log.exception("delivery notice %s for order %s not sent", event, order_id)
        return False
