"""Payment pages and the provider webhook.

Thin views: they parse the request, call ``payments.services`` and render.
The order's token in the URL is what proves a guest holds the order; every
lookup joins on it, so another order's token or a bare payment reference
gives 404.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from django.conf import settings
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from ashtech_store.client_ip import session_or_ip
from shop import pay_on_delivery, phones
from shop.cart import remember_order
from shop.models import Order

from . import routing, services
from .models import Payment
from .offers import WalletChoice, offer_usable, offers_for, wallet_choices
from .providers import PROVIDER_CLASSES, UnknownProvider, get_provider, provider_class
from .providers.base import Flow
from .services import health

log = logging.getLogger(__name__)


# --- choosing and starting a payment ------------------------------------------
def _payer_phone(raw: str, order: Order, countries: tuple[str, ...]) -> str:
    """E.164 of the wallet to debit (the order's phone when none is typed)."""
    refused = _("Ce moyen de paiement n'accepte que les numéros de : %(countries)s.")
    return phones.normalise(raw or order.phone, order.country, countries, refused=refused)


@never_cache
@ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_PAYMENT_START, method="POST", block=True)
@ratelimit(
    key=session_or_ip,
    rate=lambda g, r: settings.RATELIMIT_PAYMENT_START_PER_SESSION,
    method="POST",
    block=True,
)
@require_http_methods(["GET", "POST"])
def pay(request, token: str):
    """Choose how to pay an order (a wallet, or an aggregator under "Autres
    moyens"), then start the attempt on the route the shop picks for it."""
    order = get_object_or_404(Order, token=token)
    remember_order(request, order)
    # Route health: one cached snapshot, never a query per route.
    context = {"order": order, "offers": offers_for(order), "stored": health.snapshot()}
    if not order.is_payable:
        return redirect(order)
    if request.method == "GET":
        live = order.payments.filter(status="pending").only("reference").first()
        if live is not None and "autre" not in request.GET:
            # A shopper coming back by themselves (Novasend has no return URL)
            # lands on the page that follows the open attempt, not a new choice.
            return redirect("payments:wait", token=order.token, reference=live.reference)
        context["chosen"] = request.GET.get("choice", "")
        context["last_outcome"] = _last_outcome(order)
        return _page(request, "payments/pay.html", context)

    choice = request.POST.get("choice", "")
    context["chosen"] = choice
    try:
        offer, wallet, fallback = _route_for(choice, order, context)
    except Unavailable as exc:
        context["error"] = exc.message
        return _page(request, "payments/pay.html", context, status=400)
    method = offer["method"]
    payer_phone = ""
    needs_phone = [o for o in [offer, *fallback] if o["method"].needs_phone]
    if needs_phone:
        first = needs_phone[0]
        try:
            payer_phone = _payer_phone(
                request.POST.get("payer_phone", ""),
                order,
                first["method"].countries or first["provider"].countries,
            )
        except phones.InvalidPhone as exc:
            context["error"] = str(exc)
            context["payer_phone"] = request.POST.get("payer_phone", "")[:30]
            return _page(request, "payments/pay.html", context, status=400)
    otp = request.POST.get("otp", "").strip()
    if method.flow == Flow.OTP and "otp" not in request.POST:
        context.update(offer=offer, payer_phone=payer_phone)
        return _page(request, "payments/otp.html", context)
    try:
        payment = services.start_payment(
            order,
            offer["provider"].code,
            method.code,
            payer_phone=payer_phone,
            otp=otp,
            wallet=wallet,
            fallback=[(o["provider"].code, o["method"].code) for o in fallback],
        )
    except services.PaymentStartError as exc:
        if exc.follow and exc.payment is not None:
            return redirect("payments:wait", token=order.token, reference=exc.payment.reference)
        order.refresh_from_db(fields=["status"])
        if not order.is_payable:
            # A second "Valider" of an OTP that already paid: the paid order, not "déjà payée".
            return redirect(order)
        context["error"] = exc.message
        template = "payments/otp.html" if method.flow == Flow.OTP else "payments/pay.html"
        context.update(offer=offer, payer_phone=payer_phone)
        return _page(request, template, context, status=400 if exc.payment is None else 200)
    if payment.redirect_url and payment.status == "pending":
        return HttpResponseRedirect(payment.redirect_url)
    return redirect("payments:wait", token=order.token, reference=payment.reference)


