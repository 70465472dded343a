"""Applying what a provider says: the only code that changes a payment's status.

``check_payment`` asks the provider (no lock held during the call) and hands
the answer to ``apply_status``, which locks the order and payment rows
(``locks.lock``), asks ``payments.transitions.decide`` what the answer means,
and carries the decision out: mark the order paid once (its e-mail after
commit), release the stock once, flag for review, or schedule the next check.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shop import services as shop_services
from shop import workflow
from shop.emails import alert_staff, send_order_confirmation, send_paid_twice_notice
from shop.models import Order

from ..models import Payment, PaymentEvent, PaymentStatus, ReviewCode
from ..providers import get_provider
from ..providers.base import Outcome, PaymentView, Provider, StatusResult
from ..transitions import REOPENING_SOURCES, Action, Decision, OrderState, PaymentState, decide
from . import gateway, health
from .journal import payment_journal, record
from .locks import lock
from .schedule import enqueue_poll, poll_delay

log = logging.getLogger(__name__)

# How an order ends when its last live attempt ends without money. Refused
# or cancelled on the vendor's side, it stays payable (its stock released);
# only staff or a full refund cancel an order (``shop.workflow``).
ORDER_STATUS_AFTER = {
    PaymentStatus.FAILED: Order.Status.PENDING_PAYMENT,
    PaymentStatus.EXPIRED: Order.Status.EXPIRED,
    PaymentStatus.CANCELLED: Order.Status.PENDING_PAYMENT,
}


def payment_view(payment: Payment) -> PaymentView:
    return PaymentView(
        reference=str(payment.reference),
        provider_reference=payment.provider_reference,
        amount=payment.amount,
        currency=payment.currency,
        method=payment.method,
    )


# --- asking ---------------------------------------------------------------------
def check_payment(
    payment_id: int, source: str = "poll", timeout: tuple[float, float] | None = None
) -> Payment:
    """Ask the provider for the status of a payment and apply the answer.

    Safe to call any number of times, concurrently: the provider call holds
    no lock, ``apply_status`` serialises the transition. A final attempt is
    re-asked while it is watched (the shopper may still pay on the vendor's
    side), by staff, on the shopper's return, or when the provider calls back
    about it."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.is_final and source not in REOPENING_SOURCES and not watched(payment):
        return payment
    provider = get_provider(payment.provider, timeout=timeout)
    if source == "callback":
        Payment.objects.filter(pk=payment.pk).update(last_callback_check_at=timezone.now())
    result = None if provider.has_status_api else result_from_callbacks(payment, provider)
    if result is None:
        view = payment_view(payment)
        result = gateway.ask(
            provider,
            "status",
            lambda: provider.fetch_status(view),
            payment_journal(payment, provider.code),
        )
    return apply_status(payment.pk, result, source=source)


def result_from_callbacks(payment: Payment, provider: Provider) -> StatusResult | None:
    """The newest final result carried by a valid stored callback, for a
    provider whose callback is the only source of truth (LengoPay with its
    status endpoint configured off)."""
    events = payment.events.filter(kind=PaymentEvent.Kind.CALLBACK, valid=True).order_by(
        "-created_at", "-id"
    )
    for body, headers in events.values_list("body", "headers")[:20]:
        try:
            info = provider.parse_callback(bytes(body or b""), headers or {})
        except Exception as exc:  # a row that no longer parses is skipped, not fatal
            log.warning("stored callback of payment %s no longer parses (%s)", payment.pk, exc)
            continue
        if info.result is not None and info.result.outcome not in (
            Outcome.PENDING,
            Outcome.UNKNOWN,
        ):
            return info.result
    return None


