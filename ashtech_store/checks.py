"""Configuration mistakes that must stop the shop, as system check errors.

Registered (tag ``guard_rails``) when the ``shop`` app is ready, so every
``manage.py`` command that runs checks (``runserver``, ``migrate``, ``check``…)
refuses to go on, and ``ashtech_store.wsgi`` / ``asgi`` run them before
serving a single request (``refuse_unsafe_start``): gunicorn does not run
Django's checks by itself.

* E001: the public development ``SECRET_KEY`` with ``DEBUG`` off.
* E002: e-mail unset, printed or dropped with ``DEBUG`` off.
* E010–E012: the payment sandbox (anyone can "pay" on its page) with
  ``DEBUG`` off, with an https ``SITE_URL``, or with a real credential.

Deploy checks (``check --deploy``):

* E020: a client-address header (``TRUSTED_PROXY_HEADER``) honoured from any
  sender because ``TRUSTED_PROXIES`` is empty.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

TAG = "guard_rails"
# Mail backends that never deliver: fine on a laptop, a leak or a loss in production.
NON_DELIVERING = {
    "ashtech_store.mail.UnconfiguredEmailBackend": "EMAIL_URL is not set",
    "django.core.mail.backends.console.EmailBackend": (
        "e-mails (with their bearer order links) would be printed to the logs"
    ),
    "django.core.mail.backends.dummy.EmailBackend": "e-mails would be dropped",
}
# Provider settings that hold a credential (everything _secret fills in, and
# the webhook secrets); sandbox dummies start with "sandbox-".
CREDENTIAL_KEYS = {
    "api_key",
    "api_token",
    "api_client",
    "account_id",
    "license_key",
    "website_id",
    "webhook_secrets",
}


@checks.register(TAG)
def check_secret_key(app_configs=None, **kwargs):
    if settings.DEBUG or settings.SECRET_KEY != settings.DEV_SECRET_KEY:
        return []
    return [
        checks.Error(
            "SECRET_KEY is the public development key while DEBUG is off.",
            hint="Set SECRET_KEY in the environment.",
            id="ashtech.E001",
        )
    ]


@checks.register(TAG)
def check_email(app_configs=None, **kwargs):
    reason = NON_DELIVERING.get(settings.EMAIL_BACKEND)
    if settings.DEBUG or not reason:
        return []
    return [
        checks.Error(
            f"E-mail is not configured for production: {reason}.",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587.",
            id="ashtech.E002",
        )
    ]


@checks.register(TAG)
def check_sandbox(app_configs=None, **kwargs):
    if not settings.PAYMENTS_SANDBOX:
        return []
    hint = (
        "Set PAYMENTS_SANDBOX=false. The sandbox marks orders paid with no money; it is for DEBUG "
        "runs on http only."
    )
    errors = []
    if not settings.DEBUG:
        errors.append(
            checks.Error("PAYMENTS_SANDBOX is on while DEBUG is off.", hint=hint, id="ashtech.E010")
        )
    if settings.SITE_URL.lower().startswith("https://"):
        errors.append(
            checks.Error(
                "PAYMENTS_SANDBOX is on with an https SITE_URL (a public site).",
                hint=hint,
                id="ashtech.E011",
            )
        )
    real = real_credentials()
    if real:
        errors.append(
            checks.Error(
                "PAYMENTS_SANDBOX is on while real provider credentials are set: "
                f"{', '.join(real)}.",
                hint=hint,
                id="ashtech.E012",
            )
        )
    return errors


def real_credentials() -> list[str]:
    """``provider.setting`` for every credential that is not a sandbox dummy."""
    found = []
    for provider, config in sorted(settings.PAYMENT_PROVIDERS.items()):
        for key in sorted(CREDENTIAL_KEYS & set(config)):
            values = config[key] if isinstance(config[key], (list, tuple)) else [config[key]]
            if any(value and not str(value).startswith("sandbox-") for value in values):
                found.append(f"{provider}.{key}")
    return found


def refuse_unsafe_start() -> None:
    """Raise ImproperlyConfigured when a guard-rail check fails (server start)."""
    silenced = set(settings.SILENCED_SYSTEM_CHECKS)
    errors = [e for e in checks.run_checks(tags=[TAG]) if e.is_serious() and e.id not in silenced]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg}" for e in errors))


@checks.register(checks.Tags.security, deploy=True)
def check_trusted_proxies(app_configs=None, **kwargs):
    """A proxy header believed from anyone lets whoever reaches gunicorn
    directly (another container, a firewall slip) pick the address every rate
    limit and the staff login back-off count on."""
    if settings.DEBUG or not settings.TRUSTED_PROXY_HEADER or settings.TRUSTED_PROXIES:
        return []
    return [
        checks.Error(
            f"TRUSTED_PROXY_HEADER={settings.TRUSTED_PROXY_HEADER} is honoured from any sender: "
            "TRUSTED_PROXIES is empty.",
            hint=(
                "Set TRUSTED_PROXIES to the proxy's own address or network (with "
                "docker-compose.yml and a proxy on the host: 172.30.0.1, the network's gateway)."
            ),
            id="ashtech.E020",
        )
    ]
