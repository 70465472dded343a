"""Where the shop delivers, for how much and how fast: the rules, pure.

Staff edit areas (country → city → neighbourhood, any level optional),
their options (home delivery, pickup) and pickup points in the admin
(``shop.models``). Pages read them as one immutable ``Table``, built with
three queries and cached under a version that any edit bumps, so the
product and cart pages pay no query on a warm cache.

The rules, each a pure function tested as a table (tests/shop/test_delivery_rules.py):

* ``options_for``: for each mode (home, pickup), the options of the most
  specific area that has one win — a neighbourhood's own rate over its
  city's, a city's over its country's;
* ``fee_for``: the fee, or 0 once the goods reach the option's free-over;
* ``cod_refusal``: why pay on delivery is not offered (not allowed here, or
  the total is above the option's cap), or "".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from .models import DeliveryArea, DeliveryKind, DeliveryOption, PickupPoint, delay_label
from .templatetags.shop_tags import money

VERSION_KEY = "shop:delivery-version"
TABLE_KEY = "shop:delivery-table:{}"
# The shopper's area, remembered in the session (product page, cart, checkout).
SESSION_KEY = "delivery_area"


@dataclass(frozen=True)
class Area:
    id: int
    parent_id: int | None
    country: str
    level: str
    name: str


@dataclass(frozen=True)
class Rate:
    id: int
    area_id: int
    kind: str
    label: str
    fee: int
    free_over: int | None = None
    delay_min: int = 1
    delay_max: int = 2
    cod_allowed: bool = False
    cod_max: int | None = None

    @property
    def delay(self) -> str:
        return delay_label(self.delay_min, self.delay_max)


@dataclass(frozen=True)
class Point:
    id: int
    area_id: int
    name: str
    address: str
    landmark: str = ""
    hours: str = ""
    phone: str = ""

    @property
    def details(self) -> str:
        parts = [self.name, self.address, self.landmark, self.hours, self.phone]
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Table:
    areas: dict[int, Area] = field(default_factory=dict)
    rates: tuple[Rate, ...] = ()
    points: tuple[Point, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rates)

    def children(self, parent_id: int | None, country: str | None = None) -> list[Area]:
        return [
            a
            for a in self.areas.values()
            if a.parent_id == parent_id and (country is None or a.country == country)
        ]

    def countries(self) -> list[str]:
        return sorted({a.country for a in self.areas.values()})

    def cities(self, country: str) -> list[Area]:
        return [
            a
            for a in self.areas.values()
            if a.country == country and a.level == DeliveryArea.Level.CITY
        ]


# --- the rules (pure) ---------------------------------------------------------------
def chain(area_id: int, areas: dict[int, Area]) -> list[int]:
    """``area_id`` and the areas containing it, most specific first."""
    ids: list[int] = []
    current = areas.get(area_id)
    while current is not None and current.id not in ids:
        ids.append(current.id)
        current = areas.get(current.parent_id) if current.parent_id else None
    return ids


def options_for(area_id: int, table: Table) -> list[Rate]:
    """The options a shopper in ``area_id`` may choose: for each mode, those
    of the most specific area (the area itself, then its city, then its
    country) that has any of that mode."""
    found: list[Rate] = []
    ids = chain(area_id, table.areas)
    for kind in (DeliveryKind.HOME, DeliveryKind.PICKUP):
        for level in ids:
            here = [r for r in table.rates if r.area_id == level and r.kind == kind]
            if here:
                found.extend(here)
                break
    return found


def points_for(rate: Rate, area_id: int, table: Table) -> list[Point]:
    """The pickup points a pickup option lists: those in the option's area
    or in any area inside it."""
    return [p for p in table.points if rate.area_id in chain(p.area_id, table.areas)]


def fee_for(rate: Rate, goods: int) -> int:
    """The delivery fee for ``goods`` (whole units): 0 from the free-over amount."""
    if rate.free_over is not None and goods >= rate.free_over:
        return 0
    return rate.fee


def cod_refusal(rate: Rate, total: int) -> str:
    """Why pay on delivery is not offered with ``rate`` for ``total``, or ""."""
    if not rate.cod_allowed:
        return _("Le paiement à la livraison n'est pas proposé pour cette option.")
    if rate.cod_max is not None and total > rate.cod_max:
        return _(
            "Le paiement à la livraison est possible jusqu'à %(max)s : payez en ligne ou "
            "allégez la commande."
        ) % {"max": money(rate.cod_max)}
    return ""


def label(area_id: int, table: Table) -> str:
    """« Secteur 15, Ouagadougou » (the country stays implicit)."""
    names = [
        table.areas[i].name
        for i in chain(area_id, table.areas)
        if table.areas[i].level != DeliveryArea.Level.COUNTRY
    ]
    return ", ".join(names)


def cheapest(rates: list[Rate], goods: int = 0) -> Rate | None:
    return min(rates, key=lambda r: (fee_for(r, goods), r.delay_max), default=None)


# --- what the pages say -----------------------------------------------------------
def line_for(area_id: int | None, table: Table, goods: int = 0) -> dict | None:
    """What the product and cart pages say about delivery, or None when the
    shop has no delivery data (the configured SHOP_DELIVERY_LINE then).

    Known area: « Livraison à Secteur 15 : 1 000 FCFA, 1–2 jours »;
    unknown: « Livraison dès 500 FCFA · Retrait gratuit à <point> »."""
    if not table:
        return None
    if area_id in table.areas:
        rates = options_for(area_id, table)
        area = table.areas[area_id]
        home = cheapest([r for r in rates if r.kind == DeliveryKind.HOME], goods)
        pickup = cheapest([r for r in rates if r.kind == DeliveryKind.PICKUP], goods)
        shown = home or pickup
        if shown is None:
            text = _("Pas encore de livraison à %(area)s.") % {"area": area.name}
        else:
            fee = fee_for(shown, goods)
            text = _("Livraison à %(area)s : %(fee)s, %(delay)s") % {
                "area": area.name,
                "fee": money(fee) if fee else _("gratuite"),
                "delay": shown.delay,
            }
            if home and pickup and fee_for(pickup, goods) == 0:
                text += " · " + _("retrait gratuit")
        return {"text": text, "known": True}
    homes = [r for r in table.rates if r.kind == DeliveryKind.HOME]
    text = ""
    if homes:
        text = _("Livraison dès %(fee)s") % {"fee": money(min(r.fee for r in homes))}
    free_pickup = [r for r in table.rates if r.kind == DeliveryKind.PICKUP and r.fee == 0]
    if free_pickup and table.points:
        point = next(
            (p for r in free_pickup for p in points_for(r, r.area_id, table)), table.points[0]
        )
        pickup_text = _("Retrait gratuit à %(point)s") % {"point": point.name}
        text = f"{text} · {pickup_text}" if text else pickup_text
    return {"text": text, "known": False}


# --- the data, cached ---------------------------------------------------------------
def table() -> Table:
    """Every active area, option and pickup point: three queries on a cold
    cache, none on a warm one."""
    version = cache.get_or_set(VERSION_KEY, 1, None)
    key = TABLE_KEY.format(version)
    found = cache.get(key)
    if found is None:
        found = load()
        cache.set(key, found, 3600)
    return found


def load() -> Table:
    areas = {
        a.id: a
        for a in (
            Area(pk, parent, country, level, name)
            for pk, parent, country, level, name in DeliveryArea.objects.filter(
                is_active=True
            ).values_list("pk", "parent_id", "country", "level", "name")
        )
    }
    # An area whose parent is switched off is off too.
    areas = {i: a for i, a in areas.items() if all(x in areas for x in _ancestors(a, areas))}
    rates = tuple(
        Rate(
            id=o.pk,
            area_id=o.area_id,
            kind=o.kind,
            label=o.label,
            fee=o.fee,
            free_over=o.free_over,
            delay_min=o.delay_min,
            delay_max=o.delay_max,
            cod_allowed=o.cod_allowed,
            cod_max=o.cod_max,
        )
        for o in DeliveryOption.objects.filter(is_active=True, area_id__in=list(areas))
    )
    points = tuple(
        Point(p.pk, p.area_id, p.name, p.address, p.landmark, p.hours, p.phone)
        for p in PickupPoint.objects.filter(is_active=True, area_id__in=list(areas))
    )
    return Table(areas=areas, rates=rates, points=points)


def _ancestors(area: Area, areas: dict[int, Area]) -> list[int]:
    """The parent ids up the tree as far as they are known to be active."""
    seen: list[int] = []
    parent = area.parent_id
    while parent is not None and parent not in seen:
        seen.append(parent)
        parent = areas[parent].parent_id if parent in areas else None
    return seen


def bump(**kwargs) -> None:
    """A staff edit: the next page reads the new rates (placed orders keep theirs)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, None)


