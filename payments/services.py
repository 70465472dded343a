"""The only code that moves a payment (and, through it, an order) between states.

Entry points: ``start_payment`` (checkout), ``check_payment`` (return view,
poller, staff action), ``apply_status`` (every one of them, and the
callback task of providers whose callback carries the result), and
``sweep`` (the periodic safety net).

Rules every caller can rely on:

* Lock order: the order row, then the payment row, both ``select_for_update``
  inside ``atomic()`` — the same order everywhere, so two paths never
  deadlock. No lock is held during a provider call.
* Forward only: ``pending → succeeded | failed | expired | cancelled``; a final
  state never changes. A success reported for an attempt that has already
  ended, a second success on a paid order, or money that does not match the
  order is flagged ``needs_review`` for staff — never fulfilled, never dropped.
* Exactly once: the order is marked paid once (its confirmation e-mail is sent
  after commit, guarded by a flag); stock is released once
  (``Order.stock_reserved``).
* Polls are enqueued only after commit; the schedule lives in
  ``Payment.next_check_at`` so a lost task or a dead broker loses nothing:
  ``sweep`` re-queues whatever is overdue.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import services as shop_services
from shop.emails import alert_staff, send_order_confirmation
from shop.models import Order

from .models import FINAL_STATUSES, Payment, PaymentEvent, PaymentStatus
from .providers import UnknownProvider, get_provider
from .providers.base import (
    Flow,
    InvalidAmount,
    Outcome,
    PaymentRequest,
    PaymentView,
    Provider,
    ProviderError,
    StatusResult,
    check_amount,
)
from .redaction import credentials_of, redact, scrub

log = logging.getLogger(__name__)

OUTCOME_TO_STATUS = {
    Outcome.SUCCEEDED: PaymentStatus.SUCCEEDED,
    Outcome.FAILED: PaymentStatus.FAILED,
    Outcome.EXPIRED: PaymentStatus.EXPIRED,
    Outcome.CANCELLED: PaymentStatus.CANCELLED,
}
# How an order ends when its last live attempt ends without money.
ORDER_STATUS_AFTER = {
    PaymentStatus.FAILED: Order.Status.PENDING_PAYMENT,  # payable again
    PaymentStatus.EXPIRED: Order.Status.EXPIRED,
    PaymentStatus.CANCELLED: Order.Status.CANCELLED,
}
SCHEDULING_SOURCES = {"poll", "sweep", "staff"}
# Sources that may re-ask the provider about an attempt that already ended.
REOPENING_SOURCES = {"staff", "callback", "return"}


class PaymentStartError(Exception):
    """Checkout cannot start this payment; ``message`` is for the shopper."""

    def __init__(self, message: Any, payment: Payment | None = None, follow: bool = False):
        super().__init__(str(message))
        self.message = message
        self.payment = payment
        # True: the shopper should follow ``payment`` (its waiting page).
        self.follow = follow


# --- small helpers ------------------------------------------------------------
def absolute(path: str) -> str:
    return settings.SITE_URL + path


def payment_view(payment: Payment) -> PaymentView:
    return PaymentView(
        reference=str(payment.reference),
        provider_reference=payment.provider_reference,
        amount=payment.amount,
        currency=payment.currency,
        method=payment.method,
    )


def record(payment: Payment | None, provider: str, kind: str, message: str, data: Any = None) -> PaymentEvent:
    return PaymentEvent.objects.create(payment=payment, provider=provider, kind=kind, message=str(message)[:300], data=redact(data) if data is not None else {})


def record_exchanges(payment: Payment, provider: Provider, *also: PaymentEvent) -> None:
    """Store the provider's outbound requests/answers (already redacted),
    and any further events, in one INSERT."""
    events = [
        PaymentEvent(payment=payment, provider=provider.code, kind=PaymentEvent.Kind.REQUEST, message=f"{x['method']} {x['url']}"[:300], data=x)
        for x in provider.exchanges_for_journal()
    ]
    events.extend(also)
    if events:
        PaymentEvent.objects.bulk_create(events)
    provider.exchanges.clear()


def poll_delay(check_count: int, provider: Provider | None = None, retry_after: float | None = None) -> float:
    """Growing delay before the next status check, with jitter (Q-5), never
    below the provider's minimum interval nor a 429's Retry-After (P-4)."""
    backoff = settings.PAYMENT_POLL_BACKOFF
    base = backoff[min(check_count, len(backoff) - 1)]
    delay = base * random.uniform(0.85, 1.15)
    floor = max(provider.min_poll_interval if provider else 0, retry_after or 0)
    return min(max(delay, floor), max(backoff))


def enqueue_poll(payment_id: int, due, now: bool = False) -> None:
    """Send the poll task for the check scheduled at ``due`` (the payment's
    ``next_check_at``). The task runs only if that is still the schedule, so a
    rescheduled payment never has two poll chains (Novasend's rate limit).

    A broker outage is logged, not raised (F-3): the schedule is in the
    database and the sweep will pick the payment up. ``now``: run at once
    (the sweep, whose lease moved ``next_check_at`` forward)."""
    from .tasks import poll_payment

    countdown = 0.0 if now else max(0.0, (due - timezone.now()).total_seconds())
    try:
        poll_payment.apply_async((payment_id, due.isoformat()), countdown=countdown)
    except Exception as exc:  # kombu/redis errors vary by transport
        log.warning("poll of payment %s not enqueued (%s); the sweep will do it", payment_id, type(exc).__name__)


def is_scheduled(payment_id: int, due_iso: str | None) -> bool:
    """True when ``due_iso`` is still the payment's next check (or not given)."""
    if not due_iso:
        return True
    current = Payment.objects.filter(pk=payment_id).values_list("next_check_at", flat=True).first()
    return current is not None and current.isoformat() == due_iso


# --- start ----------------------------------------------------------------------
def _payment_request(order: Order, payment: Payment, provider: Provider, otp: str) -> PaymentRequest:
    ref = str(payment.reference)
    lines = list(order.lines.all())
    items = tuple(
        {
            "name": line.product_name[:100],
            "description": line.product_name[:100],
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "total_price": line.line_total,
        }
        for line in lines
    )
    return PaymentRequest(
        reference=ref,
        amount=check_amount(payment.amount),
        currency=payment.currency,
        description=_("Commande %(number)s — %(shop)s") % {"number": order.number, "shop": settings.SHOP_NAME},
        items=items,
        customer_name=order.full_name,
        customer_email=order.email,
        customer_phone=order.phone,
        country=order.country,
        method=payment.method,
        return_url=absolute(reverse("payments:return", args=[ref])),
        cancel_url=absolute(reverse("payments:cancel", args=[ref])),
        callback_url=absolute(reverse("payments:callback", args=[provider.code])),
        otp=otp,
        payer_phone=payment.payer_phone or order.phone,
    )


def start_payment(order: Order, provider_code: str, method_code: str = "", payer_phone: str = "", otp: str = "") -> Payment:
    """Create an attempt for ``order`` and ask the provider to start it.

    Returns the payment (with ``redirect_url`` or ``instructions``). A second
    call while an attempt is live returns that attempt instead of creating a
    new charge (I-6), unless the shopper picked another provider or method,
    in which case the live one is checked and, if still unpaid, cancelled.
    Raises ``PaymentStartError`` with a message for the shopper.
    """
    try:
        provider = get_provider(provider_code)
    except UnknownProvider:
        raise PaymentStartError(_("Ce moyen de paiement n'existe pas.")) from None
    if not provider.is_configured() or not provider.supports(order.currency):
        raise PaymentStartError(_("Ce moyen de paiement n'est pas disponible pour cette boutique."))
    method = provider.method(method_code) if method_code else provider.methods[0]
    if method is None:
        raise PaymentStartError(_("Choisissez un moyen de paiement proposé."))
    if method.flow == Flow.OTP and not (otp.isdigit() and 4 <= len(otp) <= 8):
        raise PaymentStartError(_("Saisissez le code OTP reçu par SMS (4 à 8 chiffres)."))
    try:
        check_amount(order.total)
    except InvalidAmount:
        raise PaymentStartError(_("Le montant de cette commande n'est pas valide.")) from None
    if order.total < provider.minimum_amount:
        raise PaymentStartError(_("%(name)s n'accepte pas les paiements de moins de %(min)s.") % {"name": provider.name, "min": provider.minimum_amount})

    live = order.payments.filter(status=PaymentStatus.PENDING).first()
    if live and _in_flight(live):
        # A double submit or a provider switch while the first call is still
        # out: superseding it would lose what the provider answers (two charges).
        raise PaymentStartError(_("Un paiement est en train de démarrer pour cette commande. Patientez quelques secondes."), payment=live, follow=True)
    if live and live.provider == provider.code and live.method == method.code and method.flow != Flow.OTP:
        # Re-initiate only after an unknown outcome (P-1), and claim that
        # atomically: a second tab while the first call is in flight, or a
        # double click, gets the same attempt, never a second charge.
        claimed = Payment.objects.filter(pk=live.pk, status=PaymentStatus.PENDING, initiation_unknown=True).update(initiation_unknown=False)
        if not claimed:
            return live
        return _initiate(live, order, otp="")
    if live:
        live = check_payment(live.pk, source="supersede")
        if live.status == PaymentStatus.PENDING:
            cancel_payment(live.pk, reason="superseded by a new attempt")
        order.refresh_from_db()
        if order.status == Order.Status.PAID:
            raise PaymentStartError(_("Cette commande est déjà payée."))

    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if not order.is_payable:
            raise PaymentStartError(_("Cette commande ne peut plus être payée."))
        if order.payments.filter(status=PaymentStatus.PENDING).exists():
            raise PaymentStartError(_("Un paiement est déjà en cours pour cette commande."))
        _check_limits(order, method, payer_phone, now)
        deadline = now + timedelta(seconds=provider.payment_ttl or settings.PAYMENT_TTL)
        reserved_until = getattr(order, "reserved_until", None)
        if reserved_until is not None:
            # The order's hold has one lifetime; a new attempt never extends it.
            if reserved_until <= now + timedelta(seconds=60):
                raise PaymentStartError(_("Le délai de réservation de cette commande est écoulé. Repassez commande depuis le panier."))
            deadline = min(deadline, reserved_until)
        try:
            shop_services.reserve_stock_again(order)
        except shop_services.OutOfStock as exc:
            raise PaymentStartError(exc.message) from None
        payment = Payment.objects.create(
            order=order,
            provider=provider.code,
            method=method.code,
            payer_phone=payer_phone if method.needs_phone else "",
            amount=order.total,
            currency=order.currency,
            deadline=deadline,
            next_check_at=now + timedelta(seconds=poll_delay(0, provider)),
        )
        record(
            payment,
            provider.code,
            PaymentEvent.Kind.DECISION,
            "attempt created",
            {"method": method.code, "amount": payment.amount, "currency": payment.currency},
        )
    return _initiate(payment, order, otp=otp, provider=provider)


def _in_flight(payment: Payment) -> bool:
    """True while the attempt's initiation call may still be out (no answer
    stored, no unknown outcome recorded, younger than the call's timeouts)."""
    if payment.initiated_at or payment.initiation_unknown or payment.last_error:
        return False
    window = sum(settings.PAYMENT_HTTP_TIMEOUT) + 5
    return payment.created_at > timezone.now() - timedelta(seconds=window)


def _check_limits(order: Order, method, payer_phone: str, now) -> None:
    """Attempts per order and pushes per wallet number (anti-abuse)."""
    if order.payments.count() >= settings.PAYMENT_MAX_ATTEMPTS_PER_ORDER:
        raise PaymentStartError(_("Trop de tentatives de paiement pour cette commande. Contactez-nous pour la finaliser."))
    if method.needs_phone and payer_phone:
        recent = Payment.objects.filter(payer_phone=payer_phone, created_at__gte=now - timedelta(hours=1)).count()
        if recent >= settings.PAYMENT_MAX_PUSHES_PER_NUMBER:
            raise PaymentStartError(_("Trop de demandes de paiement vers ce numéro en une heure. Réessayez plus tard."))


def _initiate(payment: Payment, order: Order, otp: str, provider: Provider | None = None) -> Payment:
    provider = provider or get_provider(payment.provider)
    try:
        request = _payment_request(order, payment, provider, otp)
        initiation = provider.initiate(request)
    except ProviderError as exc:
        _journal_safely(payment, provider)
        return _initiation_failed(payment, provider, exc)
    except InvalidAmount as exc:
        _journal_safely(payment, provider)
        _finish_locally(payment.pk, PaymentStatus.FAILED, f"refused before the provider call: {exc}")
        raise PaymentStartError(_("Le montant de cette commande n'est pas valide.")) from None
    except Exception as exc:  # an answer the module chokes on (too deep, odd types): the vendor may have acted
        log.exception("initiation of payment %s: unreadable answer", payment.pk)
        _journal_safely(payment, provider)
        return _initiation_failed(
            payment, provider, ProviderError(f"{provider.code}: unreadable answer ({type(exc).__name__})", kind="malformed", unknown=True)
        )
    # Never send a shopper to a page the vendor does not own (a spoofed or
    # misconfigured answer); the reference is kept all the same.
    redirect_refused = bool(initiation.redirect_url) and not provider.allowed_redirect(initiation.redirect_url)
    now = timezone.now()
    payment.provider_reference = initiation.provider_reference[:512]
    payment.redirect_url = "" if redirect_refused else initiation.redirect_url
    payment.instructions = initiation.instructions
    payment.initiation_unknown = False
    payment.initiated_at = now
    payment.last_error = ""
    with transaction.atomic():
        # What the provider answered is kept whatever the attempt's state:
        # an attempt ended meanwhile must still be checked by its reference.
        Payment.objects.filter(pk=payment.pk).update(
            provider_reference=payment.provider_reference,
            redirect_url=payment.redirect_url,
            instructions=payment.instructions,
            initiation_unknown=False,
            initiated_at=now,
            updated_at=now,
        )
        still_pending = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(last_error="")
        if not still_pending:
            _watch_ended(payment.pk, "initiated after the attempt ended")
        else:
            transaction.on_commit(lambda: enqueue_poll(payment.pk, payment.next_check_at))
    decision = {"provider_reference": payment.provider_reference[:80], "redirect": bool(payment.redirect_url)}
    message = "initiated" if still_pending else "initiated after the attempt ended: watched until the provider can no longer take money"
    _journal_safely(payment, provider, PaymentEvent(payment=payment, provider=provider.code, kind=PaymentEvent.Kind.DECISION, message=message, data=decision))
    if not still_pending:
        # Ended meanwhile (another tab chose another provider): nobody is
        # sent to pay it; it is checked until it can no longer be paid.
        payment.refresh_from_db()
        return payment
    if redirect_refused:
        reason = f"redirect refused: {initiation.redirect_url[:200]!r} is not a {provider.name} page"
        _finish_locally(payment.pk, PaymentStatus.FAILED, reason, keep_stock=True, watch=False)
        raise PaymentStartError(
            _("%(name)s a répondu avec une page de paiement inattendue ; par prudence nous ne vous y envoyons pas. Réessayez ou choisissez un autre moyen.")
            % {"name": provider.name},
            payment=payment,
        )
    link_orphan_callbacks(payment)
    if initiation.outcome in (Outcome.FAILED, Outcome.SUCCEEDED):
        payment = apply_status(payment.pk, StatusResult(initiation.outcome, raw=initiation.raw, message="initiation answer"), source="initiate")
    return payment


def _initiation_failed(payment: Payment, provider: Provider, exc: ProviderError) -> Payment:
    """A timeout, a 5xx or an unreadable answer leaves the attempt pending
    with an unknown outcome (the provider may have acted); any other failure
    ends it. The order keeps its stock until its reservation ends. The
    shopper never sees the vendor's own words (they may echo credentials)."""
    error = scrub(str(exc), credentials_of(provider.config))[:500]
    if exc.unknown or (exc.status_code or 0) >= 500:
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            locked.initiation_unknown = True
            locked.last_error = error
            locked.next_check_at = timezone.now() + timedelta(seconds=provider.min_poll_interval)
            locked.save(update_fields=["initiation_unknown", "last_error", "next_check_at", "updated_at"])
            record(locked, provider.code, PaymentEvent.Kind.ERROR, "initiation outcome unknown", {"error": error})
            transaction.on_commit(lambda: enqueue_poll(locked.pk, locked.next_check_at))
        raise PaymentStartError(_("Le service de paiement n'a pas répondu à temps. Réessayez : vous ne serez pas débité deux fois."), payment=locked)
    _finish_locally(payment.pk, PaymentStatus.FAILED, f"initiation failed: {error}", keep_stock=True, watch=False)
    if exc.kind == "rejected":
        message = _("%(name)s a refusé ce paiement. Vérifiez le numéro ou le code, ou choisissez un autre moyen.") % {"name": provider.name}
    else:
        message = _("Le service de paiement ne répond pas. Réessayez dans un instant.")
    raise PaymentStartError(message, payment=payment)


def _finish_locally(payment_id: int, status: str, reason: str, keep_stock: bool = False, watch: bool = True) -> Payment:
    """End a pending attempt on our own decision (no provider answer). Unless
    the provider definitely refused it (``watch=False``), it stays watched:
    the shopper may still pay on the vendor's page or phone."""
    with transaction.atomic():
        order, payment = _lock(payment_id)
        if payment.is_final:
            return payment
        _finalise(payment, order, status, reason, keep_stock=keep_stock, watch=watch and status != PaymentStatus.FAILED)
        return payment


def _watch_ended(payment_id: int, reason: str) -> None:
    """Keep checking an attempt that ended on our side (inside a transaction)."""
    with transaction.atomic():
        order, payment = _lock(payment_id)
        if payment.status in (PaymentStatus.CANCELLED, PaymentStatus.EXPIRED) and not payment.needs_review:
            _start_watch(payment, get_provider(payment.provider), reason)
            payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])


