"""The review queue: everything flagged, and its resolutions.

Items: payments flagged ``needs_review`` (late money, mismatched amounts, a
second success), refunds that failed or need a look, and unresolved
reconciliation mismatches; a second payment for an order already paid comes
first (the shopper is owed money), then the oldest. Each resolution
(refund, fulfil, close) is written under the order lock, once per form
(``request_key``), and journalled with who and when. Every decision here
reads typed facts — the payment's ``received_*`` amounts and its
``review_code`` — never the free text beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from payments.models import Payment, PaymentEvent, ReviewCode
from payments.services import record
from shop import services as shop_services
from shop import workflow
from shop.emails import send_order_confirmation
from shop.locks import lock_child, lock_order
from shop.models import Order

from . import refunds
from .models import ReconciliationMismatch, Refund, RefundEvent, Resolution

FIRST = (ReviewCode.SECOND_SUCCESS,)


@dataclass
class Item:
    kind: str  # payment | refund | mismatch
    pk: int
    at: datetime
    order: Order
    payment: Payment
    code: str  # a ReviewCode (empty for a mismatch)
    reason: str
    evidence: list

    @property
    def code_label(self) -> str:
        return str(ReviewCode(self.code).label) if self.code in ReviewCode.values else ""

    @property
    def urgent(self) -> bool:
        return self.code in FIRST


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
                p.review_code,
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
                r.review_code,
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
                "",
                f"{m.get_kind_display()} : {m.ours} / {m.theirs}",
                [m.evidence],
            )
        )
    return sorted(items, key=lambda i: (not i.urgent, i.at))


class ResolutionRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


MODELS = {"payment": Payment, "refund": Refund, "mismatch": ReconciliationMismatch}


def resolve(
    kind: str,
    pk: int,
    action: str,
    note: str,
    by,
    amount: int | None = None,
    request_key: str | None = None,
    collected: int | None = None,
    collected_how: str = "",
) -> Resolution:
    """Resolve one queue item, once. ``refund`` asks a refund of ``amount``
    (all that is left of what the provider reported receiving, by default)
    and sends it; ``fulfil`` marks the order paid once, re-reserving its
    stock if it can (a short payment only with the shortfall ``collected``
    another way, said ``collected_how``); ``close`` only records the note.
    A second submit of the same form (``request_key``) returns the first
    resolution; an item already resolved is refused."""
    note = (note or "").strip()
    if not note:
        raise ResolutionRefused(_("Une note est obligatoire."))
    if action not in Resolution.Action.values:
        raise ResolutionRefused(_("Action inconnue."))
    if request_key and (done := Resolution.objects.filter(request_key=request_key).first()):
        if getattr(done, f"{kind}_id", None) != pk:
            raise ResolutionRefused(_("Ce formulaire a déjà servi : rechargez la page."))
        return done
    target = _target(kind, pk)
    payment = target if kind == "payment" else target.payment
    _still_open(kind, target)
    refund = None
    try:
        with transaction.atomic():
            order = lock_order(payment.order_id)
            locked = lock_child(MODELS[kind], target.pk)
            _still_open(kind, locked)
            if action == Resolution.Action.REFUND:
                # In this transaction: an item resolved meanwhile leaves no refund behind.
                left = refunds.refundable(payment).left
                try:
                    refund = refunds.request_refund(
                        payment.pk, amount or left, note, by=by, request_key=request_key
                    )
                except refunds.RefundRefused as exc:
                    raise ResolutionRefused(exc.message) from None
            if action == Resolution.Action.FULFIL:
                _fulfil(order, lock_child(Payment, payment.pk), by, note, collected, collected_how)
            resolution = Resolution.objects.create(
                action=action,
                note=note,
                by=by,
                request_key=request_key,
                collected_amount=collected if action == Resolution.Action.FULFIL else None,
                collected_how=collected_how[:120] if action == Resolution.Action.FULFIL else "",
                **{
                    "payment": payment if kind == "payment" else None,
                    "refund": locked if kind == "refund" else None,
                    "mismatch": locked if kind == "mismatch" else None,
                },
            )
            _close(kind, locked, by, action, note)
    except IntegrityError:  # the same form, submitted twice at once
        done = Resolution.objects.filter(request_key=request_key).first() if request_key else None
        if done is None:
            raise
        return done
    if refund is not None and refund.status == Refund.Status.REQUESTED:
        refunds.send_refund(refund.pk)
    return resolution


def _target(kind: str, pk: int):
    model = MODELS.get(kind)
    if model is None:
        raise ResolutionRefused(_("Élément inconnu."))
    return model.objects.get(pk=pk)  # DoesNotExist: the view answers 404


def _still_open(kind: str, target) -> None:
    done = target.resolved_at is not None if kind == "mismatch" else not target.needs_review
    if done:
        raise ResolutionRefused(_("Cet élément a déjà été résolu."))


def _fulfil(
    order: Order, payment: Payment, by, note: str, collected: int | None, collected_how: str
) -> None:
    """Mark the locked order paid on money the provider reported holding.
    The payment keeps its status (an ended attempt stays ended:
    ``payments.services`` alone moves payments); the move is an
    ``OrderEvent`` (actor "review", who, the note) and a payment journal
    line. A short payment is honoured only with the shortfall collected
    another way, recorded; money in another currency, or of an unknown
    amount, never. The shopper's confirmation goes after commit, once."""
    frm = order.status
    if not payment.money_received:
        raise ResolutionRefused(_("Ce paiement n'a pas été encaissé : rien à honorer."))
    if order.paid_at:
        raise ResolutionRefused(
            _("Cette commande est déjà payée : remboursez ce paiement en double.")
        )
    got, currency = payment.received_amount, payment.received_currency
    if got is None or currency != order.currency:  # another currency, or none reported
        raise ResolutionRefused(
            _(
                "Le prestataire n'a pas indiqué de montant reçu en %(cur)s : vérifiez chez lui "
                "avant d'honorer."
            )
            % {"cur": order.currency}
        )
    # Money refunded or on its way back (counted under this order lock) is not held.
    got -= min(got, refunds.refunded_amount(payment.pk))
    shortfall = max(order.total - got, 0)
    if shortfall:
        if collected != shortfall or not collected_how.strip():
            raise ResolutionRefused(
                _(
                    "Paiement incomplet : reçu %(got)s %(cur)s sur %(total)s. Pour honorer, "
                    "encaissez le reste (%(short)s %(cur)s) autrement, puis indiquez ce montant "
                    "et comment il a été encaissé."
                )
                % {"got": got, "total": order.total, "short": shortfall, "cur": order.currency}
            )
    try:
        shop_services.reserve_stock_again(order, workflow.REVIEW, by=by)
    except shop_services.OutOfStock as exc:
        raise ResolutionRefused(
            _("Impossible d'honorer : %(why)s Réapprovisionnez ou remboursez.")
            % {"why": exc.message}
        ) from None
    except workflow.MoveRefused as exc:
        raise ResolutionRefused(exc.message) from None
    text = _("examen : commande honorée — %(note)s") % {"note": note}
    if shortfall:
        text += " " + _("(complément de %(n)s %(cur)s encaissé : %(how)s)") % {
            "n": shortfall,
            "cur": order.currency,
            "how": collected_how,
        }
    if not shop_services.mark_paid(order, workflow.REVIEW, by=by, note=text):
        return
    record(
        payment,
        payment.provider,
        PaymentEvent.Kind.DECISION,
        f"order {order.number} marked paid by staff from the review queue; payment stays "
        f"{payment.status}",
        {
            "order_status_before": frm,
            "received": got,
            "shortfall_collected": shortfall or None,
            "by": getattr(by, "pk", None),
            "note": note[:300],
        },
    )
    order_id = order.pk
    transaction.on_commit(lambda: send_order_confirmation(order_id))


def _close(kind: str, target, by, action: str, note: str) -> None:
    who = getattr(by, "get_username", lambda: "?")()
    message = f"review resolved by {who}: {action}"
    if kind == "payment":
        target.needs_review = False
        target.save(update_fields=["needs_review", "updated_at"])
        record(target, target.provider, PaymentEvent.Kind.DECISION, message, {"note": note[:300]})
    elif kind == "refund":
        target.needs_review = False
        target.save(update_fields=["needs_review", "updated_at"])
        refunds.journal(target, RefundEvent.Kind.DECISION, message, {"note": note[:300]}, by=by)
    else:
        target.resolved_at = timezone.now()
        target.save(update_fields=["resolved_at"])
        record(
            target.payment,
            target.provider,
            PaymentEvent.Kind.DECISION,
            message,
            {"mismatch": target.kind, "note": note[:300]},
        )
