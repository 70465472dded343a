"""What the pay page offers an order: wallets, grouped by the provider that
carries them, and only those that serve the shopper's country.

The rule (UX review 2026-11-29 §2.2, a Mali order was offered Ligdicash,
which serves only Burkina Faso): a method is offered when the order's
country is in the method's ``countries``, or, when the method names none, in
its provider's ``countries``; a method and provider that name no country at
all are offered everywhere. Which wallets a provider carries is data in its
module (``Method.wallets``); which countries a wallet exists in is the table
below, so a hosted page in Senegal says "Orange Money, Wave, Free Money" and
in Burkina Faso "Orange Money, Moov Money".

``offers_for()`` returns plain dicts, the shape ``payments/views.py`` and the
templates already use (``value``, ``provider``, ``method``, ``ussd``), plus
``title`` (the wallets, as people say them) and ``detail`` (how paying works):
the pay page's "Autres moyens", for a shopper who wants one aggregator.

Wallet first (issue 18): ``routes_in()`` lists every route (provider,
method, wallet, country, currency) in the shop's default order and
``wallet_choices()`` gives the pay page each wallet once, with its best
route's way of paying and what its health allows (``payments.routing``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from .providers import checkout_providers
from .providers.base import Flow, Method, Provider
from .routing import Candidate, Route, State, least_bad, rank

CARD = "Carte bancaire"
# Where each wallet exists (operators' public country lists, 2026). A wallet
# not listed here is shown wherever its provider serves.
WALLET_COUNTRIES: dict[str, tuple[str, ...]] = {
    "Orange Money": ("BF", "CI", "SN", "ML", "GN", "CM", "CD", "GW"),
    "Moov Money": ("BF", "CI", "BJ", "TG", "NE", "ML", "GA"),
    "MTN MoMo": ("CI", "BJ", "GN", "CM", "CG"),
    "Wave": ("SN", "CI", "BF", "ML"),
    "Free Money": ("SN",),
    "Airtel Money": ("NE", "GA", "CG", "CD"),
}
WALLET_LABELS = {CARD: _("Carte bancaire")}
DETAILS = {
    Flow.REDIRECT: _("sur la page de paiement sécurisée de %(provider)s"),
    Flow.PUSH: _("vous validez la demande sur votre téléphone"),
    Flow.OTP: _("un code USSD, puis le code reçu par SMS"),
}


# Where a flow alone would describe a method wrongly (UX review 2026-12-03,
# U-08): Novasend's mobile money answers with a page to confirm on
# (``confirmationRequired``), and a payin session has no return URL.
DETAIL_OVERRIDES = {
    ("novasend", "mobile_money"): _(
        "sur une page Novasend où vous confirmez ; revenez ensuite vous-même à la boutique"
    ),
}


def serves(provider: Provider, method: Method, country: str) -> bool:
    """True when ``method`` of ``provider`` can take a payment from ``country``."""
    countries = method.countries or provider.countries
    return not countries or country in countries


def wallets_in(method: Method, country: str) -> list[str]:
    """The method's wallets that exist in ``country`` (their own names)."""
    return [w for w in method.wallets if country in WALLET_COUNTRIES.get(w, (country,))]


def detail(provider: Provider, method: Method) -> str:
    """How paying works with ``method``, in the shopper's words."""
    text = DETAIL_OVERRIDES.get((provider.code, method.code), DETAILS[method.flow])
    return text % {"provider": provider.name}


def _served(currency: str, total: int, country: str, providers: list[Provider] | None):
    """(provider, method, its wallets there) for every method that can take a
    ``total`` in ``currency`` from ``country``; a method none of whose
    wallets exists there is left out."""
    for provider in checkout_providers(currency) if providers is None else providers:
        if total < provider.minimum_amount:
            continue
        for method in provider.methods:
            if not serves(provider, method, country):
                continue
            wallets = wallets_in(method, country)
            if method.wallets and not wallets:
                continue  # none of its wallets exists in this country
            yield provider, method, wallets


def offers_for(order) -> list[dict]:
    """The pay page's choices for ``order``, provider by provider."""
    return offers_in(order.currency, order.total, order.country)


def offers_in(
    currency: str, total: int, country: str, providers: list[Provider] | None = None
) -> list[dict]:
    """The choices a ``total`` in ``currency`` from ``country`` would have."""
    offers = []
    for provider, method, wallets in _served(currency, total, country, providers):
        labels = [str(WALLET_LABELS.get(name, name)) for name in wallets]
        offers.append(
            {
                "value": f"{provider.code}:{method.code}",
                "provider": provider,
                "method": method,
                "ussd": method.ussd.format(amount=total) if method.ussd else "",
                "title": ", ".join(labels) or str(method.label),
                "wallet": labels[0] if len(labels) == 1 else "",
                "country": country,
                "wallets": wallets,
                "detail": detail(provider, method),
            }
        )
    return offers


def payable_countries(currency: str, total: int, candidates: list[str]) -> list[str]:
    """The ``candidates`` (in their order) from which a ``total`` in
    ``currency`` can be paid: at least one configured provider offers a
    method there. The checkout lists only these, so no order is placed that
    its pay page would have nothing to offer (UX review 2026-12-03, U-03)."""
    providers = checkout_providers(currency)
    return [c for c in candidates if offers_in(currency, total, c, providers)]