def _start_watch(payment: Payment, provider: Provider, reason: str, at_least: timedelta | None = None) -> None:
    """Schedule slow checks of an ended attempt until the provider can no
    longer take money on it (caller saves ``watch_until``/``next_check_at``)."""
    now = timezone.now()
    until = max(payment.deadline, now) + timedelta(seconds=int(provider.config.get("late_payment_window") or provider.late_payment_window))
    if at_least is not None:
        until = max(until, now + at_least)
    payment.watch_until = max(payment.watch_until or until, until)
    payment.next_check_at = now + timedelta(seconds=settings.PAYMENT_LATE_CHECK_INTERVAL)
    due, pk = payment.next_check_at, payment.pk
    transaction.on_commit(lambda: enqueue_poll(pk, due))
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"watched until {payment.watch_until.isoformat()}: {reason}")


def _watched(payment: Payment, now=None) -> bool:
    return bool(payment.watch_until and payment.watch_until >= (now or timezone.now()))


def cancel_payment(payment_id: int, reason: str = "cancelled") -> Payment:
    """Cancel a live attempt on our side (shopper switched provider)."""
    return _finish_locally(payment_id, PaymentStatus.CANCELLED, reason, keep_stock=True)


# --- status ------------------------------------------------------------------------
def check_payment(payment_id: int, source: str = "poll", timeout: tuple[float, float] | None = None) -> Payment:
    """Ask the provider for the status of a payment and apply the answer.

    Safe to call any number of times, concurrently (Q-1, F-1): the provider
    call holds no lock, ``apply_status`` serialises the transition.
    """
    payment = Payment.objects.get(pk=payment_id)
    # A final attempt is re-asked while it is watched (the shopper may still
    # pay on the vendor's side), by staff, on the shopper's return, or when the
    # provider calls back about it: money for an attempt we ended is flagged.
    if payment.is_final and source not in REOPENING_SOURCES and not _watched(payment):
        return payment
    provider = get_provider(payment.provider, timeout=timeout)
    if source == "callback":
        Payment.objects.filter(pk=payment.pk).update(last_callback_check_at=timezone.now())
    try:
        result = None if provider.has_status_api else _result_from_callbacks(payment, provider)
        result = result or provider.fetch_status(payment_view(payment))
    except ProviderError as exc:
        result = StatusResult(Outcome.UNKNOWN, message=scrub(str(exc), credentials_of(provider.config)), retry_after=exc.retry_after)
    except Exception as exc:  # an answer the module cannot read must not wedge the payment
        log.exception("status of payment %s: unreadable answer", payment.pk)
        result = StatusResult(Outcome.UNKNOWN, message=f"unreadable status answer ({type(exc).__name__})")
    finally:
        _journal_safely(payment, provider)
    return apply_status(payment.pk, result, source=source)


