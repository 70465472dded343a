"""System checks of the payment configuration (``manage.py check``; errors
stop ``migrate`` and ``runserver``). The sandbox guard rails are in
``ashtech_store.checks``.

* W001: a provider with some of its credentials set but not all — it is not
  offered at checkout, which is rarely what was meant.
* W002: ``SITE_URL`` is not https with ``DEBUG`` off — providers are sent
  return and callback URLs built from it (LengoPay and Lygos require https).
* E003: the embedded broker (``filesystem://``, ``memory://``) with ``DEBUG``
  off — tasks would not reach the workers of other containers.
* W004: a configured provider that signs its callbacks, with no webhook
  secret — its callbacks are then refused (Lygos) or only hints (Novasend).
* E005: a provider class that declares a capability (``refunds``,
  ``has_history``) without implementing it, or a refund API we could not
  confirm without the ``refunds_enabled`` setting that keeps it off by default.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from .providers.base import Provider, RefundConfidence
from .registry import PROVIDERS

EMBEDDED_BROKERS = ("filesystem://", "memory://")


@checks.register("payments")
def check_provider_credentials(app_configs=None, **kwargs):
    warnings = []
    for entry in PROVIDERS:
        config = settings.PAYMENT_PROVIDERS.get(entry.code, {})
        present = [key for key in entry.credentials if config.get(key)]
        if present and len(present) < len(entry.credentials):
            missing = [
                f"{entry.env}_{key.upper()}" for key in entry.credentials if key not in present
            ]
            warnings.append(
                checks.Warning(
                    f"{entry.code} is not offered at checkout: {', '.join(missing)} not set.",
                    hint="Set every credential of the provider, or none.",
                    id="payments.W001",
                )
            )
        if (
            entry.webhook_secrets
            and len(present) == len(entry.credentials)
            and not config.get("webhook_secrets")
        ):
            warnings.append(
                checks.Warning(
                    f"{entry.code} signs its callbacks but {entry.env}_WEBHOOK_SECRETS is empty.",
                    hint=(
                        "Copy the webhook secret from the provider's dashboard (several, "
                        "comma-separated, during a rotation)."
                    ),
                    id="payments.W004",
                )
            )
    return warnings


@checks.register("payments")
def check_production_urls(app_configs=None, **kwargs):
    if settings.DEBUG or settings.SITE_URL.lower().startswith("https://"):
        return []
    return [
        checks.Warning(
            f"SITE_URL is {settings.SITE_URL!r} with DEBUG off: providers get return and callback "
            "URLs on plain http.",
            hint="Set SITE_URL to the shop's public https address.",
            id="payments.W002",
        )
    ]


@checks.register("payments")
def check_broker(app_configs=None, **kwargs):
    if settings.DEBUG or not settings.CELERY_BROKER_URL.startswith(EMBEDDED_BROKERS):
        return []
    return [
        checks.Error(
            f"CELERY_BROKER_URL is the embedded {settings.CELERY_BROKER_URL!r} with DEBUG off.",
            hint="Use Redis in production: CELERY_BROKER_URL=redis://host:6379/0.",
            id="payments.E003",
        )
    ]


@checks.register("payments")
def check_capabilities(app_configs=None, **kwargs):
    """Every capability a provider declares is implemented; an uncertain
    refund API has its off-by-default setting."""
    from .providers import provider_class

    errors = []
    for entry in PROVIDERS:
        cls = provider_class(entry.code)
        missing = []
        if cls.refunds.supported:
            missing += [m for m in ("refund", "refund_status") if _inherited(cls, m)]
        if cls.has_history and _inherited(cls, "history"):
            missing.append("history")
        if missing:
            errors.append(
                checks.Error(
                    f"{entry.code} declares a capability it does not implement: "
                    f"{', '.join(missing)}.",
                    hint="Implement it in the provider module, or drop the declaration.",
                    id="payments.E005",
                )
            )
        uncertain = cls.refunds.supported and cls.refunds.confidence == RefundConfidence.UNCERTAIN
        if uncertain and "refunds_enabled" not in entry.options:
            errors.append(
                checks.Error(
                    f"{entry.code}'s refund API is uncertain but has no "
                    f"{entry.env}_REFUNDS_ENABLED setting to keep it off by default.",
                    hint="Add options={'refunds_enabled': ''} to its registry entry.",
                    id="payments.E005",
                )
            )
    return errors


def _inherited(cls: type[Provider], name: str) -> bool:
    return getattr(cls, name) is getattr(Provider, name)
