"""Telling the shopper where her order is: one small interface.

``notify(order, event)`` hands a delivery step to the backend named by
SHOP_NOTIFY_BACKEND, after the step's transaction commits (never under a
lock). ``EmailBackend`` queues an e-mail for the Celery worker;
``LogBackend`` keeps what it was given (tests, or a shop without mail). An
SMS or WhatsApp gateway is one more class with a ``send`` method, plugged
in by that setting.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .models import Order

log = logging.getLogger(__name__)

# The delivery steps a shopper hears about, with what the message says.
EVENTS = {
    "placed": _(
        "Votre commande %(number)s est enregistrée : nous vous appelons pour la confirmer."
    ),
    "confirmed": _("Votre commande %(number)s est confirmée : nous préparons votre colis."),
    "shipped": _("Votre commande %(number)s est en route."),
    "ready_for_pickup": _("Votre commande %(number)s vous attend au point de retrait."),
    "delivered": _("Votre commande %(number)s est livrée. Merci !"),
}


class EmailBackend:
    """Queue an e-mail to the order's address (sent by the worker)."""

    def send(self, order_id: int, event: str) -> None:
        from .tasks import send_delivery_notice

        try:
            send_delivery_notice.apply_async((order_id, event))
        except Exception as exc:  # a broker outage must not undo a delivery step
            log.warning("delivery notice %s for order %s not queued (%s)", event, order_id, exc)


class LogBackend:
    """Log the notice and keep it in ``sent`` (tests read it)."""

    sent: list[tuple[int, str]] = []

    def send(self, order_id: int, event: str) -> None:
        log.info("delivery notice %s for order %s", event, order_id)
        LogBackend.sent.append((order_id, event))


def backend():
    return import_string(settings.SHOP_NOTIFY_BACKEND)()


def notify(order: Order, event: str) -> None:
    """Tell the shopper about ``event`` (one of ``EVENTS``) once the current
    transaction commits."""
    if event not in EVENTS:
        raise ValueError(f"unknown delivery event {event!r}")
    order_id = order.pk
    transaction.on_commit(lambda: backend().send(order_id, event))