def _journal_safely(payment: Payment, provider: Provider, *also: PaymentEvent) -> None:
    """Journal the exchanges; a row the database refuses must not stop the
    answer from being applied (it is logged instead)."""
    try:
        with transaction.atomic():
            record_exchanges(payment, provider, *also)
    except DatabaseError as exc:
        provider.exchanges.clear()
        log.warning("exchanges of payment %s not journalled: %s", payment.pk, type(exc).__name__)


def _lock(payment_id: int) -> tuple[Order, Payment]:
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    order = Order.objects.select_for_update().get(pk=order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    return order, payment


def apply_status(payment_id: int, result: StatusResult, source: str) -> Payment:
    """Apply a provider-reported status under lock (M-1). Idempotent."""
    with transaction.atomic():
        order, payment = _lock(payment_id)
        _apply(order, payment, result, source)
        return payment


def _apply(order: Order, payment: Payment, result: StatusResult, source: str) -> None:
    outcome = result.outcome
    if result.provider_reference and not payment.provider_reference:
        # Learnt after an initiation whose answer was lost (P-1).
        payment.provider_reference = result.provider_reference[:512]
        payment.save(update_fields=["provider_reference", "updated_at"])
    info = {"source": source, "outcome": outcome.value, "amount": result.amount, "currency": result.currency, "message": result.message[:200]}
    if payment.is_final:
        _apply_to_ended(order, payment, result, source, info)
        return
    if outcome in (Outcome.PENDING, Outcome.UNKNOWN):
        _still_pending(order, payment, result, source, info)
        return
    if outcome == Outcome.SUCCEEDED:
        _succeeded(order, payment, result, info)
        return
    status = OUTCOME_TO_STATUS[outcome]
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"{status} ({source})", info)
    _finalise(payment, order, status, result.message or str(outcome))


