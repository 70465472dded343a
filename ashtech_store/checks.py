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

* E013: LengoPay configured with no status endpoint (``LENGOPAY_STATUS_PATH=``,
  so an unsigned callback decides) with ``DEBUG`` off, unless
  ``LENGOPAY_ACCEPT_UNVERIFIED_CALLBACKS`` accepts the risk.

E001, E010–E013 cannot be silenced: ``ashtech_store.settings`` itself
refuses to load with them (``guard_rails``), and ``refuse_unsafe_start``
ignores ``SILENCED_SYSTEM_CHECKS`` for them.

Deploy checks (``check --deploy``):

* E020: a client-address header (``TRUSTED_PROXY_HEADER``) honoured from any
  sender because ``TRUSTED_PROXIES`` is empty.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import guard_rails

TAG = "guard_rails"
# Mail backends that never deliver: fine on a laptop, a leak or a loss in production.
NON_DELIVERING = {
    "ashtech_store.mail.UnconfiguredEmailBackend": "EMAIL_URL is not set",
    "django.core.mail.backends.console.EmailBackend": (
        "e-mails (with their bearer order links) would be printed to the logs"
    ),
    "django.core.mail.backends.dummy.EmailBackend": "e-mails would be dropped",
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
    problems = guard_rails.sandbox_problems(
        settings.PAYMENTS_SANDBOX, settings.DEBUG, settings.SITE_URL, settings.PAYMENT_PROVIDERS
    )
    return [
        checks.Error(message, hint=guard_rails.SANDBOX_HINT, id=check_id)
        for check_id, message in problems
    ]


@checks.register(TAG)
def check_lengopay_status_path(app_configs=None, **kwargs):
    config = settings.PAYMENT_PROVIDERS.get("lengopay", {})
    if (
        settings.DEBUG
        or not config.get("license_key")
        or config.get("status_path")
        or settings.LENGOPAY_ACCEPT_UNVERIFIED_CALLBACKS
    ):
        return []
    return [
        checks.Error(
            "LENGOPAY_STATUS_PATH is empty: LengoPay's unsigned callbacks would decide payments "
            "(anyone can post one).",
            hint=(
                "Set LENGOPAY_STATUS_PATH (default /api/v2/cashin/transaction), or accept the "
                "risk explicitly with LENGOPAY_ACCEPT_UNVERIFIED_CALLBACKS=true."
            ),
            id="ashtech.E013",
        )
    ]


def refuse_unsafe_start() -> None:
    """Raise ImproperlyConfigured when a guard-rail check fails (server start).

    ``SILENCED_SYSTEM_CHECKS`` may quiet the others, never the sandbox in
    production or the development key (``guard_rails.UNSILENCEABLE``)."""
    silenced = set(settings.SILENCED_SYSTEM_CHECKS) - guard_rails.UNSILENCEABLE
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
