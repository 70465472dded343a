"""The provider registry.

``get_provider(code)`` gives a fresh provider instance (its ``exchanges`` list
belongs to one operation); ``checkout_providers(currency)`` lists what the
checkout may offer: configured providers that support the shop currency.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from .base import Provider

PROVIDER_CLASSES = {
    "ligdicash": "payments.providers.ligdicash.LigdicashProvider",
    "novasend": "payments.providers.novasend.NovasendProvider",
    "lygos": "payments.providers.lygos.LygosProvider",
    "lengopay": "payments.providers.lengopay.LengopayProvider",
    "dexchange": "payments.providers.dexchange.DexchangeProvider",
}


class UnknownProvider(LookupError):
    pass


def provider_class(code: str) -> type[Provider]:
    try:
        path = PROVIDER_CLASSES[code]
    except (KeyError, TypeError):
        raise UnknownProvider(code) from None
    try:
        return import_string(path)
    except ImportError:
        raise UnknownProvider(code) from None


def get_provider(code: str, **kwargs) -> Provider:
    return provider_class(code)(**kwargs)


def checkout_providers(currency: str) -> list[Provider]:
    offered = []
    for code in PROVIDER_CLASSES:
        try:
            provider = get_provider(code)
        except UnknownProvider:
            continue
        if provider.is_configured() and provider.supports(currency):
            offered.append(provider)
    return offered