class Unavailable(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _route_for(choice: str, order: Order, context: dict) -> tuple[dict, str, list]:
    """The offer to start, the wallet to record and the safe fallbacks, for
    what the shopper chose: a wallet (the shop picks its route, maybe
    exploring) or one aggregator's offer. A DOWN choice is refused, whatever
    the form said."""
    by_value = {o["value"]: o for o in context["offers"]}
    wallet = None
    if choice.startswith("wallet:"):
        wallets, _all_down = wallet_choices(order, context["stored"])
        wallet = next((w for w in wallets if w.value == choice), None)
    if wallet is not None:
        if not wallet.selectable:
            raise Unavailable(_unavailable(wallet.title))
        if wallet.forced is not None:  # every route is down: the least bad one
            return by_value[wallet.forced.value], wallet.wallet, []
        plan = _keep_live_route(order, wallet, _plan(wallet))
        if not plan:
            raise Unavailable(_unavailable(wallet.title))
        chosen = [by_value[wallet.offers[route].value] for route in plan]
        fallback = [o for o in chosen[1:2] if o["method"].flow != Flow.OTP]
        return chosen[0], wallet.wallet, fallback
    offer = by_value.get(choice)
    if offer is None:
        raise Unavailable(_("Choisissez un moyen de paiement proposé."))
    if not offer_usable(offer, context["stored"], order.currency):
        raise Unavailable(_unavailable(offer["title"]))
    own = offer["wallets"][0] if len(offer["wallets"]) == 1 else ""
    return offer, own, []


def _plan(wallet: WalletChoice) -> list[routing.Route]:
    """The wallet's routes in the order to try them (``routing.choose``); a
    PROBING route already given its probe attempts is left out."""
    rules = routing.Rules.from_settings()
    candidates = [
        replace(c, probe_full=health.probe_full(c.route, _since(c), rules))
        if c.state == routing.State.PROBING
        else c
        for c in wallet.candidates
    ]
    return routing.choose(candidates, health.rng(), rules)


def _keep_live_route(order: Order, wallet: WalletChoice, plan: list[routing.Route]) -> list:
    """A second tap on the same wallet follows the attempt already open on
    one of its routes (never a second prompt because exploration drew
    another route this time)."""
    live = order.payments.filter(status="pending", wallet=wallet.wallet).first()
    if live is None:
        return plan
    for route in plan:
        if (route.provider, route.method) == (live.provider, live.method):
            return [route] + [r for r in plan if r != route]
    return plan


def _since(candidate: routing.Candidate):
    stored = health.snapshot().get(candidate.route.key)
    return stored.since if stored else None


def _unavailable(title) -> str:
    return _(
        "%(wallet)s est momentanément indisponible. Choisissez un autre moyen de paiement."
    ) % {"wallet": title}


def _page(request, template: str, context: dict, status: int = 200):
    """Render a pay-page step; its extra reads are done here, only when a page
    is shown (a successful start redirects without them)."""
    order = context["order"]
    context.update(
        live=order.payments.filter(status="pending").first(), lines=list(order.lines.all())
    )
    if template == "payments/pay.html":
        stored = context["stored"]
        context["wallets"], context["all_down"] = wallet_choices(order, stored)
        for offer in context["offers"]:
            offer["usable"] = offer_usable(offer, stored, order.currency)
        if context["all_down"] or not (context["wallets"] or context["offers"]):
            # No mobile money to be had: pay on delivery instead, where the
            # order's delivery option takes it (shop/pay_on_delivery.py).
            context["cod_switch"] = not pay_on_delivery.refusal(order)
    return render(request, template, context, status=status)


# What the shopper is told about an attempt that ended without paying.
ENDED = {
    "failed": gettext_lazy(
        "Votre paiement %(provider)s a été refusé. Choisissez un autre moyen ou réessayez."
    ),
    "expired": gettext_lazy(
        "Votre paiement %(provider)s a expiré. Choisissez un autre moyen ou réessayez."
    ),
    "cancelled": gettext_lazy(
        "Votre paiement %(provider)s a été annulé. Choisissez un autre moyen ou réessayez."
    ),
}


def ended_message(payment: Payment | None) -> str:
    """Why this attempt did not pay, in the shopper's words; empty when it
    did not end that way or is with staff (``needs_review``: the money may
    have arrived, the waiting page says so)."""
    if payment is None or payment.needs_review or payment.status not in ENDED:
        return ""
    try:
        name = provider_class(payment.provider).name
    except UnknownProvider:
        name = payment.provider
    return ENDED[payment.status] % {"provider": name}


def _paid_otherwise(payment: Payment) -> str:
    """A superseded tab: this attempt ended, but the order is paid (by another one)."""
    if payment.status == "succeeded" or payment.needs_review or not payment.order.paid_at:
        return ""
    return gettext_lazy(
        "Votre commande est payée. Ce paiement-ci n'a pas été utilisé : vous n'avez rien à faire."
    )


def _last_outcome(order: Order) -> str:
    """What happened to the order's last attempt, when it ended unpaid."""
    last = (
        order.payments.order_by("-created_at", "-pk")
        .only("provider", "status", "needs_review")
        .first()
    )
    return ended_message(last)


def _holder_payment(token: str, reference) -> Payment:
    return get_object_or_404(
        Payment.objects.select_related("order"), reference=reference, order__token=token
    )


@never_cache
@require_GET
def wait(request, token: str, reference: uuid.UUID):
    """The waiting page: instructions while pending, the truth once final."""
    payment = _holder_payment(token, reference)
    if payment.is_final and payment.status == "succeeded" and not payment.needs_review:
        return redirect(payment.order)
    return render(request, "payments/wait.html", _wait_context(payment))


def _wait_context(payment: Payment) -> dict:
    provider = get_provider(payment.provider)
    method = provider.method(payment.method)
    sandbox_phone = ""
    if (
        settings.PAYMENTS_SANDBOX
        and payment.provider_reference
        and method
        and method.flow != Flow.REDIRECT
    ):
        sandbox_phone = reverse("sandbox:page", args=[payment.provider, payment.provider_reference])
    return {
        "payment": payment,
        "order": payment.order,
        "provider": provider,
        "method": method,
        "sandbox_phone": sandbox_phone,
        "ended": _paid_otherwise(payment) or ended_message(payment),
        # Money for this attempt while the order was already paid by another.
        "paid_twice": payment.money_received
        and payment.needs_review
        and bool(payment.order.paid_at),
        "status_url": reverse("payments:status", args=[payment.order.token, payment.reference]),
    }


@never_cache
@require_GET
def status_json(request, token: str, reference: uuid.UUID):
    """Small JSON for the waiting page's script (holder only)."""
    payment = _holder_payment(token, reference)
    return JsonResponse(
        {
            "status": payment.status,
            "final": payment.is_final or payment.needs_review,
            "label": payment.get_status_display(),
            "order_status": payment.order.status,
            "next": payment.order.get_absolute_url(),
        }
    )


@never_cache
@ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_ORDER_PAGE, block=True)
@require_GET
def provider_return(request, reference: uuid.UUID, cancelled: bool = False):
    """Where the provider sends the shopper back. The query string proves
    nothing: we ask the provider, apply, and show the truth."""
    payment = get_object_or_404(Payment.objects.select_related("order"), reference=reference)
    # The first return re-checks even an ended attempt: the shopper may have
    # paid on the vendor's page after we superseded or expired it.
    first_return = Payment.objects.filter(pk=payment.pk, returned_at__isnull=True).update(
        returned_at=timezone.now()
    )
    if not payment.is_final or first_return:
        payment = services.check_payment(
            payment.pk, source="return", timeout=settings.PAYMENT_RETURN_TIMEOUT
        )
    order = payment.order
    if order.token in request.session.get("orders", []):
        if payment.status == "succeeded" and not payment.needs_review:
            return redirect(order)
        return redirect("payments:wait", token=order.token, reference=payment.reference)
    # Someone without the order in their session: the status, no order data.
    return render(request, "payments/returned.html", {"payment": payment, "cancelled": cancelled})


# --- the webhook ---------------------------------------------------------------------
@ratelimit(key="ip", rate=lambda g, r: settings.RATELIMIT_CALLBACK, method="POST", block=False)
@require_POST
@csrf_exempt  # a provider callback carries no CSRF token: receive_callback verifies what it can
def callback(request, provider: str):
    """The webhook: ``services.receive_callback`` stores, verifies,
    deduplicates and enqueues; the answer goes back at once."""
    if provider not in PROVIDER_CLASSES:
        raise Http404
    if getattr(request, "limited", False):
        # A flood from one source is not stored (it would fill the disk);
        # vendors retry on a non-2xx.
        log.warning("callback from %s rate-limited", provider)
        return JsonResponse({"error": "too many requests"}, status=429)
    receipt = services.receive_callback(provider, request)
    return JsonResponse(receipt.body, status=receipt.status)
