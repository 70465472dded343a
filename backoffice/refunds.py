"""Refunds: the only code that creates or moves a ``Refund``.

Built like the payment engine: ``backoffice.refund_transitions`` decides
(pure, a table), the ``APPLIERS`` here carry the decision out under lock,
every provider call goes through ``payments.services.gateway``.

Rules callers can rely on:

* Lock order: the order row, then the refund row (``shop.locks``), as for a
  payment. No lock is held during a provider call.
* Never more than received: what may be refunded is what the provider
  *reported* receiving on the payment (``Payment.received_amount``, in the
  payment's currency) minus what is already refunded or on its way
  (requested, pending, succeeded). It is computed under the order lock, so
  two staff clicking at once give one refund (the second sees the first, or
  the same ``request_key``, which is bound to its payment).
* Back where the money came from: to the wallet the provider reported as
  the payer, else the number the attempt was made with (``Payment.refund_payee``);
  never to an order field staff can edit.
* Only through an API we can vouch for: a provider's refund API is used
  when its module declares it (``Provider.refunds``) and, for an API whose
  request or answer is unpublished, only when its setting turns it on
  (``Provider.refunds_enabled``). Otherwise staff refund outside the shop
  (the vendor's dashboard) and record it here.
* Never sent twice: the one call that sets ``sent_at`` under lock sends it.
  A lost answer is replayed only where the call carries an idempotency key
  (``RefundSupport.idempotent``); otherwise it is flagged for a human.
* Forward only: ``requested → pending → succeeded | failed``; a final
  refund never changes. Every request, answer and decision is journalled;
  anything odd waits in the review queue with a ``ReviewCode``.
* A refund that gives back everything received cancels the order
  (``shop.workflow``, actor "refund"). Stock comes back only when staff say
  the goods did (``restock_returned``).
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

from payments.models import Payment, ReviewCode
from payments.providers import get_provider
from payments.providers.base import PaymentView, StatusResult
from payments.services import gateway
from payments.services.journal import exchange_writer
from shop import services as shop_services
from shop import workflow
from shop.locks import lock_batch, lock_order, lock_order_and
from shop.models import Order

from . import refund_transitions as rt
from .models import Refund, RefundEvent

log = logging.getLogger(__name__)

COUNTED = (Refund.Status.REQUESTED, Refund.Status.PENDING, Refund.Status.SUCCEEDED)
SEND_TIMEOUT = rt.SEND_TIMEOUT
POLL_DELAYS = (5, 10, 30, 60, 120, 300)


class RefundRefused(Exception):
    """A refund staff may not make; ``message`` is for them."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Refundable:
    payment: Payment
    paid: int  # what the provider reported receiving, in the payment's currency
    refunded: int

    @property
    def left(self) -> int:
        return max(self.paid - self.refunded, 0)


def money_received(payment: Payment) -> bool:
    """The provider reported a success for this payment (a typed fact)."""
    return payment.money_received


def received(payment: Payment) -> int:
    """What the provider reported receiving, in the payment's currency; 0
    when nothing was received, its amount is unknown, or it came in another
    currency (staff settle that outside the shop)."""
    if not payment.money_received or payment.received_amount is None:
        return 0
    if payment.received_currency != payment.currency:  # another currency, or none reported
        return 0
    return payment.received_amount


def refunded_amount(payment_id: int) -> int:
    total = Refund.objects.filter(payment_id=payment_id, status__in=COUNTED).aggregate(
        n=Sum("amount")
    )["n"]
    return total or 0


def refundable(payment: Payment) -> Refundable:
    return Refundable(payment, received(payment), refunded_amount(payment.pk))


def paid_payments(order: Order) -> list[Payment]:
    return [p for p in order.payments.all() if p.money_received]


def journal(
    refund: Refund, kind: str, message: str, data: dict | None = None, by=None
) -> RefundEvent:
    return RefundEvent.objects.create(
        refund=refund, kind=kind, message=str(message)[:300], data=data or {}, by=by
    )


def refund_journal(refund: Refund):
    """The journal ``gateway.call`` writes a refund's exchanges to."""
    return exchange_writer(RefundEvent, refund=refund)


# --- request ---------------------------------------------------------------------
def _same_form(request_key: str | None, payment_id: int) -> Refund | None:
    """The refund this form already made; a key used for another payment is refused."""
    if not request_key:
        return None
    existing = Refund.objects.filter(request_key=request_key).first()
    if existing is not None and existing.payment_id != payment_id:
        raise RefundRefused(
            _("Ce formulaire a déjà servi pour un autre paiement : rechargez la page.")
        )
    return existing


