"""How staff move an order after checkout, written once as data.

``TRANSITIONS`` is the whole rule: (from, to) → who may ask for it. ``move``
is the only function that applies one: it locks the order row (the first
lock of every money path, so it never deadlocks with the payments), checks
the table, does the side effects of the move and records an ``OrderEvent``.
Every other move is refused with a message staff can read.

Payments move orders too (pending → paid, expired…) through
``payments.services``; those are the shopper's and the provider's moves, not
staff's, and are not in this table.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from . import services
from .models import Order

S = Order.Status
STAFF = "staff"
REFUND = "refund"  # only the refund service, once the money is back

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.PAID, S.SHIPPED): STAFF,
    (S.SHIPPED, S.DELIVERED): STAFF,
    (S.PENDING_PAYMENT, S.CANCELLED): STAFF,
    # A paid order is cancelled only by refunding it in full.
    (S.PAID, S.CANCELLED): REFUND,
    (S.SHIPPED, S.CANCELLED): REFUND,
    (S.DELIVERED, S.CANCELLED): REFUND,
}


class MoveRefused(Exception):
    """A move the table does not allow; ``message`` is for staff."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def allowed_moves(status: str, actor: str = STAFF) -> list[str]:
    return [to for (frm, to), who in TRANSITIONS.items() if frm == status and who == actor]


def check(status: str, to: str, actor: str = STAFF) -> None:
    """Raise MoveRefused unless ``actor`` may move an order from ``status`` to ``to``."""
    who = TRANSITIONS.get((status, to))
    if who == actor:
        return
    label, target = S(status).label, S(to).label
    if who == REFUND:
        raise MoveRefused(
            _("Une commande « %(from)s » ne s'annule que par un remboursement complet.")
            % {"from": label}
        )
    allowed = ", ".join(str(S(x).label) for x in allowed_moves(status, actor)) or _("aucun")
    raise MoveRefused(
        _(
            "Impossible de passer une commande « %(from)s » à « %(to)s ». Mouvements possibles : "
            "%(allowed)s."
        )
        % {"from": label, "to": target, "allowed": allowed}
    )


def move(order: Order | int, to: str, by=None, note: str = "", actor: str = STAFF) -> Order:
    """Move an order to ``to`` under its row lock; returns the locked, updated order.

    Cancelling an unpaid order ends any open payment attempt (it stays
    watched: money arriving later is flagged) and gives its stock back once.
    Marking it shipped e-mails the shopper after commit."""
    from backoffice.models import OrderEvent  # staff records live in backoffice

    order_id = order.pk if isinstance(order, Order) else order
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order_id)
        frm = locked.status
        check(frm, to, actor)
        if to == S.CANCELLED and frm == S.PENDING_PAYMENT:
            _end_open_attempts(locked)
            services.release_stock(locked, S.CANCELLED)
        else:
            locked.status = to
            locked.save(update_fields=["status", "updated_at"])
        OrderEvent.objects.create(
            order=locked, from_status=frm, to_status=to, by=by, note=note[:500]
        )
        if to == S.SHIPPED:
            from .emails import send_order_shipped

            transaction.on_commit(lambda: send_order_shipped(order_id))
    return locked


def _end_open_attempts(order: Order) -> None:
    """Cancel every live attempt (the caller holds the order lock, taken
    first as in ``payments.services``)."""
    from payments.models import PaymentStatus
    from payments.services import cancel_payment

    for payment_id in order.payments.filter(status=PaymentStatus.PENDING).values_list(
        "pk", flat=True
    ):
        cancel_payment(payment_id, reason="order cancelled by staff")