def _apply_to_ended(order: Order, payment: Payment, result: StatusResult, source: str, info: dict) -> None:
    """A provider answer about an attempt that already ended."""
    outcome = result.outcome
    if outcome == Outcome.SUCCEEDED and payment.status != PaymentStatus.SUCCEEDED:
        payment.watch_until = payment.next_check_at = None
        payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
        _flag(payment, order, f"provider reports success after the attempt ended as {payment.status}: refund or fulfil by hand", info)
        return
    if payment.status == PaymentStatus.SUCCEEDED or payment.needs_review:
        record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"ignored ({outcome.value}): already {payment.status}", info)
        return
    now = timezone.now()
    if outcome in (Outcome.FAILED, Outcome.EXPIRED, Outcome.CANCELLED) and payment.watch_until is not None:
        # The provider can no longer take money on it: the watch ends.
        payment.watch_until = payment.next_check_at = None
        payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
        record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"{outcome.value} at the provider: no longer watched ({source})", info)
        return
    if source == "callback" and outcome == Outcome.UNKNOWN and not _watched(payment, now):
        # The vendor called about it and its status API did not answer: never
        # drop that; keep asking for a while.
        _start_watch(payment, get_provider(payment.provider), "callback about an ended attempt, status unknown", at_least=timedelta(hours=1))
        payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
        return
    if _watched(payment, now):
        if source in SCHEDULING_SOURCES:
            payment.next_check_at = min(now + timedelta(seconds=settings.PAYMENT_LATE_CHECK_INTERVAL), payment.watch_until)
            payment.save(update_fields=["next_check_at", "updated_at"])
            due, pk = payment.next_check_at, payment.pk
            transaction.on_commit(lambda: enqueue_poll(pk, due))
        record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"ended attempt still {outcome.value} at the provider ({source})", info)
        return
    if payment.watch_until is not None:
        payment.watch_until = payment.next_check_at = None
        payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
        if outcome == Outcome.UNKNOWN:
            _flag(payment, order, "status still unknown when the watch of this ended attempt ran out: check with the provider", info)
            return
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"ignored ({outcome.value}): already {payment.status}", info)