# --- wallet first (issue 18): the shopper picks a wallet, the shop its route -------
# The order wallets are listed in (the most used first), the card last.
WALLET_ORDER = (*WALLET_COUNTRIES, CARD)


@dataclass(frozen=True)
class RouteOffer:
    """One route a wallet can take: (provider, method, wallet, country, currency)."""

    route: Route
    provider: Provider
    method: Method
    order: int  # the shop's default order: dedicated wallet methods first

    @property
    def value(self) -> str:
        return f"{self.provider.code}:{self.method.code}"

    @property
    def detail(self) -> str:
        return detail(self.provider, self.method)


def wallet_value(wallet: str) -> str:
    return "wallet:" + slugify(wallet)


def routes_in(
    currency: str, total: int, country: str, providers: list[Provider] | None = None
) -> list[RouteOffer]:
    """Every route a ``total`` in ``currency`` from ``country`` could take,
    in the shop's default order: a method made for one wallet before a
    page carrying several, then the registry's order."""
    found: list[tuple[bool, int, Route, Provider, Method]] = []
    for provider, method, wallets in _served(currency, total, country, providers):
        for wallet in wallets:
            route = Route(provider.code, method.code, wallet, country, currency)
            found.append((len(method.wallets) != 1, len(found), route, provider, method))
    found.sort(key=lambda item: item[:2])
    return [
        RouteOffer(route, provider, method, order)
        for order, (_, _, route, provider, method) in enumerate(found)
    ]


def candidate(offer: RouteOffer, stored: dict) -> Candidate:
    """``offer`` as the route choice sees it, from the health ``stored``."""
    health = stored.get(offer.route.key)
    if health is None:
        return Candidate(offer.route, order=offer.order)
    return Candidate(
        offer.route,
        state=health.state,
        paused=health.paused,
        priority=health.priority,
        order=offer.order,
        rate=health.rate,
    )


@dataclass
class WalletChoice:
    """One wallet on the pay page, with what its routes' health allows.

    ``selectable`` unless every route of it is DOWN or paused; ``warning``
    is "degraded" when its best route is DEGRADED or PROBING, "down" when
    none is usable; ``forced`` is the least bad route when every route of
    the country is down (then it stays selectable, with the warning)."""

    wallet: str
    title: str
    detail: str
    needs_phone: bool
    selectable: bool
    warning: str
    candidates: list[Candidate]
    offers: dict[Route, RouteOffer]
    forced: RouteOffer | None = None

    @property
    def value(self) -> str:
        return wallet_value(self.wallet)

    @property
    def order(self) -> int:
        return WALLET_ORDER.index(self.wallet) if self.wallet in WALLET_ORDER else len(WALLET_ORDER)


def wallet_choices(order, stored: dict) -> tuple[list[WalletChoice], bool]:
    """The pay page's wallets for ``order``, each once, best first (usable,
    then without a warning, then the usual wallet order), and whether every
    route is down (then the least bad one is offered)."""
    by_wallet: dict[str, list[tuple[RouteOffer, Candidate]]] = {}
    for offer in routes_in(order.currency, order.total, order.country):
        by_wallet.setdefault(offer.route.wallet, []).append((offer, candidate(offer, stored)))
    choices = []
    for wallet, pairs in by_wallet.items():
        best = rank([c for _, c in pairs])[0]
        offers = {c.route: o for o, c in pairs}
        shown = best.shown_as
        choices.append(
            WalletChoice(
                wallet=wallet,
                title=str(WALLET_LABELS.get(wallet, wallet)),
                detail=offers[best.route].detail,
                needs_phone=any(o.method.needs_phone for o, _ in pairs),
                selectable=shown != State.DOWN,
                warning={State.DEGRADED: "degraded", State.DOWN: "down"}.get(shown, ""),
                candidates=[c for _, c in pairs],
                offers=offers,
            )
        )
    all_down = bool(choices) and not any(c.selectable for c in choices)
    if all_down:
        worst_case = least_bad([c for choice in choices for c in choice.candidates])
        for choice in choices:
            if worst_case is not None and worst_case.route.wallet == choice.wallet:
                choice.forced = choice.offers[worst_case.route]
                choice.selectable, choice.warning = True, "degraded"
                choice.detail = choice.forced.detail
    choices.sort(key=lambda c: (not c.selectable, bool(c.warning), c.order))
    return choices, all_down


def offer_usable(offer: dict, stored: dict, currency: str) -> bool:
    """An aggregator's own offer ("Autres moyens") can be chosen unless every
    route it carries in the order's country is DOWN or paused."""
    provider, method = offer["provider"], offer["method"]
    keys = [
        Route(provider.code, method.code, wallet, offer["country"], currency).key
        for wallet in offer["wallets"] or [""]
    ]
    return any(_usable(stored.get(key)) for key in keys)


def _usable(health) -> bool:
    """Usable unless DOWN or paused (a probe's limit is checked when a wallet
    is chosen, not for an aggregator picked by hand)."""
    return health is None or not (health.paused or health.state == State.DOWN)
