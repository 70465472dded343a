"""Starting a payment: from the shopper's choice to the provider's answer.

``start_payment`` runs in steps: refuse what cannot be paid (``_choose``),
deal with an attempt already open (``_reuse_or_supersede``), create the
attempt with the order's stock held (``_create_attempt``), then call the
provider with no lock held (``_initiate``) and keep whatever it answered.

When the shopper chose a wallet, the view passes the wallet's other routes
(``fallback``): if the initiation failed before anything can have reached
her phone (``_safe_to_move_on``), the next route is started once, in the
same request, as a new attempt on the same order; the first one is ended
first, so the one-pending-attempt rule holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import services as shop_services
from shop import workflow
from shop.locks import hold_order, lock_order
from shop.models import Order

from ..models import Payment, PaymentEvent, PaymentStatus
from ..providers import UnknownProvider, get_provider
from ..providers.base import (
    Flow,
    Initiation,
    InvalidAmount,
    Method,
    Outcome,
    PaymentRequest,
    Provider,
    ProviderError,
    StatusResult,
    check_amount,
)
from ..redaction import credentials_of, scrub
from . import gateway, health
from .apply import apply_status, cancel_payment, check_payment, finish_locally, watch_ended
from .callbacks import link_orphan_callbacks
from .journal import journal_safely, payment_journal, record
from .locks import lock
from .schedule import poll_delay, wake_first_polls

log = logging.getLogger(__name__)


class PaymentStartError(Exception):
    """Checkout cannot start this payment; ``message`` is for the shopper."""

    def __init__(
        self,
        message: Any,
        payment: Payment | None = None,
        follow: bool = False,
        provider_error: ProviderError | None = None,
    ):
        super().__init__(str(message))
        self.message = message
        self.payment = payment
        # The provider's failure, when the initiation call failed.
        self.provider_error = provider_error
        # True: the shopper should follow ``payment`` (its waiting page).
        self.follow = follow


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def _payment_request(
    order: Order, payment: Payment, provider: Provider, otp: str
) -> PaymentRequest:
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
        description=_("Commande %(number)s — %(shop)s")
        % {"number": order.number, "shop": settings.SHOP_NAME},
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


def start_payment(
    order: Order,
    provider_code: str,
    method_code: str = "",
    payer_phone: str = "",
    otp: str = "",
    wallet: str = "",
    fallback: Sequence[tuple[str, str]] = (),
) -> Payment:
    """Create an attempt for ``order`` and ask the provider to start it.

    Returns the payment (with ``redirect_url`` or ``instructions``). A second
    call while an attempt is live returns that attempt instead of creating a
    new charge, unless the shopper picked another provider or method, in
    which case the live one is checked and, if still unpaid, cancelled (and
    watched). ``wallet`` is recorded on the attempt (route health);
    ``fallback`` lists the (provider, method) routes to try, the first only,
    when this initiation fails safely. Raises ``PaymentStartError`` with a
    message for the shopper.
    """
    provider, method = _choose(order, provider_code, method_code, otp)
    live = _reuse_or_supersede(order, provider, method, wallet)
    if live is not None:
        return live
    payment = _create_attempt(order, provider, method, payer_phone, wallet)
    try:
        return _initiate(payment, order, otp=otp, provider=provider)
    except PaymentStartError as exc:
        if not fallback or not _safe_to_move_on(exc, method):
            raise
        first = exc
    return _fall_back(order, payment, first, fallback[0], payer_phone, wallet)


# ``ProviderError.kind`` of a vendor's definite "not created" answer.
REFUSALS = frozenset({"rejected", "config"})


def _safe_to_move_on(exc: PaymentStartError, method: Method) -> bool:
    """True when the failed initiation cannot have put anything on the
    shopper's phone, so another route may be started at once:

    * no connection to the vendor was made (refused, DNS, connect timeout);
    * a definite refusal of the create call (the vendor's "not created");
    * any failure of a hosted page's create call: the shopper never got the
      page, and nothing reaches her phone before she opens it.

    Never after an OTP was typed (a refusal may be her wrong code), and
    never for a push whose create may have been received (timeout, 5xx,
    unreadable answer): the vendor may have sent the prompt already."""
    error = exc.provider_error
    if error is None or exc.payment is None or method.flow == Flow.OTP:
        return False
    if not error.reached:
        return True
    if method.flow == Flow.REDIRECT:
        return True
    # A push: only the vendor's own refusal says nothing was created (a reset
    # connection, a 5xx or a timeout may come after the vendor acted).
    return error.kind in REFUSALS and not error.unknown


def _fall_back(
    order: Order,
    failed: Payment,
    first: PaymentStartError,
    route: tuple[str, str],
    payer_phone: str,
    wallet: str,
) -> Payment:
    """End the ``failed`` attempt, then start ``route`` as a new attempt."""
    reason = f"moved to {route[0]}:{route[1]}: {str(first.provider_error)[:200]}"
    # A failure left pending (unknown) is ended and watched; a refusal is
    # already final. Either way no attempt is live before the next one.
    finish_locally(failed.pk, PaymentStatus.CANCELLED, reason, keep_stock=True)
    provider, method = _choose(order, route[0], route[1], otp="")
    try:
        payment = _create_attempt(order, provider, method, payer_phone, wallet)
    except PaymentStartError:
        raise first from None
    record(
        payment,
        provider.code,
        PaymentEvent.Kind.DECISION,
        "fallback attempt",
        {"after": str(failed.reference), "provider": failed.provider, "method": failed.method},
    )
    log.info("payment %s: %s failed safely, moved to %s", failed.reference, failed.provider, route)
    return _initiate(payment, order, otp="", provider=provider)


def _choose(
    order: Order, provider_code: str, method_code: str, otp: str
) -> tuple[Provider, Method]:
    """The provider and method, or ``PaymentStartError`` for what cannot be paid."""
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
        raise PaymentStartError(
            _("%(name)s n'accepte pas les paiements de moins de %(min)s.")
            % {"name": provider.name, "min": provider.minimum_amount}
        )
    return provider, method


def _reuse_or_supersede(
    order: Order, provider: Provider, method: Method, wallet: str = ""
) -> Payment | None:
    """The open attempt to return as it is, or None once any open attempt has
    been superseded (checked, then cancelled and watched). The same route
    for another wallet (Novasend carries several) is another attempt."""
    live = order.payments.filter(status=PaymentStatus.PENDING).first()
    if live is None:
        return None
    if _in_flight(live):
        # A double submit or a provider switch while the first call is still
        # out: superseding it would lose what the provider answers (two charges).
        raise PaymentStartError(
            _(
                "Un paiement est en train de démarrer pour cette commande. Patientez quelques "
                "secondes."
            ),
            payment=live,
            follow=True,
        )
    same = (live.provider, live.method, live.wallet) == (provider.code, method.code, wallet)
    if same and method.flow != Flow.OTP:
        # Re-initiate only after an unknown outcome, and claim that
        # atomically: a second tab or a double click gets the same attempt,
        # never a second charge.
        claimed = Payment.objects.filter(
            pk=live.pk, status=PaymentStatus.PENDING, initiation_unknown=True
        ).update(initiation_unknown=False)
        return _initiate(live, order, otp="") if claimed else live
    live = check_payment(live.pk, source="supersede")
    if live.status == PaymentStatus.PENDING:
        cancel_payment(live.pk, reason="superseded by a new attempt")
    order.refresh_from_db()
    if order.status == Order.Status.PAID:
        raise PaymentStartError(_("Cette commande est déjà payée."))
    return None


def _create_attempt(
    order: Order, provider: Provider, method: Method, payer_phone: str, wallet: str = ""
) -> Payment:
    """A new pending attempt, the order's stock held, within the order's one
    reservation lifetime (a new attempt never extends it)."""
    now = timezone.now()
    with transaction.atomic():
        order = lock_order(order.pk)
        if not order.is_payable:
            raise PaymentStartError(_("Cette commande ne peut plus être payée."))
        attempts = order.payments.aggregate(
            all=Count("id"), pending=Count("id", filter=Q(status=PaymentStatus.PENDING))
        )
        if attempts["pending"]:
            raise PaymentStartError(_("Un paiement est déjà en cours pour cette commande."))
        _check_limits(attempts["all"], method, payer_phone, now)
        deadline = now + timedelta(seconds=provider.payment_ttl or settings.PAYMENT_TTL)
        if order.reserved_until is not None:
            if order.reserved_until <= now + timedelta(seconds=60):
                raise PaymentStartError(
                    _(
                        "Le délai de réservation de cette commande est écoulé. Repassez commande "
                        "depuis le panier."
                    )
                )
            deadline = min(deadline, order.reserved_until)
        try:
            shop_services.reserve_stock_again(order, workflow.SHOPPER)
        except shop_services.OutOfStock as exc:
            raise PaymentStartError(exc.message) from None
        except workflow.MoveRefused:
            raise PaymentStartError(_("Cette commande ne peut plus être payée.")) from None
        payment = Payment.objects.create(
            order=order,
            provider=provider.code,
            method=method.code,
            payer_phone=payer_phone if method.needs_phone else "",
            wallet=wallet[:40],
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
    return payment


def _in_flight(payment: Payment) -> bool:
    """True while the attempt's initiation call may still be out (no answer
    stored, no unknown outcome recorded, younger than the call's timeouts)."""
    if payment.initiated_at or payment.initiation_unknown or payment.last_error:
        return False
    window = sum(settings.PAYMENT_HTTP_TIMEOUT) + 5
    return payment.created_at > timezone.now() - timedelta(seconds=window)


def _check_limits(attempts: int, method, payer_phone: str, now) -> None:
    """Attempts per order and pushes per wallet number (anti-abuse)."""
    if attempts >= settings.PAYMENT_MAX_ATTEMPTS_PER_ORDER:
        raise PaymentStartError(
            _(
                "Trop de tentatives de paiement pour cette commande. Contactez-nous pour la "
                "finaliser."
            )
        )
    if method.needs_phone and payer_phone:
        recent = Payment.objects.filter(
            payer_phone=payer_phone, created_at__gte=now - timedelta(hours=1)
        ).count()
        if recent >= settings.PAYMENT_MAX_PUSHES_PER_NUMBER:
            raise PaymentStartError(
                _("Trop de demandes de paiement vers ce numéro en une heure. Réessayez plus tard.")
            )


def _initiate(
    payment: Payment, order: Order, otp: str, provider: Provider | None = None
) -> Payment:
    """Call the provider (no lock held), keep its answer, and send nobody to a
    page the vendor does not own."""
    provider = provider or get_provider(payment.provider)
    initiation = _call_provider(payment, order, otp, provider)
    # A spoofed or misconfigured answer: the reference is kept all the same.
    redirect_refused = bool(initiation.redirect_url) and not provider.allowed_redirect(
        initiation.redirect_url
    )
    if not _keep_answer(payment, provider, initiation, redirect_refused):
        # Ended meanwhile (another tab chose another provider): nobody is
        # sent to pay it; it is checked until it can no longer be paid.
        payment.refresh_from_db()
        return payment
    if redirect_refused:
        reason = (
            f"redirect refused: {initiation.redirect_url[:200]!r} is not a {provider.name} page"
        )
        finish_locally(payment.pk, PaymentStatus.FAILED, reason, keep_stock=True, watch=False)
        raise PaymentStartError(
            _(
                "%(name)s a répondu avec une page de paiement inattendue ; par prudence nous ne "
                "vous y envoyons pas. Réessayez ou choisissez un autre moyen."
            )
            % {"name": provider.name},
            payment=payment,
        )
    if provider.callbacks_may_precede_reference:
        link_orphan_callbacks(payment)
    if initiation.outcome in (Outcome.FAILED, Outcome.SUCCEEDED):
        payment = apply_status(
            payment.pk,
            StatusResult(initiation.outcome, raw=initiation.raw, message="initiation answer"),
            source="initiate",
        )
    return payment


def _call_provider(payment: Payment, order: Order, otp: str, provider: Provider) -> Initiation:
    """The provider's answer, or ``PaymentStartError`` (the attempt then left
    open with an unknown outcome, or ended)."""
    request = _payment_request(order, payment, provider, otp)
    try:
        return gateway.call(
            provider,
            "initiation",
            lambda: provider.initiate(request),
            payment_journal(payment, provider.code),
        )
    except ProviderError as exc:  # scrubbed; an unreadable answer is marked unknown
        _initiation_failed(payment, provider, exc)
    except InvalidAmount as exc:
        finish_locally(payment.pk, PaymentStatus.FAILED, f"refused before the provider call: {exc}")
        raise PaymentStartError(_("Le montant de cette commande n'est pas valide.")) from None


def _keep_answer(
    payment: Payment, provider: Provider, initiation: Initiation, redirect_refused: bool
) -> bool:
    """Store what the provider answered whatever the attempt's state (an
    attempt ended meanwhile must still be checked by its reference); True when
    the attempt is still pending."""
    now = timezone.now()
    payment.provider_reference = initiation.provider_reference[:512]
    payment.redirect_url = "" if redirect_refused else initiation.redirect_url
    payment.instructions = initiation.instructions
    payment.initiation_unknown = False
    payment.initiated_at = now
    payment.last_error = ""
    with transaction.atomic():
        # The shop's lock order (order, then payment): the order row first,
        # then the payment's, taken by the UPDATE itself (nothing else of it is
        # read here); an ended attempt's watch below locks the order again,
        # never inverted.
        hold_order(payment.order_id)
        answer = {
            "provider_reference": payment.provider_reference,
            "redirect_url": payment.redirect_url,
            "instructions": payment.instructions,
            "initiation_unknown": False,
            "initiated_at": now,
            "updated_at": now,
        }
        # One UPDATE while the attempt is pending (the usual case); a second
        # keeps the answer if the attempt ended meanwhile.
        pending = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING)
        still_pending = bool(pending.update(**answer, last_error=""))
        if not still_pending:
            Payment.objects.filter(pk=payment.pk).update(**answer)
        if still_pending:
            # The first check is the row's ``next_check_at``: no Celery message
            # per payment, at most one wake-up per window (services/schedule.py).
            transaction.on_commit(lambda: wake_first_polls(payment.pk, payment.next_check_at))
        else:
            watch_ended(payment.pk, "initiated after the attempt ended")
        # The decision is ours (no vendor text but the reference, cut): it is
        # written with the change it describes, as "attempt created" is.
        record(
            payment,
            provider.code,
            PaymentEvent.Kind.DECISION,
            "initiated"
            if still_pending
            else "initiated after the attempt ended: watched until the provider can no longer "
            "take it",
            {
                "provider_reference": payment.provider_reference[:80],
                "redirect": bool(payment.redirect_url),
            },
        )
    if provider.exchanges:  # gateway.call journals them; any left are journalled apart
        journal_safely(payment, provider)
    return still_pending


