"""Refunds: the only code that creates or moves a ``Refund``.

Rules callers can rely on:

* Lock order: the order row, then the refund row (``select_for_update``), as
  ``payments.services`` locks the order before a payment. No lock is held
  during a provider call.
* Never more than paid: a refund is created under the order lock, after
  summing what is already refunded or on its way (requested, pending,
  succeeded) for that payment; two staff clicking at once give one refund
  (the second sees the first, or the same ``request_key``).
* Never sent twice: the one call that sets ``sent_at`` under lock sends it.
  Novasend replays a lost answer with the same ``X-Idempotency-Key`` (our
  ``reference``); Ligdicash's payout has no key, so a lost answer is flagged
  for a human, never re-sent.
* Forward only: ``requested → pending → succeeded | failed``; a final refund
  never changes. Every request, answer and decision is journalled.
* A refund that empties what was paid cancels the order (``shop.workflow``,
  actor "refund"). Stock comes back only when staff say the goods did
  (``restock_returned``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from payments.models import Payment, PaymentStatus
from payments.providers import get_provider
from payments.providers.base import Outcome, PaymentView, ProviderError, StatusResult
from payments.redaction import credentials_of, scrub
from shop import services as shop_services
from shop import workflow
from shop.models import Order

from .models import OrderEvent, Refund, RefundEvent

log = logging.getLogger(__name__)

# Providers with a refund API in their module (``refund`` / ``refund_status``).
API_PROVIDERS = ("ligdicash", "novasend")
# Providers whose refund call carries an idempotency key: safe to replay.
REPLAYABLE = ("novasend",)
COUNTED = (Refund.Status.REQUESTED, Refund.Status.PENDING, Refund.Status.SUCCEEDED)
# A send claimed this long ago without an answer is an unknown outcome.
SEND_TIMEOUT = timedelta(minutes=2)
POLL_DELAYS = (5, 10, 30, 60, 120, 300)
POLL_LIMIT = timedelta(days=3)


class RefundRefused(Exception):
    """A refund staff may not make; ``message`` is for them."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Refundable:
    payment: Payment
    paid: int
    refunded: int

    @property
    def left(self) -> int:
        return max(self.paid - self.refunded, 0)


def money_received(payment: Payment) -> bool:
    """True when the provider holds this payment's money: a success, or a
    success reported after the attempt ended (flagged, status unchanged),
    still in the review queue or resolved there by fulfilling the order or
    refunding it (the payment keeps its status: only staff's resolution
    says the money was taken)."""
    if payment.status == PaymentStatus.SUCCEEDED:
        return True
    if "success" not in payment.review_reason:
        return False
    return (
        payment.needs_review or payment.resolutions.filter(action__in=("fulfil", "refund")).exists()
    )


def refunded_amount(payment_id: int) -> int:
    return (
        Refund.objects.filter(payment_id=payment_id, status__in=COUNTED).aggregate(n=Sum("amount"))[
            "n"
        ]
        or 0
    )


def refundable(payment: Payment) -> Refundable:
    return Refundable(
        payment, payment.amount if money_received(payment) else 0, refunded_amount(payment.pk)
    )


def paid_payments(order: Order) -> list[Payment]:
    return [p for p in order.payments.all() if money_received(p)]


def journal(
    refund: Refund, kind: str, message: str, data: dict | None = None, by=None
) -> RefundEvent:
    return RefundEvent.objects.create(
        refund=refund, kind=kind, message=str(message)[:300], data=data or {}, by=by
    )


def _journal_exchanges(refund: Refund, provider) -> None:
    rows = [
        RefundEvent(
            refund=refund,
            kind=RefundEvent.Kind.REQUEST,
            message=f"{x['method']} {x['url']}"[:300],
            data=x,
        )
        for x in provider.exchanges_for_journal()
    ]
    provider.exchanges.clear()
    if rows:
        RefundEvent.objects.bulk_create(rows)


