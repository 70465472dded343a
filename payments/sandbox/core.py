"""The sandbox: an in-app stand-in for the five providers' APIs and pages.

With ``PAYMENTS_SANDBOX=true`` every ``<PROVIDER>_BASE_URL`` points at
``/sandbox/<provider>``, so the production code path runs unchanged and only
the host differs. Each provider's emulator lives in its own module
(``payments/sandbox/<provider>.py``) and provides:

* ``urlpatterns`` — the vendor's API endpoints, answering the documented payloads;
* ``callback_request(sp)`` → ``(url, body_bytes, headers)`` or None — the
  callback the vendor would send (signed where the vendor signs);
* ``browser_target(sp)`` → where the hosted page sends the shopper after
  "payer" / "refuser" ("" keeps the shopper on the sandbox page: push flows).

The shared hosted page (``views.page``) and callback delivery (a Celery task,
so the browser and the callback race as they do in real life) live here.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils.module_loading import import_module

from payments.registry import PROVIDERS

from .models import SandboxPayment

EMULATORS = {entry.code: entry.sandbox for entry in PROVIDERS}
# Each emulator's "create a payment" views: the outage switch below makes
# them answer 503 (``SandboxVendorApiMiddleware``).
CREATE_VIEWS = {
    "ligdicash": ("create_redirect", "create_straight"),
    "novasend": ("create_session",),
    "lygos": ("gateways",),
    "lengopay": ("cashin_request",),
    "dexchange": ("get_link",),
}
FAIL_CREATE_KEY = "sandbox:fail-create"
# A code that always passes the sandbox's OTP check (shown on our OTP page).
SANDBOX_OTP = "123456"


def emulator(provider: str):
    return import_module(EMULATORS[provider])


def available_emulators() -> dict[str, object]:
    """Every provider's emulator (an import error is raised, never hidden)."""
    return {code: import_module(path) for code, path in EMULATORS.items()}


def new_token(prefix: str = "", nbytes: int = 18) -> str:
    return prefix + secrets.token_urlsafe(nbytes).replace("-", "x").replace("_", "y")


def page_url(sp: SandboxPayment) -> str:
    return settings.SITE_URL + reverse("sandbox:page", args=[sp.provider, sp.token])


def shop_url(url: str) -> str:
    """``url`` when it points into the shop itself (SITE_URL), else "".

    The sandbox takes callback, return and cancel URLs from whoever calls its
    emulated vendor API; it must never POST to, or send a browser to, any
    other address (no SSRF, no open redirect)."""
    site = settings.SITE_URL.rstrip("/")
    if not isinstance(url, str) or not site:
        return ""
    return url if url == site or url.startswith(site + "/") else ""


def credentials(provider: str) -> dict:
    return settings.PAYMENT_PROVIDERS.get(provider, {})


def settle(sp: SandboxPayment, status: str) -> SandboxPayment:
    """Move an emulated payment to a final status once, then send the callback."""
    with transaction.atomic():
        sp = SandboxPayment.objects.select_for_update().get(pk=sp.pk)
        if sp.status != SandboxPayment.Status.PENDING:
            return sp
        sp.status = status
        sp.save(update_fields=["status", "updated_at"])
        transaction.on_commit(lambda: send_callback_later(sp.pk))
    return sp


def send_callback_later(sandbox_payment_id: int) -> None:
    if not getattr(settings, "SANDBOX_SEND_CALLBACKS", True):
        return
    from .tasks import deliver_callback

    try:
        deliver_callback.apply_async(
            (sandbox_payment_id,), countdown=getattr(settings, "SANDBOX_CALLBACK_DELAY", 0)
        )
    except Exception:  # broker down: the shop's poller still finds the truth
        pass


def create_fails(provider: str) -> bool:
    """True while ``provider``'s emulated create call is switched to 503: by
    ``SANDBOX_FAIL_CREATE`` (``make run``) or ``fail_create`` (tests)."""
    return provider in settings.SANDBOX_FAIL_CREATE or provider in (
        cache.get(FAIL_CREATE_KEY) or ()
    )


def fail_create(provider: str, failing: bool = True) -> None:
    """Switch ``provider``'s emulated create call to 503 (or back)."""
    current = set(cache.get(FAIL_CREATE_KEY) or ())
    current = current | {provider} if failing else current - {provider}
    cache.set(FAIL_CREATE_KEY, sorted(current), None)