def _still_pending(order: Order, payment: Payment, result: StatusResult, source: str, info: dict) -> None:
    now = timezone.now()
    if source not in SCHEDULING_SOURCES:
        record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"still {result.outcome.value} ({source})", info)
        return
    provider = get_provider(payment.provider)
    if now >= payment.deadline:
        if result.outcome == Outcome.UNKNOWN or not provider.has_status_api:
            # No definite answer by the deadline: money may have moved.
            payment.needs_review = True
            payment.review_reason = _append(payment.review_reason, "status unknown at the deadline: check with the provider")
        record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"expired at the deadline ({result.outcome.value})", info)
        _finalise(payment, order, PaymentStatus.EXPIRED, "deadline passed", watch=not payment.needs_review)
        return
    delay = poll_delay(payment.check_count, provider, result.retry_after)
    payment.check_count += 1
    payment.next_check_at = min(now + timedelta(seconds=delay), payment.deadline)
    if result.outcome == Outcome.UNKNOWN:
        payment.last_error = result.message[:500]
    payment.save(update_fields=["check_count", "next_check_at", "last_error", "needs_review", "review_reason", "updated_at"])
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"still {result.outcome.value}, next check in {delay:.0f}s", info)
    due = payment.next_check_at
    transaction.on_commit(lambda: enqueue_poll(payment.pk, due))