# --- applying ---------------------------------------------------------------------
def apply_status(payment_id: int, result: StatusResult, source: str) -> Payment:
    """Apply a provider-reported status under lock. Idempotent."""
    with transaction.atomic():
        order, payment = lock(payment_id)
        if result.provider_reference and not payment.provider_reference:
            # Learnt after an initiation whose answer was lost.
            payment.provider_reference = result.provider_reference[:512]
            payment.save(update_fields=["provider_reference", "updated_at"])
        provider = get_provider(payment.provider)
        state = PaymentState(
            status=payment.status,
            amount=payment.amount,
            currency=payment.currency,
            deadline=payment.deadline,
            watch_until=payment.watch_until,
            needs_review=payment.needs_review,
            has_status_api=provider.has_status_api,
        )
        order_state = OrderState(
            paid=order.status == Order.Status.PAID or bool(order.paid_at),
            stock_reserved=order.stock_reserved,
        )
        decision = decide(state, result, order_state, source, timezone.now())
        if result.outcome == Outcome.SUCCEEDED:
            _keep_received(payment, result)
        info = {
            "source": source,
            "outcome": result.outcome.value,
            "amount": result.amount,
            "currency": result.currency,
            "message": result.message[:200],
        }
        APPLIERS[decision.action](order, payment, decision, result, provider, info)
        return payment


def _keep_received(payment: Payment, result: StatusResult) -> None:
    """Store what the provider reported on a success, as reported, matched
    or not: "money received" and "refundable" are read from it."""
    payment.received_amount = result.amount
    payment.received_currency = (result.currency or "")[:3].upper()
    payment.received_at = payment.received_at or timezone.now()
    fields = ["received_amount", "received_currency", "received_at", "updated_at"]
    if result.payer:
        payment.payer_account = result.payer[:32]
        fields.append("payer_account")
    payment.save(update_fields=fields)


def _note(order, payment, decision, result, provider, info) -> None:
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, decision.message, info)


def _reschedule(order, payment, decision, result, provider, info) -> None:
    now = timezone.now()
    delay = poll_delay(payment.check_count, provider, result.retry_after)
    payment.check_count += 1
    payment.next_check_at = min(now + timedelta(seconds=delay), payment.deadline)
    if result.outcome == Outcome.UNKNOWN:
        payment.last_error = result.message[:500]
    payment.save(update_fields=["check_count", "next_check_at", "last_error", "updated_at"])
    record(
        payment,
        payment.provider,
        PaymentEvent.Kind.DECISION,
        f"{decision.message}, next check in {delay:.0f}s",
        info,
    )
    due, pk = payment.next_check_at, payment.pk
    transaction.on_commit(lambda: enqueue_poll(pk, due))


def _expire(order, payment, decision, result, provider, info) -> None:
    if decision.flag:
        payment.mark_for_review(decision.code, decision.flag)
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, decision.message, info)
    finalise(
        payment,
        order,
        PaymentStatus.EXPIRED,
        "deadline passed",
        watch=decision.watch and not payment.needs_review,
    )


def _finalise_as_told(order, payment, decision, result, provider, info) -> None:
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, decision.message, info)
    finalise(payment, order, decision.status, result.message or str(result.outcome))


def _hold_mismatch(order, payment, decision, result, provider, info) -> None:
    # Not paid: a human compares with the provider's back office.
    payment.next_check_at = None
    payment.save(update_fields=["next_check_at", "updated_at"])
    flag(payment, order, decision.code, decision.flag, info)


