"""Pay on delivery chosen after the checkout, from the pay page.

When every mobile-money route is down (or none is offered), the pay page is
otherwise a dead end: "try the least bad one, or come back later". If the
order's delivery option takes pay on delivery for its total, the shopper
may switch to it there, exactly as if she had chosen it at the checkout:
the order waits for staff's call ("À confirmer", stock held
``SHOP_COD_HOLD``), and the view sends the same notice.

Refused, with the reason in her words, while a payment attempt is still
pending (it may still reach her phone: its end decides), once the order is
no longer waiting for payment, or when the option (as it is now) does not
take pay on delivery for this total.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import delivery, services, workflow
from .locks import lock_order
from .models import Order


class Refused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def refusal(order: Order, table: delivery.Table | None = None) -> str:
    """Why this order may not switch to pay on delivery now, or "" (read
    without a lock: the page's offer; ``switch`` checks again under it)."""
    if order.status != Order.Status.PENDING_PAYMENT or order.pay_on_delivery:
        return _("Cette commande n'attend plus de paiement.")
    if order.currency != settings.SHOP_CURRENCY or order.delivery_option_id is None:
        return _("Le paiement à la livraison n'est pas proposé pour cette commande.")
    table = table if table is not None else delivery.table()
    rate = next((r for r in table.rates if r.id == order.delivery_option_id), None)
    if rate is None:
        return _("Le paiement à la livraison n'est pas proposé pour cette commande.")
    return delivery.cod_refusal(rate, order.total)


def switch(order_id: int) -> Order:
    """Move a pending-payment order to pay on delivery (under its lock);
    raises ``Refused`` with the shopper's reason, or ``services.OutOfStock``
    when its stock went meanwhile and cannot be held again."""
    with transaction.atomic():
        order = lock_order(order_id)
        if reason := refusal(order):
            raise Refused(reason)
        if order.payments.filter(status="pending").exists():
            raise Refused(
                _(
                    "Un paiement est encore en cours pour cette commande : attendez sa fin "
                    "avant de choisir le paiement à la livraison."
                )
            )
        services.reserve_stock_again(order, workflow.SHOPPER)
        order.pay_on_delivery = True
        order.reserved_until = timezone.now() + timedelta(seconds=settings.SHOP_COD_HOLD)
        order.save(update_fields=["pay_on_delivery", "reserved_until", "updated_at"])
        workflow.set_status(
            order,
            Order.Status.TO_CONFIRM,
            workflow.SHOPPER,
            note=_("paiement à la livraison choisi sur la page de paiement"),
        )
    return order
