"""Staff pages: thin views over the backoffice services (admin login and
permissions required; each is wrapped in ``admin.site.admin_view``)."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from payments.models import Payment
from payments.providers import get_provider
from shop.models import Order

from . import dashboard as dashboard_numbers
from . import refunds, review
from .forms import RefundForm, ResolveForm, first_error
from .models import ReconciliationMismatch
from .reconcile import as_csv, cash_collections, reconcile

REVIEW_PERM = "backoffice.view_reconciliationmismatch"
REFUND_PERM = "backoffice.make_refund"


def _need(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _context(request, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, **extra}


@require_http_methods(["GET"])
def review_queue(request):
    _need(request, REVIEW_PERM)
    return render(
        request,
        "backoffice/review.html",
        _context(
            request,
            _("À examiner"),
            items=review.queue(),
            can_refund=request.user.has_perm(REFUND_PERM),
            can_fulfil=request.user.has_perm("shop.change_order"),
            key=secrets.token_urlsafe(24),
        ),
    )


# The permission to change what a resolution changes (G-08: viewing is not enough).
CHANGE_PERM = {
    "payment": "payments.change_payment",
    "refund": "backoffice.change_refund",
    "mismatch": "backoffice.change_reconciliationmismatch",
}


@require_http_methods(["POST"])
def resolve(request, kind: str, pk: int):
    _need(request, REVIEW_PERM)
    if kind not in CHANGE_PERM:
        raise Http404
    _need(request, CHANGE_PERM[kind])
    get_object_or_404(review.MODELS[kind], pk=pk)
    action = request.POST.get("action", "")
    if action == "refund":
        _need(request, REFUND_PERM)
    if action == "fulfil":
        _need(request, "shop.change_order")
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect("backoffice:review")
    data = form.cleaned_data
    try:
        _found_or_404(review.resolve)(
            kind,
            pk,
            data["action"],
            data["note"],
            request.user,
            amount=data["amount"],
            request_key=data["key"],
            collected=data["collected"],
            collected_how=data["collected_how"],
        )
        messages.success(request, _("Résolu."))
    except review.ResolutionRefused as exc:
        messages.error(request, exc.message)
    return redirect("backoffice:review")


def _found_or_404(service):
    """``service`` with an id that names no row answered 404, not 500."""

    def call(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except ObjectDoesNotExist as exc:
            raise Http404 from exc

    return call


def _since(request) -> datetime:
    try:
        day = date.fromisoformat(request.GET.get("since", ""))
    except ValueError:
        day = timezone.localdate() - timedelta(days=7)
    return timezone.make_aware(datetime.combine(day, time.min))


@require_http_methods(["GET", "POST"])
def reconciliation(request):
    _need(request, REVIEW_PERM)
    since = _since(request)
    report = None
    if request.method == "POST":
        report = reconcile(since=since, provider=request.POST.get("provider") or None)
        messages.info(
            request,
            _("%(n)s paiements vérifiés, %(new)s nouveaux écarts.")
            % {"n": report.checked, "new": len(report.new)},
        )
        for code in report.skipped:
            messages.warning(
                request,
                _(
                    "%(provider)s : une autre réconciliation est en cours, ses paiements "
                    "n'ont pas été vérifiés. Relancez dans quelques minutes."
                )
                % {"provider": get_provider(code).name or code},
            )
    rows = ReconciliationMismatch.objects.filter(payment__created_at__gte=since).select_related(
        "payment__order"
    )
    return render(
        request,
        "backoffice/reconciliation.html",
        _context(
            request,
            _("Rapprochement"),
            rows=rows,
            since=since.date(),
            report=report,
            cash=cash_collections(since),
        ),
    )


def reconciliation_csv(request):
    _need(request, REVIEW_PERM)
    rows = ReconciliationMismatch.objects.filter(
        payment__created_at__gte=_since(request)
    ).select_related("payment__order")
    response = HttpResponse(as_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="reconciliation.csv"'
    return response


def dashboard(request):
    _need(request, "shop.view_order")
    return render(
        request,
        "backoffice/dashboard.html",
        _context(request, _("Tableau de bord"), n=dashboard_numbers.numbers()),
    )


@require_http_methods(["GET", "POST"])
def refund_order(request, pk: int):
    """Refund one paid payment of an order, through its provider or recorded
    as made outside the shop. The form's one-time key makes a double submit
    one refund."""
    _need(request, REFUND_PERM)
    order = get_object_or_404(Order, pk=pk)
    if request.method == "POST":
        payment_pk = request.POST.get("payment", "")
        if not (payment_pk.isascii() and payment_pk.isdigit()):
            raise Http404
        payment = get_object_or_404(Payment, pk=payment_pk, order=order)
        form = RefundForm(request.POST)
        if not form.is_valid():
            messages.error(request, first_error(form))
        else:
            data = form.cleaned_data
            try:
                if data["outside"]:
                    refunds.record_outside_refund(
                        payment.pk,
                        data["amount"],
                        data["method"],
                        data["external_reference"],
                        data["reason"],
                        by=request.user,
                        request_key=data["key"],
                    )
                    messages.success(request, _("Remboursement hors boutique enregistré."))
                else:
                    refund = refunds.request_refund(
                        payment.pk,
                        data["amount"],
                        data["reason"],
                        by=request.user,
                        request_key=data["key"],
                    )
                    refund = refunds.send_refund(refund.pk)
                    messages.success(
                        request,
                        _("Remboursement demandé au prestataire : %(status)s.")
                        % {"status": refund.get_status_display()},
                    )
                return redirect(reverse("admin:shop_order_change", args=[order.pk]))
            except refunds.RefundRefused as exc:
                messages.error(request, exc.message)
    rows = [
        (p, refunds.refundable(p).left, get_provider(p.provider).refunds_enabled())
        for p in refunds.paid_payments(order)
    ]
    return render(
        request,
        "backoffice/refund.html",
        _context(
            request,
            _("Rembourser %(n)s") % {"n": order.number},
            order=order,
            rows=rows,
            key=secrets.token_urlsafe(24),
        ),
    )