def _succeeded(order: Order, payment: Payment, result: StatusResult, info: dict) -> None:
    problems = []
    if result.amount is None or result.amount != payment.amount:
        problems.append(f"amount {result.amount!r} reported, {payment.amount} expected")
    if not result.currency or result.currency.upper() != payment.currency:
        problems.append(f"currency {result.currency!r} reported, {payment.currency} expected")
    if problems:
        # Not paid: a human compares with the provider's back office (M-4).
        payment.next_check_at = None
        payment.save(update_fields=["next_check_at", "updated_at"])
        _flag(payment, order, "success with mismatching money: " + "; ".join(problems), info)
        return
    payment.status = PaymentStatus.SUCCEEDED
    payment.finalised_at = timezone.now()
    payment.next_check_at = None
    payment.save(update_fields=["status", "finalised_at", "next_check_at", "updated_at"])
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"succeeded ({info['source']})", info)
    if order.status == Order.Status.PAID or order.paid_at:
        _flag(payment, order, "second successful payment for an order already paid: refund it")
        return
    if not order.stock_reserved:
        try:
            shop_services.reserve_stock_again(order)
        except shop_services.OutOfStock as exc:
            _flag(payment, order, f"paid after its stock was released and {exc.product.name} is now short: refund or restock")
            return
    if shop_services.mark_paid(order):
        order_id = order.pk
        transaction.on_commit(lambda: send_order_confirmation(order_id))


def _finalise(payment: Payment, order: Order, status: str, reason: str, keep_stock: bool = False, watch: bool = False) -> None:
    payment.status = status
    payment.finalised_at = timezone.now()
    payment.next_check_at = None
    if status != PaymentStatus.SUCCEEDED:
        payment.last_error = reason[:500]
    if watch and status in (PaymentStatus.CANCELLED, PaymentStatus.EXPIRED):
        _start_watch(payment, get_provider(payment.provider), reason)
    payment.save(update_fields=["status", "finalised_at", "next_check_at", "watch_until", "last_error", "needs_review", "review_reason", "updated_at"])
    if keep_stock or order.status != Order.Status.PENDING_PAYMENT:
        return
    if order.payments.filter(status=PaymentStatus.PENDING).exclude(pk=payment.pk).exists():
        return
    if shop_services.release_stock(order, ORDER_STATUS_AFTER.get(status, Order.Status.PENDING_PAYMENT)):
        record(payment, payment.provider, PaymentEvent.Kind.DECISION, "order stock released", {"order": order.pk})


