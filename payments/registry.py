"""The one list of payment providers.

Each entry says where a provider's module and its sandbox emulator live, and
which settings it reads from the environment. ``ashtech_store.settings``
builds ``PAYMENT_PROVIDERS`` from it, ``payments.providers`` imports the
classes, ``payments.sandbox`` the emulators; ``PaymentsConfig.ready`` imports
them all at start-up, so a module that fails to import stops the shop
instead of vanishing from checkout. Plain data: importable from settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    code: str
    provider: str  # dotted path of the Provider class
    sandbox: str  # dotted path of the emulator module
    production_url: str  # the vendor's host (<ENV>_BASE_URL overrides it)
    credentials: tuple[str, ...]  # config keys read from <ENV>_<KEY>
    webhook_secrets: bool = False  # signs its callbacks: <ENV>_WEBHOOK_SECRETS
    options: dict[str, str] = field(
        default_factory=dict
    )  # config key -> default, read from <ENV>_<KEY>

    @property
    def env(self) -> str:
        return self.code.upper()


PROVIDERS: tuple[Entry, ...] = (
    Entry(
        "ligdicash",
        "payments.providers.ligdicash.LigdicashProvider",
        "payments.sandbox.ligdicash",
        "https://app.ligdicash.com",
        ("api_key", "api_token"),
    ),
    Entry(
        "novasend",
        "payments.providers.novasend.NovasendProvider",
        "payments.sandbox.novasend",
        "https://business.novasend.app",
        ("api_key", "api_client", "account_id"),
        webhook_secrets=True,
        # UNCERTAIN refund API (body and answer unpublished): off unless set to true.
        options={"refunds_enabled": ""},
    ),
    Entry(
        "lygos",
        "payments.providers.lygos.LygosProvider",
        "payments.sandbox.lygos",
        "https://api.lygosapp.com/v1",
        ("api_key",),
        webhook_secrets=True,
    ),
    Entry(
        "lengopay",
        "payments.providers.lengopay.LengopayProvider",
        "payments.sandbox.lengopay",
        "https://portal.lengopay.com",
        ("license_key", "website_id"),
        # Every callback is verified with the status endpoint; the v1 path is
        # the fallback when the v2 one answers 404 / 405.
        options={
            "status_path": "/api/v2/cashin/transaction",
            "status_fallback_path": "/api/v1/transaction/status",
        },
    ),
    Entry(
        "dexchange",
        "payments.providers.dexchange.DexchangeProvider",
        "payments.sandbox.dexchange",
        "https://api-m.dexchange.sn",
        ("api_key",),
    ),
)
BY_CODE = {entry.code: entry for entry in PROVIDERS}