def _succeed(order, payment, decision, result, provider, info) -> None:
    payment.status = PaymentStatus.SUCCEEDED
    payment.finalised_at = timezone.now()
    payment.next_check_at = None
    payment.save(update_fields=["status", "finalised_at", "next_check_at", "updated_at"])
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, decision.message, info)
    _route_outcome(payment)
    if decision.flag:  # a second success on an order already paid
        flag(payment, order, decision.code, decision.flag)
        _tell_shopper_paid_twice(order)
        return
    if not order.stock_reserved:
        try:
            shop_services.reserve_stock_again(order, workflow.PAYMENT)
        except shop_services.OutOfStock as exc:
            flag(
                payment,
                order,
                ReviewCode.STOCK_SHORT,
                f"paid after its stock was released and {exc.product.name} is now short: refund "
                "or restock",
            )
            return
        except workflow.MoveRefused:
            flag(
                payment,
                order,
                ReviewCode.ORDER_CLOSED,
                f"paid while the order is {order.status}: refund or honour by hand",
            )
            return
    if shop_services.mark_paid(
        order, workflow.PAYMENT, note=f"{payment.provider} {source_of(info)}"
    ):
        order_id = order.pk
        transaction.on_commit(lambda: send_order_confirmation(order_id))


def _late_success(order, payment, decision, result, provider, info) -> None:
    payment.watch_until = payment.next_check_at = None
    payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
    flag(payment, order, decision.code, decision.flag, info)
    if order.paid_at:  # a superseded page paid after another method succeeded
        _tell_shopper_paid_twice(order)


def _tell_shopper_paid_twice(order: Order) -> None:
    order_id = order.pk
    transaction.on_commit(lambda: send_paid_twice_notice(order_id))


def _stop_watch(order, payment, decision, result, provider, info) -> None:
    payment.watch_until = payment.next_check_at = None
    payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, decision.message, info)


def _start_watch(order, payment, decision, result, provider, info) -> None:
    start_watch(payment, provider, decision.message, at_least=timedelta(hours=1))
    payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])


def _keep_watching(order, payment, decision, result, provider, info) -> None:
    if decision.reschedule:
        payment.next_check_at = min(
            timezone.now() + timedelta(seconds=settings.PAYMENT_LATE_CHECK_INTERVAL),
            payment.watch_until,
        )
        payment.save(update_fields=["next_check_at", "updated_at"])
        due, pk = payment.next_check_at, payment.pk
        transaction.on_commit(lambda: enqueue_poll(pk, due))
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, decision.message, info)


def _watch_over(order, payment, decision, result, provider, info) -> None:
    payment.watch_until = payment.next_check_at = None
    payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
    if decision.flag:
        flag(payment, order, decision.code, decision.flag, info)
    else:
        record(payment, payment.provider, PaymentEvent.Kind.DECISION, decision.message, info)


APPLIERS = {
    Action.NOTE: _note,
    Action.RESCHEDULE: _reschedule,
    Action.EXPIRE: _expire,
    Action.FINALISE: _finalise_as_told,
    Action.HOLD_MISMATCH: _hold_mismatch,
    Action.SUCCEED: _succeed,
    Action.LATE_SUCCESS: _late_success,
    Action.STOP_WATCH: _stop_watch,
    Action.START_WATCH: _start_watch,
    Action.KEEP_WATCHING: _keep_watching,
    Action.WATCH_OVER: _watch_over,
}
assert set(APPLIERS) == set(Action), "every decision has its applier"


# --- ending an attempt on our side ------------------------------------------------
def finish_locally(
    payment_id: int, status: str, reason: str, keep_stock: bool = False, watch: bool = True
) -> Payment:
    """End a pending attempt on our own decision (no provider answer). Unless
    the provider definitely refused it (``watch=False``), it stays watched:
    the shopper may still pay on the vendor's page or phone."""
    with transaction.atomic():
        order, payment = lock(payment_id)
        if payment.is_final:
            return payment
        finalise(
            payment,
            order,
            status,
            reason,
            keep_stock=keep_stock,
            watch=watch and status != PaymentStatus.FAILED,
        )
        return payment


def cancel_payment(payment_id: int, reason: str = "cancelled") -> Payment:
    """Cancel a live attempt on our side (shopper switched provider)."""
    return finish_locally(payment_id, PaymentStatus.CANCELLED, reason, keep_stock=True)