def request_refund(
    payment_id: int, amount: int, reason: str, by=None, request_key: str | None = None
) -> Refund:
    """Create a refund of ``amount`` of one paid payment, through its provider.

    Raises RefundRefused (over the amount left, below the provider's
    minimum, a provider whose refund API is off, no payer wallet known). The
    request is sent by ``send_refund`` (the caller runs it after commit)."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused(_("Indiquez le motif du remboursement."))
    with transaction.atomic():
        payment = lock_order_and(Payment, payment_id)[1]
        if existing := _same_form(request_key, payment.pk):
            return existing
        provider = get_provider(payment.provider)
        if not provider.refunds_enabled():
            raise RefundRefused(
                _(
                    "%(name)s : pas de remboursement par la boutique. Remboursez depuis l'espace "
                    "du prestataire, puis enregistrez-le ici (« fait hors boutique »)."
                )
                % {"name": provider.name}
            )
        _check_amount(payment, amount)
        if amount < provider.refunds.minimum:
            raise RefundRefused(
                _(
                    "%(name)s ne rembourse pas moins de %(min)s %(cur)s : remboursez hors boutique "
                    "puis enregistrez-le."
                )
                % {"name": provider.name, "min": provider.refunds.minimum, "cur": payment.currency}
            )
        if not payment.refund_payee:
            raise RefundRefused(
                _(
                    "Le numéro qui a payé n'est pas connu : remboursez hors boutique puis "
                    "enregistrez-le."
                )
            )
        refund = _create_refund(
            payment,
            amount,
            Refund.Channel.PROVIDER,
            reason,
            by,
            request_key,
            payee=payment.refund_payee,
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
        if payment.money_received:
            raise RefundRefused(
                _(
                    "Le prestataire n'a pas indiqué de montant reçu dans la devise de la "
                    "commande : vérifiez chez lui, remboursez hors boutique puis enregistrez-le."
                )
            )
        raise RefundRefused(_("Ce paiement n'a pas été encaissé : rien à rembourser."))
    if amount > state.left:
        raise RefundRefused(
            _(
                "Au plus %(left)s %(cur)s peuvent encore être remboursés sur ce paiement (reçu "
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
    """Record money staff gave back outside the shop (a provider without a
    refund API we can use, or any provider by hand). It counts in the
    totals like any refund."""
    if not method.strip() or not external_reference.strip():
        raise RefundRefused(
            _("Indiquez le moyen et la référence du remboursement fait hors boutique.")
        )
    with transaction.atomic():
        order, payment = lock_order_and(Payment, payment_id)
        if existing := _same_form(request_key, payment.pk):
            return existing
        _check_amount(payment, amount)
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
            finalised_at=timezone.now(),
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
        refund = lock_order_and(Refund, refund_id)[1]
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
    result = gateway.ask(
        provider,
        "refund",
        lambda: provider.refund(
            str(refund.reference), view, refund.amount, refund.payee, refund.reason
        ),
        refund_journal(refund),
    )
    return apply_refund_status(refund.pk, result, source="send")


def check_refund(refund_id: int, source: str = "poll") -> Refund:
    """Ask the provider where a refund stands and apply the answer."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.is_final or refund.channel != Refund.Channel.PROVIDER:
        return refund
    provider = get_provider(refund.provider)
    if refund.status == Refund.Status.REQUESTED:
        todo = rt.unanswered(refund.sent_at, provider.refunds.idempotent, timezone.now())
        if todo == rt.Unanswered.SEND:
            return send_refund(refund.pk)
        if todo == rt.Unanswered.RESEND:
            return _call(refund)  # same idempotency key: the provider replays, never pays twice
        if todo == rt.Unanswered.FLAG:
            return flag_refund(
                refund.pk,
                ReviewCode.REFUND_NO_ANSWER,
                "refund sent without a readable answer and this provider has no idempotency "
                "key: check its back office before anything else",
            )
        return refund
    view = _payment_view(refund.payment)
    result = gateway.ask(
        provider,
        "refund status",
        lambda: provider.refund_status(str(refund.reference), refund.provider_reference, view),
        refund_journal(refund),
    )
    return apply_refund_status(refund.pk, result, source=source)


def _payment_view(payment: Payment) -> PaymentView:
    from payments.services import payment_view

    return payment_view(payment)


def apply_refund_status(refund_id: int, result: StatusResult, source: str) -> Refund:
    """Apply a provider's answer about a refund under lock, as
    ``refund_transitions.decide`` says. Idempotent, forward only."""
    with transaction.atomic():
        order, refund = lock_order_and(Refund, refund_id)
        payin_reference = (
            Payment.objects.values_list("provider_reference", flat=True).get(pk=refund.payment_id)
            or ""
        )
        state = rt.RefundState(
            status=refund.status,
            amount=refund.amount,
            created_at=refund.created_at,
            payin_reference=payin_reference,
            provider_reference=refund.provider_reference,
        )
        decision = rt.decide(state, result, timezone.now())
        info = {
            "source": source,
            "outcome": result.outcome.value,
            "amount": result.amount,
            "provider_reference": result.provider_reference[:120],
            "message": result.message[:200],
        }
        if (
            not state.is_final
            and result.provider_reference
            and not refund.provider_reference
            and result.provider_reference != payin_reference
        ):
            refund.provider_reference = result.provider_reference[:512]
            refund.save(update_fields=["provider_reference", "updated_at"])
        APPLIERS[decision.action](order, refund, decision, result, info)
        return refund


def _ignore(order, refund, decision, result, info) -> None:
    journal(refund, RefundEvent.Kind.DECISION, decision.message, info)