# --- request ---------------------------------------------------------------------
def request_refund(
    payment_id: int, amount: int, reason: str, by=None, request_key: str | None = None
) -> Refund:
    """Create a refund of ``amount`` of one paid payment, through its provider.

    Raises RefundRefused (over the amount left, below the provider's
    minimum, a provider without a refund API). The request is sent by
    ``send_refund`` (the caller runs it after commit)."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused(_("Indiquez le motif du remboursement."))
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order_id)
        if request_key and (existing := Refund.objects.filter(request_key=request_key).first()):
            return existing
        payment = Payment.objects.get(pk=payment_id)
        if payment.provider not in API_PROVIDERS:
            raise RefundRefused(
                _(
                    "%(name)s ne propose pas de remboursement par API : remboursez hors boutique "
                    "puis enregistrez-le."
                )
                % {"name": payment.provider.capitalize()}
            )
        _check_amount(payment, amount)
        provider = get_provider(payment.provider)
        minimum = getattr(provider, "refund_minimum", 1)
        if amount < minimum:
            raise RefundRefused(
                _(
                    "%(name)s ne rembourse pas moins de %(min)s %(cur)s : remboursez hors boutique "
                    "puis enregistrez-le."
                )
                % {"name": provider.name, "min": minimum, "cur": payment.currency}
            )
        refund = _create_refund(
            payment,
            amount,
            Refund.Channel.PROVIDER,
            reason,
            by,
            request_key,
            payee=payment.payer_phone or payment.order.phone,
        )
        journal(
            refund,
            RefundEvent.Kind.DECISION,
            "refund requested",
            {"amount": amount, "currency": refund.currency, "reason": reason[:300]},
            by=by,
        )
    return refund


def _create_refund(
    payment: Payment, amount: int, channel: str, reason: str, by, request_key: str | None, **fields
) -> Refund:
    """The new ``Refund`` row of one payment; ``fields`` are the channel's own."""
    return Refund.objects.create(
        order_id=payment.order_id,
        payment=payment,
        request_key=request_key,
        channel=channel,
        provider=payment.provider,
        amount=amount,
        currency=payment.currency,
        reason=reason[:300],
        requested_by=by,
        **fields,
    )