def _flag(payment: Payment, order: Order, reason: str, info: dict | None = None) -> None:
    payment.needs_review = True
    payment.review_reason = _append(payment.review_reason, reason)
    payment.save(update_fields=["needs_review", "review_reason", "updated_at"])
    record(payment, payment.provider, PaymentEvent.Kind.DECISION, f"needs review: {reason}", info or {})
    subject = f"Payment {payment.reference} needs review"
    body = f"Order {order.number}, {payment.provider} {payment.amount} {payment.currency}: {reason}"
    transaction.on_commit(lambda: alert_staff(subject, body))


def _append(existing: str, reason: str) -> str:
    return f"{existing}\n{reason}".strip() if reason not in existing else existing


# --- callbacks ------------------------------------------------------------------------
def callback_payment(provider: str, reference: str, provider_reference: str) -> Payment | None:
    """The payment a callback is about: by our reference, else the vendor's."""
    if reference:
        try:
            return Payment.objects.filter(provider=provider, reference=uuid.UUID(str(reference))).first()
        except ValueError:
            pass
    if provider_reference:
        return Payment.objects.filter(provider=provider, provider_reference=provider_reference[:512]).first()
    return None


def enqueue_callback(event_id: int, payment_id: int) -> None:
    from .tasks import process_callback

    try:
        process_callback.delay(event_id)
    except Exception as exc:  # broker down: the stored row and the poller cover it
        log.warning("callback event %s not enqueued (%s); payment %s stays on the poll schedule", event_id, type(exc).__name__, payment_id)


def _orphans(since):
    return PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK, valid=True, payment__isnull=True, created_at__gte=since)


def link_orphan_callbacks(payment: Payment | None = None, now=None, batch: int = 100) -> list[int]:
    """Attach valid callbacks that arrived before their payment was known
    (LengoPay's ``pay_id`` while the create answer was still in flight) and
    act on each once. With ``payment``: only that payment's (at initiation);
    without: any (the sweep), for ``PAYMENT_ORPHAN_WINDOW`` seconds."""
    now = now or timezone.now()
    if payment is not None:
        if not payment.provider_reference:
            return []
        rows = _orphans(payment.created_at - timedelta(seconds=5)).filter(provider=payment.provider, data__provider_reference=payment.provider_reference)
    else:
        rows = _orphans(now - timedelta(seconds=settings.PAYMENT_ORPHAN_WINDOW)).order_by("-created_at")
    linked = []
    for event_id, provider, data in rows.values_list("pk", "provider", "data")[:batch]:
        data = data if isinstance(data, dict) else {}
        target = payment or callback_payment(provider, str(data.get("reference") or ""), str(data.get("provider_reference") or ""))
        if target is None:
            continue
        if PaymentEvent.objects.filter(pk=event_id, payment__isnull=True).update(payment=target, message="callback linked to its payment"):
            linked.append(event_id)
            pk = target.pk
            transaction.on_commit(lambda event_id=event_id, pk=pk: enqueue_callback(event_id, pk))
    return linked


def process_callback(event_id: int) -> Payment | None:
    """Act on a stored, locally-valid callback: it only triggers a status
    check; for a provider without a status API the check reads the result
    from the stored callbacks (``_result_from_callbacks``).

    Unsigned callbacks cost us an outbound call each, so one payment gets at
    most one callback-triggered check per ``PAYMENT_CALLBACK_CHECK_INTERVAL``;
    a callback inside that interval moves the next scheduled check forward
    instead (nothing is dropped)."""
    payment_id = PaymentEvent.objects.values_list("payment_id", flat=True).get(pk=event_id)
    if payment_id is None:
        return None
    payment = Payment.objects.get(pk=payment_id)
    now = timezone.now()
    interval = timedelta(seconds=settings.PAYMENT_CALLBACK_CHECK_INTERVAL)
    if payment.last_callback_check_at and payment.last_callback_check_at > now - interval and get_provider(payment.provider).has_status_api:
        return _check_soon(payment_id, payment.last_callback_check_at + interval)
    return check_payment(payment_id, source="callback")


def _check_soon(payment_id: int, due) -> Payment:
    """Bring the next check of a live or watched attempt forward to ``due``."""
    with transaction.atomic():
        order, payment = _lock(payment_id)
        if payment.status == PaymentStatus.PENDING or _watched(payment):
            if payment.next_check_at is None or payment.next_check_at > due:
                payment.next_check_at = due
                payment.save(update_fields=["next_check_at", "updated_at"])
                transaction.on_commit(lambda: enqueue_poll(payment_id, due))
        elif payment.status != PaymentStatus.SUCCEEDED and not payment.needs_review:
            _start_watch(payment, get_provider(payment.provider), "callback about an ended attempt", at_least=timedelta(hours=1))
            payment.save(update_fields=["watch_until", "next_check_at", "updated_at"])
        record(payment, payment.provider, PaymentEvent.Kind.DECISION, "callback: checked moments ago, next check brought forward")
        return payment


