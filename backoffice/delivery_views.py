"""Staff delivery pages: the "À confirmer" and "À expédier" lists (filtered
by area and option), each order's steps, cash taken at the door, and the
printable packing slip. Thin views over ``backoffice.deliveries``."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shop import delivery
from shop.models import CashCollection, DeliveryKind, Order
from shop.phones import local
from shop.templatetags.shop_tags import money

from . import deliveries

S = Order.Status
VIEW_PERM = "shop.view_order"
CHANGE_PERM = "shop.change_order"
LISTS = {
    "a-confirmer": (_("À confirmer"), Q(status=S.TO_CONFIRM)),
    "a-expedier": (
        _("À expédier"),
        Q(status=S.PAID, shipped_at__isnull=True) | Q(status=S.CONFIRMED, shipped_at__isnull=True),
    ),
    "en-route": (
        _("En route ou au point de retrait"),
        Q(status=S.SHIPPED) | Q(status__in=[S.CONFIRMED, S.PAID], shipped_at__isnull=False),
    ),
}
STEPS = {
    "confirm": deliveries.confirm,
    "cancel": deliveries.cancel,
    "ship": deliveries.ship,
    "deliver": deliveries.deliver,
}


def _need(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def whatsapp_link(order: Order) -> str:
    """wa.me with the shopper's number and a French message prefilled
    (order number and total), for staff to confirm the order."""
    text = _(
        "Bonjour %(name)s, ici %(shop)s. Nous confirmons votre commande %(number)s de "
        "%(total)s, à payer à la livraison (%(where)s). Répondez OUI pour confirmer."
    ) % {
        "name": order.full_name,
        "shop": settings.SHOP_NAME,
        "number": order.number,
        "total": money(order.total, order.currency),
        "where": order.delivery_area_label or order.delivery_label,
    }
    return f"https://wa.me/{order.phone.lstrip('+')}?text={quote(text)}"


@require_http_methods(["GET"])
def delivery_list(request, which: str = "a-confirmer"):
    _need(request, VIEW_PERM)
    if which not in LISTS:
        raise Http404
    title, condition = LISTS[which]
    orders = Order.objects.filter(condition).order_by("created_at")
    table = delivery.table()
    area = request.GET.get("zone", "")
    if area.isdigit() and len(area) <= 9 and int(area) in table.areas:
        inside = [i for i in table.areas if int(area) in delivery.chain(i, table.areas)]
        orders = orders.filter(delivery_area_id__in=inside)
    kind = request.GET.get("mode", "")
    if kind in DeliveryKind.values:
        orders = orders.filter(delivery_kind=kind)
    option = request.GET.get("option", "")
    if option.isdigit() and len(option) <= 9:
        orders = orders.filter(delivery_option_id=int(option))
    rows = [
        {"order": o, "whatsapp": whatsapp_link(o), "phone": local(o.phone)} for o in orders[:200]
    ]
    context = {
        **admin.site.each_context(request),
        "title": title,
        "which": which,
        "lists": [(key, label) for key, (label, _q) in LISTS.items()],
        "rows": rows,
        "areas": sorted(
            ((i, delivery.label(i, table) or a.name) for i, a in table.areas.items()),
            key=lambda x: x[1],
        ),
        "options": [(r.id, f"{r.label} — {delivery.label(r.area_id, table)}") for r in table.rates],
        "kinds": DeliveryKind.choices,
        "chosen": {"zone": area, "mode": kind, "option": option},
        "methods": CashCollection.Method.choices,
        "can_change": request.user.has_perm(CHANGE_PERM),
    }
    return render(request, "backoffice/deliveries.html", context)


@require_POST
def delivery_step(request, pk: int, step: str):
    _need(request, CHANGE_PERM)
    if step not in STEPS:
        raise Http404
    order = get_object_or_404(Order, pk=pk)
    try:
        STEPS[step](order.pk, request.user)
        messages.success(request, _("%(n)s : fait.") % {"n": order.number})
    except deliveries.StepRefused as exc:
        messages.error(request, f"{order.number} : {exc.message}")
    return redirect(_back(request))


@require_POST
def collect(request, pk: int):
    """Money taken at the door: amount, cash or mobile money, who (the
    signed-in staff member), a note."""
    _need(request, CHANGE_PERM)
    order = get_object_or_404(Order, pk=pk)
    try:
        deliveries.record_collection(
            order.pk,
            request.POST.get("amount", ""),
            request.POST.get("method", ""),
            request.user,
            request.POST.get("note", ""),
        )
        messages.success(
            request,
            _("%(n)s : paiement à la livraison enregistré, commande livrée.") % {"n": order.number},
        )
    except deliveries.StepRefused as exc:
        messages.error(request, f"{order.number} : {exc.message}")
    return redirect(_back(request))


def _back(request) -> str:
    """The list the form was posted from (only our own lists)."""
    back = request.POST.get("back", "")
    if back in LISTS:
        return reverse("backoffice:deliveries", args=[back])
    return reverse("backoffice:deliveries", args=["a-confirmer"])


@require_http_methods(["GET"])
def packing_slip(request, pk: int):
    """A printable page per order: lines, address copy, landmark, phone,
    payment state and the amount to collect, if any."""
    _need(request, VIEW_PERM)
    order = get_object_or_404(Order, pk=pk)
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "phone": local(order.phone),
        "shop_name": settings.SHOP_NAME,
    }
    return render(request, "backoffice/packing_slip.html", context)
