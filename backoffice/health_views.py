"""Staff page "Santé des paiements": each payment route's health, its last
changes, and pause / resume / rank by hand (issue 18).

Thin: the numbers come from ``payments.services.health`` and the rules from
``payments.routing``; every staff decision is recorded with its author.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from payments.models import RouteChange, RouteHealth, RouteOutcome
from payments.offers import routes_in
from payments.routing import Kind, Route, Rules, percentile
from payments.services import health

VIEW_PERM = "payments.view_routehealth"
CHANGE_PERM = "payments.change_routehealth"
EVERY_AMOUNT = 10**9  # any provider minimum


def _need(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _known_routes() -> None:
    """A row for every route the shop offers, so staff can pause or rank a
    route before it has carried a payment."""
    rows = [
        RouteHealth(
            key=offer.route.key,
            provider=offer.route.provider,
            method=offer.route.method,
            wallet=offer.route.wallet,
            country=offer.route.country,
            currency=offer.route.currency,
        )
        for country in settings.SHOP_COUNTRIES
        for offer in routes_in(settings.SHOP_CURRENCY, EVERY_AMOUNT, country)
    ]
    RouteHealth.objects.bulk_create(rows, ignore_conflicts=True)


def _figures(now) -> dict[str, dict]:
    """Per route, over the rules' window: outcomes by class, initiation
    latency p50/p95 and time to final p50 (one query)."""
    rules = Rules.from_settings()
    recent = RouteOutcome.objects.filter(at__gte=now - rules.window).order_by("-at")
    grouped: dict[str, list] = defaultdict(list)
    for row in recent.values("route", "kind", "initiation_ms", "final_seconds")[:5000]:
        if len(grouped[row["route"]]) < rules.window_size:
            grouped[row["route"]].append(row)
    figures = {}
    for key, rows in grouped.items():
        counts = {kind: sum(1 for r in rows if r["kind"] == kind) for kind in Kind}
        latency = [r["initiation_ms"] for r in rows if r["initiation_ms"] is not None]
        final = [r["final_seconds"] for r in rows if r["final_seconds"] is not None]
        figures[key] = {
            "counts": counts,
            "p50": percentile(latency, 0.5),
            "p95": percentile(latency, 0.95),
            "final_p50": percentile(final, 0.5),
        }
    return figures


@require_http_methods(["GET"])
def route_health(request):
    _need(request, VIEW_PERM)
    _known_routes()
    now = timezone.now()
    figures = _figures(now)
    routes = [
        {"row": row, **figures.get(row.key, {})}
        for row in RouteHealth.objects.filter(currency=settings.SHOP_CURRENCY)
    ]
    changes = RouteChange.objects.select_related("route")[:30]
    context = {
        **admin.site.each_context(request),
        "title": _("Santé des paiements"),
        "routes": routes,
        "changes": changes,
        "can_change": request.user.has_perm(CHANGE_PERM),
        "window_minutes": int(Rules.from_settings().window / timedelta(minutes=1)),
    }
    return render(request, "backoffice/route_health.html", context)


@require_POST
def route_health_action(request):
    """Pause, resume or rank one route; recorded with the staff member."""
    _need(request, CHANGE_PERM)
    row = RouteHealth.objects.filter(key=request.POST.get("route", "")).first()
    if row is None:
        messages.error(request, _("Route inconnue."))
        return redirect("backoffice:route_health")
    route = Route.from_key(row.key)
    action = request.POST.get("action")
    note = request.POST.get("note", "")[:200]
    by = request.user.get_username()
    if action == "pause":
        health.pause(route, by, note)
        messages.success(request, _("Route mise en pause : %(route)s") % {"route": row.key})
    elif action == "resume":
        health.resume(route, by, note)
        messages.success(request, _("Route reprise : %(route)s") % {"route": row.key})
    elif action == "rank" and request.POST.get("priority", "").isdigit():
        health.set_priority(route, min(int(request.POST["priority"]), 999))
        messages.success(request, _("Rang enregistré : %(route)s") % {"route": row.key})
    else:
        messages.error(request, _("Action inconnue."))
    return redirect("backoffice:route_health")