def _check_amount(payment: Payment, amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise RefundRefused(_("Le montant doit être un nombre entier positif."))
    state = refundable(payment)
    if state.paid == 0:
        raise RefundRefused(_("Ce paiement n'a pas été encaissé : rien à rembourser."))
    if amount > state.left:
        raise RefundRefused(
            _(
                "Au plus %(left)s %(cur)s peuvent encore être remboursés sur ce paiement (payé "
                "%(paid)s, déjà remboursé ou en cours %(done)s)."
            )
            % {
                "left": state.left,
                "cur": payment.currency,
                "paid": state.paid,
                "done": state.refunded,
            }
        )


def record_outside_refund(
    payment_id: int,
    amount: int,
    method: str,
    external_reference: str,
    note: str,
    by=None,
    request_key: str | None = None,
) -> Refund:
    """Record money staff gave back outside the shop (Lygos, LengoPay,
    DEXCHANGE have no refund API; or any provider by hand). It counts in
    the totals like any refund."""
    if not method.strip() or not external_reference.strip():
        raise RefundRefused(
            _("Indiquez le moyen et la référence du remboursement fait hors boutique.")
        )
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if request_key and (existing := Refund.objects.filter(request_key=request_key).first()):
            return existing
        payment = Payment.objects.get(pk=payment_id)
        _check_amount(payment, amount)
        now = timezone.now()
        refund = _create_refund(
            payment,
            amount,
            Refund.Channel.OUTSIDE,
            note or method,
            by,
            request_key,
            method=method[:60],
            external_reference=external_reference[:120],
            note=note,
            status=Refund.Status.SUCCEEDED,
            finalised_at=now,
        )
        journal(
            refund,
            RefundEvent.Kind.DECISION,
            "refund made outside the shop recorded",
            {"method": method, "external_reference": external_reference},
            by=by,
        )
        _after_success(order, refund)
    return refund


# --- send and check -------------------------------------------------------------------
def send_refund(refund_id: int) -> Refund:
    """Send a requested refund to its provider, once (see the module doc)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if (
            refund.status != Refund.Status.REQUESTED
            or refund.sent_at
            or refund.channel != Refund.Channel.PROVIDER
        ):
            return refund
        refund.sent_at = timezone.now()
        refund.save(update_fields=["sent_at", "updated_at"])
    return _call(refund)


def _call(refund: Refund) -> Refund:
    provider = get_provider(refund.provider)
    view = _payment_view(refund.payment)
    try:
        result = provider.refund(
            str(refund.reference), view, refund.amount, refund.payee, refund.reason
        )
    except ProviderError as exc:
        result = StatusResult(
            Outcome.UNKNOWN, message=scrub(str(exc), credentials_of(provider.config))
        )
    except Exception as exc:  # an answer the module cannot read: the provider may have acted
        log.exception("refund %s: unreadable answer", refund.pk)
        result = StatusResult(
            Outcome.UNKNOWN, message=f"unreadable refund answer ({type(exc).__name__})"
        )
    finally:
        _journal_exchanges(refund, provider)
    return apply_refund_status(refund.pk, result, source="send")


def check_refund(refund_id: int, source: str = "poll") -> Refund:
    """Ask the provider where a refund stands and apply the answer."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.is_final or refund.channel != Refund.Channel.PROVIDER:
        return refund
    if refund.status == Refund.Status.REQUESTED:
        return _requested_without_answer(refund)
    provider = get_provider(refund.provider)
    try:
        result = provider.refund_status(
            str(refund.reference), refund.provider_reference, _payment_view(refund.payment)
        )
    except ProviderError as exc:
        result = StatusResult(
            Outcome.UNKNOWN, message=scrub(str(exc), credentials_of(provider.config))
        )
    except Exception as exc:
        log.exception("refund %s: unreadable status", refund.pk)
        result = StatusResult(Outcome.UNKNOWN, message=f"unreadable status ({type(exc).__name__})")
    finally:
        _journal_exchanges(refund, provider)
    return apply_refund_status(refund.pk, result, source=source)


def _requested_without_answer(refund: Refund) -> Refund:
    """A refund claimed for sending whose answer never came (crash, timeout)."""
    if refund.sent_at is None:
        return send_refund(refund.pk)
    if refund.sent_at > timezone.now() - SEND_TIMEOUT:
        return refund
    if refund.provider in REPLAYABLE:
        return _call(refund)  # same idempotency key: the provider replays, never pays twice
    return flag_refund(
        refund.pk,
        "refund sent without a readable answer and this provider has no idempotency key: check "
        "its back office before anything else",
    )


def _payment_view(payment: Payment) -> PaymentView:
    return PaymentView(
        str(payment.reference),
        payment.provider_reference,
        payment.amount,
        payment.currency,
        payment.method,
    )


def apply_refund_status(refund_id: int, result: StatusResult, source: str) -> Refund:
    """Apply a provider's answer about a refund under lock. Idempotent, forward only."""
    order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        info = {
            "source": source,
            "outcome": result.outcome.value,
            "amount": result.amount,
            "message": result.message[:200],
        }
        if refund.is_final:
            journal(
                refund,
                RefundEvent.Kind.DECISION,
                f"ignored ({result.outcome.value}): already {refund.status}",
                info,
            )
            return refund
        if result.provider_reference and not refund.provider_reference:
            refund.provider_reference = result.provider_reference[:512]
        outcome = result.outcome
        if (
            outcome == Outcome.SUCCEEDED
            and result.amount is not None
            and result.amount != refund.amount
        ):
            refund.save(update_fields=["provider_reference", "updated_at"])
            return _flag(
                refund, f"provider reports {result.amount} refunded, {refund.amount} asked", info
            )
        if outcome == Outcome.SUCCEEDED:
            _finish(refund, Refund.Status.SUCCEEDED, info)
            _after_success(order, refund)
        elif outcome in (Outcome.FAILED, Outcome.EXPIRED, Outcome.CANCELLED):
            refund.last_error = result.message[:500]
            _finish(refund, Refund.Status.FAILED, info)
            # A failed refund waits in the review queue: staff retry or refund outside.
            _flag(refund, f"refund failed at the provider: {result.message[:200]}", info)
        elif outcome == Outcome.PENDING or refund.status == Refund.Status.PENDING:
            _still_pending(refund, outcome, result, info)
        else:
            # Unknown answer to the send itself.
            refund.last_error = result.message[:500]
            refund.save(update_fields=["provider_reference", "last_error", "updated_at"])
            journal(refund, RefundEvent.Kind.ERROR, f"outcome unknown ({source})", info)
            _schedule(refund)
        return refund


def _finish(refund: Refund, status: str, info: dict) -> None:
    refund.status = status
    refund.finalised_at = timezone.now()
    refund.next_check_at = None
    refund.save(
        update_fields=[
            "status",
            "finalised_at",
            "next_check_at",
            "provider_reference",
            "last_error",
            "updated_at",
        ]
    )
    journal(refund, RefundEvent.Kind.DECISION, f"{status} ({info['source']})", info)


def _still_pending(refund: Refund, outcome: Outcome, result: StatusResult, info: dict) -> None:
    if refund.status == Refund.Status.REQUESTED:
        refund.status = Refund.Status.PENDING
    if outcome == Outcome.UNKNOWN:
        refund.last_error = result.message[:500]
    if refund.created_at < timezone.now() - POLL_LIMIT:
        refund.next_check_at = None
        refund.save(
            update_fields=[
                "status",
                "provider_reference",
                "last_error",
                "next_check_at",
                "updated_at",
            ]
        )
        _flag(refund, "refund still not final after 3 days: check with the provider", info)
        return
    refund.save(update_fields=["status", "provider_reference", "last_error", "updated_at"])
    journal(refund, RefundEvent.Kind.DECISION, f"still {outcome.value} ({info['source']})", info)
    _schedule(refund)


def _schedule(refund: Refund) -> None:
    """Next check with growing delays (never below 5 s), sent after commit;
    the schedule lives in ``next_check_at`` so the sweep covers a lost task."""
    base = POLL_DELAYS[min(refund.check_count, len(POLL_DELAYS) - 1)]
    delay = max(5.0, base * random.uniform(0.9, 1.1))
    refund.check_count += 1
    refund.next_check_at = timezone.now() + timedelta(seconds=delay)
    refund.save(update_fields=["check_count", "next_check_at", "updated_at"])
    pk, due = refund.pk, refund.next_check_at
    transaction.on_commit(lambda: enqueue_check(pk, due))


def enqueue_check(refund_id: int, due) -> None:
    from .tasks import poll_refund

    countdown = max(0.0, (due - timezone.now()).total_seconds())
    try:
        poll_refund.apply_async((refund_id,), countdown=countdown)
    except Exception as exc:  # broker down: the sweep re-queues it
        log.warning("refund %s check not enqueued (%s)", refund_id, type(exc).__name__)


def _flag(refund: Refund, reason: str, info: dict | None = None) -> Refund:
    refund.needs_review = True
    if reason not in refund.review_reason:
        refund.review_reason = f"{refund.review_reason}\n{reason}".strip()
    refund.save(update_fields=["needs_review", "review_reason", "updated_at"])
    journal(refund, RefundEvent.Kind.DECISION, f"needs review: {reason}", info or {})
    return refund


def flag_refund(refund_id: int, reason: str) -> Refund:
    order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.is_final or refund.needs_review:
            return refund
        refund.next_check_at = None
        refund.save(update_fields=["next_check_at", "updated_at"])
        return _flag(refund, reason)


def _after_success(order: Order, refund: Refund) -> None:
    """With the order locked: cancel it once everything paid is refunded."""
    paid = sum(p.amount for p in paid_payments(order))
    refunded = (
        Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).aggregate(
            n=Sum("amount")
        )["n"]
        or 0
    )
    if paid and refunded >= paid and (order.status, Order.Status.CANCELLED) in workflow.TRANSITIONS:
        workflow.move(
            order,
            Order.Status.CANCELLED,
            by=refund.requested_by,
            note=_("remboursée en totalité"),
            actor=workflow.REFUND,
        )


