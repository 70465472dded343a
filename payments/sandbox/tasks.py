"""Callback delivery from the sandbox, the way a vendor's server would."""

import logging

import requests
from celery import shared_task
from django.conf import settings

from .core import emulator, shop_url
from .models import SandboxPayment

log = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=3, default_retry_delay=2)
def deliver_callback(self, sandbox_payment_id: int) -> list[int] | None:
    """POST the callback(s) the vendor would send for one settled payment.

    ``callback_request(sp)`` gives one ``(url, body, headers)`` or a list of
    them (Ligdicash sends each event twice: form-encoded, then JSON)."""
    sp = SandboxPayment.objects.get(pk=sandbox_payment_id)
    built = emulator(sp.provider).callback_request(sp)
    if not built:
        return None
    deliveries = built if isinstance(built, list) else [built]
    codes = []
    for url, body, headers in deliveries:
        if not shop_url(url):  # the sandbox only ever calls the shop itself (no SSRF)
            log.warning("sandbox callback to a URL outside SITE_URL refused")
            continue
        try:
            response = _post(url, body, headers)
        except requests.RequestException as exc:
            log.warning("sandbox callback to %s failed: %s", url, type(exc).__name__)
            raise self.retry(exc=exc) from None
        codes.append(response.status_code)
        if response.status_code >= 500:
            raise self.retry()
    SandboxPayment.objects.filter(pk=sp.pk).update(callbacks_sent=sp.callbacks_sent + len(codes))
    return codes


def _post(url: str, body: bytes, headers: dict) -> requests.Response:
    """One delivery as a vendor's server makes it: a timeout, no redirect followed."""
    timeout = settings.PAYMENT_HTTP_TIMEOUT
    return requests.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