def watch_ended(payment_id: int, reason: str) -> None:
    """Keep checking an attempt that ended on our side."""
    with transaction.atomic():
        order, payment = lock(payment_id)
        if (
            payment.status in (PaymentStatus.CANCELLED, PaymentStatus.EXPIRED)
            and not payment.needs_review
        ):
            start_watch(payment, get_provider(payment.provider), reason)
            payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])


def start_watch(
    payment: Payment, provider: Provider, reason: str, at_least: timedelta | None = None
) -> None:
    """Schedule slow checks of an ended attempt until the provider can no
    longer take money on it (the caller saves ``watch_until``/``next_check_at``)."""
    now = timezone.now()
    window = int(provider.config.get("late_payment_window") or provider.late_payment_window)
    until = max(payment.deadline, now) + timedelta(seconds=window)
    if at_least is not None:
        until = max(until, now + at_least)
    payment.watch_until = max(payment.watch_until or until, until)
    payment.next_check_at = now + timedelta(seconds=settings.PAYMENT_LATE_CHECK_INTERVAL)
    due, pk = payment.next_check_at, payment.pk
    transaction.on_commit(lambda: enqueue_poll(pk, due))
    record(
        payment,
        payment.provider,
        PaymentEvent.Kind.DECISION,
        f"watched until {payment.watch_until.isoformat()}: {reason}",
    )


def watched(payment: Payment, now=None) -> bool:
    return bool(payment.watch_until and payment.watch_until >= (now or timezone.now()))


def finalise(
    payment: Payment,
    order: Order,
    status: str,
    reason: str,
    keep_stock: bool = False,
    watch: bool = False,
) -> None:
    payment.status = status
    payment.finalised_at = timezone.now()
    payment.next_check_at = None
    if status != PaymentStatus.SUCCEEDED:
        payment.last_error = reason[:500]
    if watch and status in (PaymentStatus.CANCELLED, PaymentStatus.EXPIRED):
        start_watch(payment, get_provider(payment.provider), reason)
    payment.save(
        update_fields=[
            "status",
            "finalised_at",
            "next_check_at",
            "watch_until",
            "last_error",
            "needs_review",
            "review_code",
            "review_reason",
            "updated_at",
        ]
    )
    _route_outcome(payment)
    if keep_stock or order.status != Order.Status.PENDING_PAYMENT:
        return
    if order.payments.filter(status=PaymentStatus.PENDING).exclude(pk=payment.pk).exists():
        return
    if shop_services.release_stock(order):
        record(
            payment,
            payment.provider,
            PaymentEvent.Kind.DECISION,
            "order stock released",
            {"order": order.pk},
        )
    workflow.set_status(
        order,
        ORDER_STATUS_AFTER.get(status, Order.Status.PENDING_PAYMENT),
        workflow.PAYMENT,
        note=f"{payment.provider}: {status}",
    )


def _route_outcome(payment: Payment) -> None:
    """Route health learns the outcome once this transaction commits (no
    lock held then; it never changes the payment: ``services.health``)."""
    pk = payment.pk
    transaction.on_commit(lambda: health.record_outcome(pk), robust=True)


def flag(
    payment: Payment, order: Order, code: ReviewCode | None, reason: str, info: dict | None = None
) -> None:
    payment.mark_for_review(code, reason)
    payment.save(update_fields=["needs_review", "review_code", "review_reason", "updated_at"])
    record(
        payment, payment.provider, PaymentEvent.Kind.DECISION, f"needs review: {reason}", info or {}
    )
    subject = f"Payment {payment.reference} needs review"
    body = f"Order {order.number}, {payment.provider} {payment.amount} {payment.currency}: {reason}"
    transaction.on_commit(lambda: alert_staff(subject, body))


def source_of(info: dict) -> str:
    return f"({info.get('source', '?')})"


__all__ = [
    "Decision",
    "apply_status",
    "cancel_payment",
    "check_payment",
    "finish_locally",
    "flag",
    "payment_view",
    "start_watch",
    "watched",
]