def record_failure(event_id: int, trace: str) -> None:
    """Journal a crash while handling a stored callback (C-20)."""
    event = PaymentEvent.objects.filter(pk=event_id).values("payment_id", "provider").first()
    if event:
        PaymentEvent.objects.create(
            payment_id=event["payment_id"],
            provider=event["provider"],
            kind=PaymentEvent.Kind.ERROR,
            message=f"handling callback {event_id} failed",
            data={"event": event_id, "traceback": trace[-4000:]},
        )


def _result_from_callbacks(payment: Payment, provider: Provider) -> StatusResult | None:
    """The newest final result carried by a valid stored callback, for
    providers whose callback is the only source of truth (LengoPay)."""
    events = payment.events.filter(kind=PaymentEvent.Kind.CALLBACK, valid=True).order_by("-created_at", "-id")
    for body, headers in events.values_list("body", "headers")[:20]:
        try:
            info = provider.parse_callback(bytes(body or b""), headers or {})
        except Exception:  # a row that no longer parses is skipped, not fatal
            continue
        if info.result is not None and info.result.outcome not in (Outcome.PENDING, Outcome.UNKNOWN):
            return info.result
    return None


# --- sweep -----------------------------------------------------------------------------
@dataclass
class SweepReport:
    enqueued: list[int]
    callbacks_linked: int = 0
    emails: int = 0
    orders_expired: int = 0


def sweep(now=None, lease_seconds: int = 60, batch: int = 200) -> SweepReport:
    """Re-queue every pending payment whose next check is overdue, once.

    ``skip_locked`` plus moving ``next_check_at`` forward by a lease make two
    sweeps at once enqueue each payment once (Q-7, F-5). Also retries unsent
    confirmation e-mails and expires unpaid orders whose stock is still held
    with no live attempt.
    """
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.PAYMENT_SWEEP_GRACE)
    with transaction.atomic():
        ids = list(
            Payment.objects.select_for_update(skip_locked=True)
            .filter(Q(status=PaymentStatus.PENDING) | Q(watch_until__gte=now), needs_review=False, next_check_at__lte=overdue)
            .order_by("next_check_at")
            .values_list("pk", flat=True)[:batch]
        )
        if ids:
            lease = now + timedelta(seconds=lease_seconds)
            Payment.objects.filter(pk__in=ids).update(next_check_at=lease)
            transaction.on_commit(lambda: [enqueue_poll(pk, lease, now=True) for pk in ids])
    report = SweepReport(enqueued=ids, callbacks_linked=len(link_orphan_callbacks(now=now)))
    for order_id in Order.objects.filter(status=Order.Status.PAID, confirmation_sent_at__isnull=True).values_list("pk", flat=True)[:50]:
        report.emails += send_order_confirmation(order_id)
    report.orders_expired = expire_stale_orders(now)
    return report


def expire_stale_orders(now) -> int:
    """Release stock of unpaid orders with no live attempt after PAYMENT_TTL
    (e.g. the provider refused to start and the shopper left, P-2)."""
    cutoff = now - timedelta(seconds=settings.PAYMENT_TTL)
    # An order's hold has one lifetime (``reserved_until``); older orders
    # without one fall back to their age.
    held_too_long = Q(reserved_until__lt=now) | Q(reserved_until__isnull=True, created_at__lt=cutoff)
    candidates = Order.objects.filter(held_too_long, status=Order.Status.PENDING_PAYMENT, stock_reserved=True).exclude(payments__status=PaymentStatus.PENDING)
    expired = 0
    for order_id in candidates.values_list("pk", flat=True)[:100]:
        with transaction.atomic():
            order = Order.objects.select_for_update(skip_locked=True).filter(pk=order_id).first()
            if order is None or order.status != Order.Status.PENDING_PAYMENT:
                continue
            if order.payments.filter(status=PaymentStatus.PENDING).exists():
                continue
            expired += shop_services.release_stock(order, Order.Status.EXPIRED)
    return expired


def overdue_pending(bound: timedelta = timedelta(minutes=15)):
    """Payments still pending past their deadline + bound (M-7 metric)."""
    return Payment.objects.filter(status=PaymentStatus.PENDING, needs_review=False, deadline__lt=timezone.now() - bound)


__all__ = [
    "FINAL_STATUSES",
    "PaymentStartError",
    "apply_status",
    "cancel_payment",
    "check_payment",
    "process_callback",
    "start_payment",
    "sweep",
]
