"""The review queue: everything flagged, oldest first, and its resolutions.

Items: payments flagged ``needs_review`` (late money, mismatched amounts, a
second success), refunds that failed or need a look, and unresolved
reconciliation mismatches. Each resolution (refund, fulfil, close) is
written under the order lock and journalled with who and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from payments.models import Payment, PaymentEvent
from payments.services import record
from shop import services as shop_services
from shop.emails import send_order_confirmation
from shop.models import Order

from . import refunds
from .models import OrderEvent, ReconciliationMismatch, Refund, RefundEvent, Resolution


@dataclass
class Item:
    kind: str  # payment | refund | mismatch
    pk: int
    at: datetime
    order: Order
    payment: Payment
    reason: str
    evidence: list


def queue() -> list[Item]:
    items = []
    for p in (
        Payment.objects.filter(needs_review=True).select_related("order").prefetch_related("events")
    ):
        items.append(
            Item(
                "payment",
                p.pk,
                p.updated_at,
                p.order,
                p,
                p.review_reason,
                list(p.events.all())[-8:],
            )
        )
    for r in (
        Refund.objects.filter(needs_review=True)
        .select_related("order", "payment")
        .prefetch_related("events")
    ):
        items.append(
            Item(
                "refund",
                r.pk,
                r.updated_at,
                r.order,
                r.payment,
                r.review_reason,
                list(r.events.all())[-8:],
            )
        )
    for m in ReconciliationMismatch.objects.filter(resolved_at__isnull=True).select_related(
        "payment__order"
    ):
        items.append(
            Item(
                "mismatch",
                m.pk,
                m.found_at,
                m.payment.order,
                m.payment,
                f"{m.get_kind_display()} : {m.ours} / {m.theirs}",
                [m.evidence],
            )
        )
    return sorted(items, key=lambda i: i.at)


class ResolutionRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def resolve(
    kind: str, pk: int, action: str, note: str, by, amount: int | None = None
) -> Resolution:
    """Resolve one queue item. ``refund`` asks a refund of ``amount`` (all
    that is left by default) and sends it; ``fulfil`` marks the order paid
    once, re-reserving its stock if it can; ``close`` only records the note."""
    note = (note or "").strip()
    if not note:
        raise ResolutionRefused(_("Une note est obligatoire."))
    target = _target(kind, pk)
    payment = target if kind == "payment" else target.payment
    refund = None
    if action == Resolution.Action.REFUND:
        left = refunds.refundable(payment).left
        try:
            refund = refunds.request_refund(payment.pk, amount or left, note, by=by)
        except refunds.RefundRefused as exc:
            raise ResolutionRefused(exc.message) from None
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=payment.order_id)
        if action == Resolution.Action.FULFIL:
            _fulfil(order, payment, by, note)
        resolution = Resolution.objects.create(
            action=action,
            note=note,
            by=by,
            **{
                "payment": payment if kind == "payment" else None,
                "refund": target if kind == "refund" else None,
                "mismatch": target if kind == "mismatch" else None,
            },
        )
        _close(kind, target, by, action, note)
    if refund is not None and refund.status == Refund.Status.REQUESTED:
        refunds.send_refund(refund.pk)
    return resolution


def _target(kind: str, pk: int):
    model = {"payment": Payment, "refund": Refund, "mismatch": ReconciliationMismatch}.get(kind)
    if model is None:
        raise ResolutionRefused(_("Élément inconnu."))
    return model.objects.get(pk=pk)


def _fulfil(order: Order, payment: Payment, by, note: str) -> None:
    """Mark the locked order paid on money the provider holds. The payment
    keeps its status (an ended attempt stays ended: ``payments.services``
    alone moves payments), so the move is journalled here, on the order
    (an ``OrderEvent`` with who and the note) and on the payment; the
    shopper's confirmation goes after commit, once (``confirmation_sent_at``
    under the order lock; the payment sweep retries a failed send)."""
    frm = order.status
    if not refunds.money_received(payment):
        raise ResolutionRefused(_("Ce paiement n'a pas été encaissé : rien à honorer."))
    if order.status != Order.Status.PENDING_PAYMENT and order.paid_at:
        raise ResolutionRefused(
            _("Cette commande est déjà payée : remboursez ce paiement en double.")
        )
    if not order.stock_reserved:
        try:
            shop_services.reserve_stock_again(order)
        except shop_services.OutOfStock as exc:
            raise ResolutionRefused(
                _("Impossible d'honorer : %(why)s Réapprovisionnez ou remboursez.")
                % {"why": exc.message}
            ) from None
    if not shop_services.mark_paid(order):
        return
    OrderEvent.objects.create(
        order=order,
        from_status=frm,
        to_status=Order.Status.PAID,
        by=by,
        note=(_("examen : commande honorée — %(note)s") % {"note": note})[:500],
    )
    record(
        payment,
        payment.provider,
        PaymentEvent.Kind.DECISION,
        f"order {order.number} marked paid by staff from the review queue; payment stays "
        f"{payment.status}",
        {"order_status_before": frm, "note": note[:300]},
    )
    order_id = order.pk
    transaction.on_commit(lambda: send_order_confirmation(order_id))


def _close(kind: str, target, by, action: str, note: str) -> None:
    who = getattr(by, "get_username", lambda: "?")()
    message = f"review resolved by {who}: {action}"
    if kind == "payment":
        locked = Payment.objects.select_for_update().get(pk=target.pk)
        locked.needs_review = False
        locked.save(update_fields=["needs_review", "updated_at"])
        record(locked, locked.provider, PaymentEvent.Kind.DECISION, message, {"note": note[:300]})
    elif kind == "refund":
        locked = Refund.objects.select_for_update().get(pk=target.pk)
        locked.needs_review = False
        locked.save(update_fields=["needs_review", "updated_at"])
        refunds.journal(locked, RefundEvent.Kind.DECISION, message, {"note": note[:300]}, by=by)
    else:
        ReconciliationMismatch.objects.filter(pk=target.pk).update(resolved_at=timezone.now())
        record(
            target.payment,
            target.provider,
            PaymentEvent.Kind.DECISION,
            message,
            {"mismatch": target.kind, "note": note[:300]},
        )
