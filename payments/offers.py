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
``title`` (the wallets, as people say them) and ``detail`` (how paying works).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .providers import checkout_providers
from .providers.base import Flow, Method, Provider

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
    """The method's wallets that exist in ``country``, as shown to the shopper."""
    names = [w for w in method.wallets if country in WALLET_COUNTRIES.get(w, (country,))]
    return [str(WALLET_LABELS.get(name, name)) for name in names]


def offers_for(order) -> list[dict]:
    """The pay page's choices for ``order``, provider by provider."""
    return offers_in(order.currency, order.total, order.country)


def offers_in(
    currency: str, total: int, country: str, providers: list[Provider] | None = None
) -> list[dict]:
    """The choices a ``total`` in ``currency`` from ``country`` would have."""
    offers = []
    for provider in checkout_providers(currency) if providers is None else providers:
        if total < provider.minimum_amount:
            continue
        for method in provider.methods:
            if not serves(provider, method, country):
                continue
            wallets = wallets_in(method, country)
            if method.wallets and not wallets:
                continue  # none of its wallets exists in this country
            offers.append(
                {
                    "value": f"{provider.code}:{method.code}",
                    "provider": provider,
                    "method": method,
                    "ussd": method.ussd.format(amount=total) if method.ussd else "",
                    "title": ", ".join(wallets) or str(method.label),
                    "wallet": wallets[0] if len(wallets) == 1 else "",
                    "detail": DETAIL_OVERRIDES.get(
                        (provider.code, method.code), DETAILS[method.flow]
                    )
                    % {"provider": provider.name},
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