def sweep_refunds(now=None, batch: int = 100) -> list[int]:
    """Re-queue refunds whose check is overdue, and send requested ones whose
    send never ran (``skip_locked`` + a lease: two sweeps enqueue each once)."""
    now = now or timezone.now()
    due = Q(status=Refund.Status.PENDING, next_check_at__lte=now) | Q(
        status=Refund.Status.REQUESTED, created_at__lte=now - timedelta(seconds=30)
    )
    with transaction.atomic():
        ids = list(
            Refund.objects.select_for_update(skip_locked=True)
            .filter(due, channel=Refund.Channel.PROVIDER, needs_review=False)
            .values_list("pk", flat=True)[:batch]
        )
        if ids:
            lease = now + timedelta(seconds=60)
            Refund.objects.filter(pk__in=ids, status=Refund.Status.PENDING).update(
                next_check_at=lease
            )
            transaction.on_commit(lambda: [enqueue_check(pk, now) for pk in ids])
    return ids


# --- goods back --------------------------------------------------------------------
def restock_returned(order_id: int, by=None, note: str = "") -> bool:
    """Staff say the goods of a refunded order came back: return its whole
    stock, once.

    Only for an order refunded in full. After a partial refund nobody can
    tell from the money which lines came back, so it is refused with a
    message: staff add the returned articles to the stock by hand (the
    product's stock field, applied as a delta). ``stock_reserved`` set false
    under the order lock makes a second call a refusal, never a second
    restock."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        refunded = (
            order.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(n=Sum("amount"))["n"]
            or 0
        )
        if not refunded:
            raise RefundRefused(
                _("Aucun remboursement réussi sur cette commande : le stock n'est pas rendu.")
            )
        paid = sum(p.amount for p in paid_payments(order))
        if refunded < paid:
            raise RefundRefused(
                _(
                    "Remboursement partiel (%(refunded)s sur %(paid)s %(cur)s) : le stock n'est "
                    "rendu d'un coup qu'après un remboursement complet. "
                    "Ajoutez à la main, sur la fiche produit, les articles revenus."
                )
                % {"refunded": refunded, "paid": paid, "cur": order.currency}
            )
        if not order.stock_reserved:
            raise RefundRefused(_("Le stock de cette commande a déjà été rendu."))
        shop_services.release_stock(order)
        OrderEvent.objects.create(
            order=order,
            from_status=order.status,
            to_status=order.status,
            by=by,
            note=(note or _("marchandise revenue, stock rendu"))[:500],
        )
    return True