for _model in (DeliveryArea, DeliveryOption, PickupPoint):
    post_save.connect(bump, sender=_model, dispatch_uid=f"delivery-bump-{_model.__name__}")
    post_delete.connect(bump, sender=_model, dispatch_uid=f"delivery-bump-del-{_model.__name__}")


# --- the shopper's choice -------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """A checkout's delivery choice, checked against the table: what
    ``shop.services.place_order`` copies onto the order."""

    area_id: int
    area_label: str
    rate: Rate
    point: Point | None = None
    pay_on_delivery: bool = False
    landmark: str = ""


class ChoiceRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def choose(
    table: Table,
    area_id: int | None,
    country: str,
    option: str,
    pay_on_delivery: bool,
    landmark: str,
) -> Choice:
    """The shopper's choice, or ChoiceRefused with a French message:
    an unknown area, an area of another country, an option of another area,
    a pickup point from another area. (The pay-on-delivery cap needs the
    total: ``place_order`` checks it.)"""
    if area_id not in table.areas:
        raise ChoiceRefused(_("Choisissez votre ville et votre quartier."))
    if table.areas[area_id].country != country:
        raise ChoiceRefused(
            _("Ce quartier n'est pas dans le pays choisi : changez le pays ou le quartier.")
        )
    rates = options_for(area_id, table)
    if not rates:
        raise ChoiceRefused(
            _("Nous ne livrons pas encore à %(area)s : choisissez un autre quartier.")
            % {"area": table.areas[area_id].name}
        )
    kind, _sep, rest = (option or "").partition(":")
    rate_id, _sep, point_id = rest.partition(":")
    rate = next((r for r in rates if str(r.id) == rate_id and r.kind == kind), None)
    if rate is None:
        raise ChoiceRefused(_("Choisissez une option de livraison proposée pour votre quartier."))
    point = None
    if rate.kind == DeliveryKind.PICKUP:
        point = next((p for p in points_for(rate, area_id, table) if str(p.id) == point_id), None)
        if point is None:
            raise ChoiceRefused(_("Choisissez un point de retrait de votre zone."))
    if pay_on_delivery and not rate.cod_allowed:
        raise ChoiceRefused(cod_refusal(rate, 0))
    return Choice(
        area_id=area_id,
        area_label=label(area_id, table),
        rate=rate,
        point=point,
        pay_on_delivery=pay_on_delivery,
        landmark=landmark,
    )


def choices(area_id: int, table: Table, goods: int) -> list[dict]:
    """The radio buttons of the checkout: one per home option, one per
    pickup point, each with its fee for these goods and its delay."""
    rows = []
    for rate in options_for(area_id, table):
        fee = fee_for(rate, goods)
        base = {
            "rate": rate,
            "fee": fee,
            "total": goods + fee,
            "delay": rate.delay,
            "cod": rate.cod_allowed,
        }
        if rate.kind == DeliveryKind.HOME:
            rows.append({**base, "value": f"home:{rate.id}", "label": rate.label, "point": None})
        else:
            for point in points_for(rate, area_id, table):
                rows.append(
                    {
                        **base,
                        "value": f"pickup:{rate.id}:{point.id}",
                        "label": f"{rate.label} — {point.name}",
                        "point": point,
                    }
                )
    return rows


def rate_sheet(table: Table) -> list[dict]:
    """The Livraison page, from the data: per area with its own options, the
    options (fee, free-over, delay, pay on delivery) and pickup points."""
    sheet = []
    for area_id in sorted(
        {r.area_id for r in table.rates}, key=lambda i: (table.areas[i].country, label(i, table))
    ):
        rates = [r for r in table.rates if r.area_id == area_id]
        area = table.areas[area_id]
        sheet.append(
            {
                "country": area.country,
                "label": label(area_id, table) or area.name,
                "rates": rates,
                "points": [p for r in rates for p in points_for(r, area_id, table)],
            }
        )
    return sheet
