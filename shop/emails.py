"""Order e-mails, sent through Django's e-mail backend.

``send_order_confirmation`` is called after the transaction that marked the
order paid has committed; the ``confirmation_sent_at`` flag, set under the
order row lock, makes a second call a no-op (one e-mail per paid order). If
sending fails the flag stays empty and the payment sweep tries again.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import Order

log = logging.getLogger(__name__)


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


def send_order_confirmation(order_id: int) -> bool:
    """Send the paid-order confirmation once; True when this call sent it."""
    try:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            if order.status != Order.Status.PAID or order.confirmation_sent_at:
                return False
            subject, text, html = render_confirmation(order)
            message = EmailMultiAlternatives(
                subject, text, settings.DEFAULT_FROM_EMAIL, [order.email]
            )
            message.attach_alternative(html, "text/html")
            message.send()
            order.confirmation_sent_at = timezone.now()
            order.save(update_fields=["confirmation_sent_at"])
            return True
    except Exception:
        log.exception("confirmation e-mail for order %s not sent; the sweep will retry", order_id)
        return False


def alert_staff(subject: str, body: str) -> None:
    """Tell staff about money that needs a human (mismatch, late success)."""
    log.warning("staff alert: %s", subject)
    if settings.SHOP_ALERT_EMAILS:
        try:
            EmailMultiAlternatives(
                f"[{settings.SHOP_NAME}] {subject}",
                body,
                settings.DEFAULT_FROM_EMAIL,
                settings.SHOP_ALERT_EMAILS,
            ).send()
        except Exception:
            log.exception("staff alert not sent")


def send_order_shipped(order_id: int) -> bool:
    """Tell the shopper their order has left (called after the move to
    "shipped" commits). A failure is logged: the order is shipped anyway."""
    try:
        order = Order.objects.get(pk=order_id)
        subject, text = _render_order_mail(
            order,
            gettext_noop("Votre commande %(number)s est expédiée"),
            "backoffice/email/order_shipped.txt",
        )
        EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [order.email]).send()
        return True
    except Exception:
        log.exception("shipped e-mail for order %s not sent", order_id)
        return False