def _succeed(order, refund, decision, result, info) -> None:
    _finish(refund, Refund.Status.SUCCEEDED, decision, info)
    _after_success(order, refund)


def _fail(order, refund, decision, result, info) -> None:
    refund.last_error = result.message[:500]
    _finish(refund, Refund.Status.FAILED, decision, info)
    _flag(refund, decision.code, decision.flag, info)


def _wait(order, refund, decision, result, info) -> None:
    refund.status = Refund.Status.PENDING
    refund.save(update_fields=["status", "updated_at"])
    journal(refund, RefundEvent.Kind.DECISION, f"{decision.message} ({info['source']})", info)
    _schedule(refund)


def _retry_later(order, refund, decision, result, info) -> None:
    refund.last_error = result.message[:500]
    refund.save(update_fields=["last_error", "updated_at"])
    journal(refund, RefundEvent.Kind.ERROR, f"{decision.message} ({info['source']})", info)
    _schedule(refund)


def _hold(order, refund, decision, result, info) -> None:
    if refund.status == Refund.Status.REQUESTED:
        refund.status = Refund.Status.PENDING  # the provider answered: it exists there
    refund.next_check_at = None
    refund.save(update_fields=["status", "next_check_at", "updated_at"])
    _flag(refund, decision.code, decision.flag, info)


APPLIERS = {
    rt.Action.IGNORE: _ignore,
    rt.Action.SUCCEED: _succeed,
    rt.Action.FAIL: _fail,
    rt.Action.WAIT: _wait,
    rt.Action.RETRY_LATER: _retry_later,
    rt.Action.HOLD: _hold,
}
assert set(APPLIERS) == set(rt.Action), "every refund decision has its applier"


def _finish(refund: Refund, status: str, decision: rt.Decision, info: dict) -> None:
    refund.status = status
    refund.finalised_at = timezone.now()
    refund.next_check_at = None
    refund.save(
        update_fields=["status", "finalised_at", "next_check_at", "last_error", "updated_at"]
    )
    journal(refund, RefundEvent.Kind.DECISION, f"{status} ({info['source']})", info)


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


def _flag(refund: Refund, code: ReviewCode | None, reason: str, info: dict | None = None) -> Refund:
    refund.mark_for_review(code, reason)
    refund.save(update_fields=["needs_review", "review_code", "review_reason", "updated_at"])
    journal(refund, RefundEvent.Kind.DECISION, f"needs review: {reason}", info or {})
    return refund


def flag_refund(refund_id: int, code: ReviewCode, reason: str) -> Refund:
    with transaction.atomic():
        refund = lock_order_and(Refund, refund_id)[1]
        if refund.is_final or refund.needs_review:
            return refund
        refund.next_check_at = None
        refund.save(update_fields=["next_check_at", "updated_at"])
        return _flag(refund, code, reason)


def held_otherwise(order: Order) -> int:
    """Money for this order staff took outside the providers: the shortfall
    collected when honouring a short payment, and cash at the door."""
    from shop.models import CashCollection

    from .models import Resolution

    shortfalls = Resolution.objects.filter(
        payment__order=order, action=Resolution.Action.FULFIL
    ).aggregate(n=Sum("collected_amount"))["n"]
    cash = CashCollection.objects.filter(order=order).aggregate(n=Sum("amount"))["n"]
    return (shortfalls or 0) + (cash or 0)


def _after_success(order: Order, refund: Refund) -> None:
    """With the order locked: cancel it once everything it was paid — through
    the providers and otherwise — is refunded (money still held in cash
    keeps the order)."""
    paid = sum(received(p) for p in paid_payments(order)) + held_otherwise(order)
    refunded = (
        Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).aggregate(
            n=Sum("amount")
        )["n"]
        or 0
    )
    if (
        paid
        and refunded >= paid
        and workflow.may_move(order.status, Order.Status.CANCELLED, workflow.REFUND)
    ):
        workflow.set_status(
            order,
            Order.Status.CANCELLED,
            workflow.REFUND,
            by=refund.requested_by,
            note=_("remboursée en totalité"),
        )


def sweep_refunds(now=None, batch: int = 100) -> list[int]:
    """Re-queue refunds whose check is overdue, and send requested ones whose
    send never ran (``skip_locked`` + a lease: two sweeps enqueue each once)."""
    now = now or timezone.now()
    due = Q(status=Refund.Status.PENDING, next_check_at__lte=now) | Q(
        status=Refund.Status.REQUESTED, created_at__lte=now - timedelta(seconds=30)
    )
    with transaction.atomic():
        ids = lock_batch(
            Refund.objects.filter(due, channel=Refund.Channel.PROVIDER, needs_review=False), batch
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
        order = lock_order(order_id)
        refunded = (
            order.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(n=Sum("amount"))["n"]
            or 0
        )
        if not refunded:
            raise RefundRefused(
                _("Aucun remboursement réussi sur cette commande : le stock n'est pas rendu.")
            )
        paid = sum(received(p) for p in paid_payments(order))
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
        workflow.note(order, note or _("marchandise revenue, stock rendu"), workflow.STAFF, by=by)
    return True
