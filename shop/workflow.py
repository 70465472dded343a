"""The one owner of an order's status (django-oscar's ``Order.pipeline`` +
``set_status``, with actors).

``TRANSITIONS`` is the whole rule: (from, to) → the actors that may make the
move. ``set_status`` is the only code that writes ``Order.status``: the
caller holds the order row lock (``shop.locks``, the first lock of every
money path); it checks the table, writes the status (and ``paid_at`` on the
way to "paid") and records an ``OrderEvent`` with the actor, who and why.
Every other move raises ``MoveRefused`` with a message staff can read.

Actors:

* ``payment``: what a provider said about an attempt (paid, expired);
* ``expiry``: the sweep ending an unpaid order whose stock hold ran out;
* ``review``: staff honouring money that arrived outside the happy path;
* ``refund``: a refund that gave back everything paid;
* ``staff``: the order workflow in the admin (shipped, delivered, cancel unpaid);
* ``shopper``: a new payment attempt on an expired order (its stock held again),
  an order placed to be paid on delivery;
* ``delivery``: money collected at the door or pickup point, the parcel handed over.

``move`` is staff's entry point: it locks the order, does the side effects
of the move (an unpaid order cancelled ends its attempts and gives its stock
back once) and calls ``set_status``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .locks import lock_order
from .models import Order, OrderEvent

S = Order.Status
A = OrderEvent.Actor
PAYMENT, EXPIRY, REVIEW, REFUND, STAFF, SHOPPER, DELIVERY = (
    A.PAYMENT,
    A.EXPIRY,
    A.REVIEW,
    A.REFUND,
    A.STAFF,
    A.SHOPPER,
    A.DELIVERY,
)

TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.PENDING_PAYMENT, S.PAID): frozenset({PAYMENT, REVIEW}),
    (S.PENDING_PAYMENT, S.EXPIRED): frozenset({PAYMENT, EXPIRY}),
    (S.PENDING_PAYMENT, S.CANCELLED): frozenset({STAFF}),
    # An expired order is payable again once its stock is held again.
    (S.EXPIRED, S.PENDING_PAYMENT): frozenset({SHOPPER, PAYMENT, REVIEW}),
    # Money that arrived for a cancelled order is honoured by staff only.
    (S.CANCELLED, S.PENDING_PAYMENT): frozenset({REVIEW}),
    # Pay on delivery: placed "to confirm" (stock held longer), confirmed or
    # cancelled by staff after a call, paid at the door (``delivery``) or
    # online from the order page at any time (``payment``).
    (S.PENDING_PAYMENT, S.TO_CONFIRM): frozenset({SHOPPER}),
    (S.TO_CONFIRM, S.CONFIRMED): frozenset({STAFF}),
    (S.TO_CONFIRM, S.CANCELLED): frozenset({STAFF}),
    (S.CONFIRMED, S.CANCELLED): frozenset({STAFF}),
    (S.TO_CONFIRM, S.EXPIRED): frozenset({EXPIRY}),
    (S.TO_CONFIRM, S.PAID): frozenset({PAYMENT, REVIEW, DELIVERY}),
    (S.CONFIRMED, S.PAID): frozenset({PAYMENT, REVIEW, DELIVERY}),
    (S.PAID, S.SHIPPED): frozenset({STAFF}),
    (S.SHIPPED, S.DELIVERED): frozenset({STAFF, DELIVERY}),
    # Handed over at a pickup point, or paid at the door on arrival.
    (S.PAID, S.DELIVERED): frozenset({STAFF, DELIVERY}),
    # A paid order is cancelled only by refunding it in full.
    (S.PAID, S.CANCELLED): frozenset({REFUND}),
    (S.SHIPPED, S.CANCELLED): frozenset({REFUND}),
    (S.DELIVERED, S.CANCELLED): frozenset({REFUND}),
}


# Unpaid orders whose stock is held: cancelling one gives its stock back once.
UNPAID_HOLDING = frozenset({S.PENDING_PAYMENT, S.TO_CONFIRM, S.CONFIRMED})

# Unpaid orders the sweep expires when their hold runs out (a confirmed
# pay-on-delivery order is on its way: only staff cancel it).
EXPIRABLE = frozenset({S.PENDING_PAYMENT, S.TO_CONFIRM})


class MoveRefused(Exception):
    """A move the table does not allow; ``message`` is for staff."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def allowed_moves(status: str, actor: str = STAFF) -> list[str]:
    return [to for (frm, to), who in TRANSITIONS.items() if frm == status and actor in who]


def may_move(status: str, to: str, actor: str) -> bool:
    return actor in TRANSITIONS.get((status, to), ())


def check(status: str, to: str, actor: str = STAFF) -> None:
    """Raise MoveRefused unless ``actor`` may move an order from ``status`` to ``to``."""
    who = TRANSITIONS.get((status, to), frozenset())
    if actor in who:
        return
    label, target = S(status).label, S(to).label
    if REFUND in who:
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


def set_status(order: Order, to: str, actor: str, by=None, note: str = "") -> bool:
    """Move a locked order to ``to`` as ``actor``; False when it is already
    there (nothing written). Raises MoveRefused for a move the table refuses."""
    frm = order.status
    if frm == to:
        return False
    check(frm, to, actor)
    order.status = to
    fields = ["status", "updated_at"]
    if to == S.PAID and not order.paid_at:
        order.paid_at = timezone.now()
        fields.append("paid_at")
    order.save(update_fields=fields)
    OrderEvent.objects.create(
        order=order, from_status=frm, to_status=to, actor=actor, by=by, note=note[:500]
    )
    return True


def note(order: Order, text: str, actor: str, by=None) -> OrderEvent:
    """Record something that happened to an order without a move (stock given back)."""
    return OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        actor=actor,
        by=by,
        note=text[:500],
    )


def move(order: Order | int, to: str, by=None, note: str = "", actor: str = STAFF) -> Order:
    """Staff move an order to ``to`` under its row lock; returns the locked, updated order.

    Cancelling an unpaid order ends any open payment attempt (it stays
    watched: money arriving later is flagged) and gives its stock back once.
    Marking it shipped e-mails the shopper after commit."""
    from . import services

    order_id = order.pk if isinstance(order, Order) else order
    with transaction.atomic():
        locked = lock_order(order_id)
        frm = locked.status
        check(frm, to, actor)
        if to == S.CANCELLED and frm in UNPAID_HOLDING:
            _end_open_attempts(locked)
            locked.refresh_from_db()
            services.release_stock(locked)
        set_status(locked, to, actor, by=by, note=note)
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
