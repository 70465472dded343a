"""Provider classes, found from the one list in ``payments.registry``.

``get_provider(code)`` gives a fresh provider instance (its ``exchanges`` list
belongs to one operation); ``checkout_providers(currency)`` lists what the
checkout may offer: configured providers that support the shop currency.
A provider module that fails to import raises at start-up
(``PaymentsConfig.ready``): it never vanishes from checkout silently.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from payments.registry import PROVIDERS

from .base import Provider

PROVIDER_CLASSES = {entry.code: entry.provider for entry in PROVIDERS}


class UnknownProvider(LookupError):
    pass


def provider_class(code: str) -> type[Provider]:
    try:
        path = PROVIDER_CLASSES[code]
    except (KeyError, TypeError):
        raise UnknownProvider(code) from None
    return import_string(path)


def get_provider(code: str, **kwargs) -> Provider:
    return provider_class(code)(**kwargs)


def load_all() -> None:
    """Import every provider class (start-up): an import error is raised."""
    for code in PROVIDER_CLASSES:
        provider_class(code)


def checkout_providers(currency: str) -> list[Provider]:
    offered = []
    for code in PROVIDER_CLASSES:
        provider = get_provider(code)
        if provider.is_configured() and provider.supports(currency):
            offered.append(provider)
    return offered
