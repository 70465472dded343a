"""What must never run in production, decided from plain values.

Shared by the settings module (which refuses to load, so no command, worker
or server starts: ``SILENCED_SYSTEM_CHECKS`` cannot reach it) and by the
system checks of ``ashtech_store.checks`` (which say the same thing for a
settings module built on ours, e.g. the tests'). No Django import here: the
settings module calls it before Django is configured.
"""

from __future__ import annotations

# Check ids that SILENCED_SYSTEM_CHECKS does not silence at server start.
UNSILENCEABLE = frozenset(
    {"ashtech.E001", "ashtech.E010", "ashtech.E011", "ashtech.E012", "ashtech.E013"}
)
SANDBOX_HINT = (
    "Set PAYMENTS_SANDBOX=false. The sandbox marks orders paid with no money; it is for DEBUG "
    "runs on http only."
)
# Provider settings that hold a credential (everything settings._secret fills
# in, and the webhook secrets); sandbox dummies start with "sandbox-".
CREDENTIAL_KEYS = frozenset(
    {"api_key", "api_token", "api_client", "account_id", "license_key", "website_id"}
    | {"webhook_secrets"}
)


def real_credentials(providers: dict) -> list[str]:
    """``provider.setting`` for every credential that is not a sandbox dummy."""
    found = []
    for provider, config in sorted(providers.items()):
        for key in sorted(CREDENTIAL_KEYS & set(config)):
            values = config[key] if isinstance(config[key], (list, tuple)) else [config[key]]
            if any(value and not str(value).startswith("sandbox-") for value in values):
                found.append(f"{provider}.{key}")
    return found


def sandbox_problems(
    sandbox: bool, debug: bool, site_url: str, providers: dict
) -> list[tuple[str, str]]:
    """(check id, message) for each reason the payment sandbox must not run."""
    if not sandbox:
        return []
    problems = []
    if not debug:
        problems.append(("ashtech.E010", "PAYMENTS_SANDBOX is on while DEBUG is off."))
    if site_url.lower().startswith("https://"):
        problems.append(
            ("ashtech.E011", "PAYMENTS_SANDBOX is on with an https SITE_URL (a public site).")
        )
    real = real_credentials(providers)
    if real:
        problems.append(
            (
                "ashtech.E012",
                "PAYMENTS_SANDBOX is on while real provider credentials are set: "
                f"{', '.join(real)}.",
            )
        )
    return problems