def _initiation_failed(payment: Payment, provider: Provider, exc: ProviderError) -> NoReturn:
    """A timeout, a 5xx or an unreadable answer leaves the attempt pending
    with an unknown outcome (the provider may have acted); any other failure
    ends it. The order keeps its stock until its reservation ends. The
    shopper never sees the vendor's own words (they may echo credentials)."""
    error = scrub(str(exc), credentials_of(provider.config))[:500]
    if exc.unknown or (exc.status_code or 0) >= 500:
        with transaction.atomic():
            locked = lock(payment.pk)[1]
            locked.initiation_unknown = True
            locked.last_error = error
            locked.next_check_at = timezone.now() + timedelta(seconds=provider.min_poll_interval)
            locked.save(
                update_fields=["initiation_unknown", "last_error", "next_check_at", "updated_at"]
            )
            record(
                locked,
                provider.code,
                PaymentEvent.Kind.ERROR,
                "initiation outcome unknown",
                {"error": error},
            )
            transaction.on_commit(lambda: wake_first_polls(locked.pk, locked.next_check_at))
            pk = locked.pk
            transaction.on_commit(lambda: health.record_initiation_error(pk), robust=True)
        raise PaymentStartError(
            _(
                "Le service de paiement n'a pas répondu à temps. Réessayez : vous ne serez pas "
                "débité deux fois."
            ),
            payment=locked,
            provider_error=exc,
        )
    finish_locally(
        payment.pk,
        PaymentStatus.FAILED,
        f"initiation failed: {error}",
        keep_stock=True,
        watch=False,
    )
    if exc.kind == "rejected":
        # Named as the shopper knows it: her wallet ("Orange Money"), not our aggregator.
        method = provider.method(payment.method)
        wallets = method.wallets if method else ()
        message = _(
            "%(name)s a refusé ce paiement. Vérifiez le numéro ou le code, ou choisissez un autre "
            "moyen."
        ) % {"name": wallets[0] if len(wallets) == 1 else provider.name}
    else:
        message = _("Le service de paiement ne répond pas. Réessayez dans un instant.")
    raise PaymentStartError(message, payment=payment, provider_error=exc)
