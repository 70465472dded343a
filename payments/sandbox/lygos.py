"""Lygos emulator: the endpoints and payloads of the Lygos API docs
(docs.lygosapp.com/api-reference/gateway/…) and its webhooks
(docs.lygosapp.com/modules/webhooks).

In sandbox mode the Lygos base URL is ``SITE_URL/sandbox/lygos`` (no ``/v1``),
so the paths here are the vendor's without their ``/v1`` prefix.

* ``POST gateway`` — header ``api-key`` checked (401 ``NO_API_KEY_PROVIDED``
  when absent, 404 ``API_KEY_NOT_FOUND`` when wrong, as documented); 422 with
  ``{"detail": [{loc, msg, type}]}`` on a bad body; 409 when the ``order_id``
  already has a gateway (the vendor's table: "création d'une ressource en
  double"; the body wording is the sandbox's own). Answers the documented
  gateway object; ``link`` is the sandbox's hosted page; the ``currency`` is the
  merchant account's, here the shop's (XOF unless the shop runs in XAF).
* ``GET gateway`` — the list (the only way to find a gateway by ``order_id``).
* ``GET gateway/<id>`` — one gateway, with ``user_country``; 404 ``GATEWAY_NOT_FOUND``.
* ``GET gateway/payin/<order_id>`` — ``{order_id, status}`` with ``pending`` /
  ``success`` / ``failed`` (words the provider module maps); 404 for an
  order without a gateway (wording the sandbox's own); a missing key gets
  404 with the ``NO_API_KEY_PROVIDED`` body, as the docs print for this
  endpoint.
* webhook — when a payment settles, one POST to the shop's
  ``/payments/callback/lygos/`` (Lygos' webhook URL is set in its dashboard,
  not per payment), signed as documented: ``X-Timestamp`` = Unix
  milliseconds, ``X-Signature`` = hex HMAC-SHA256 of the body followed by
  the timestamp, with the first of ``webhook_secrets`` (none configured → no
  webhook, like a dashboard without one). Lygos does not publish the
  payload: the sandbox sends the payin object (``order_id``, ``status``)
  plus the gateway's ``id``, ``amount`` and ``currency``; the shop only uses
  ``order_id`` from it.
* After "Payer" / "Refuser" the hosted page sends the shopper to
  ``success_url`` / ``failure_url``.
"""

import json
import time
import uuid

from django.conf import settings
from django.http import JsonResponse
from django.urls import path, reverse

from payments.providers.lygos import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_webhook

from .api import json_body, vendor_endpoint
from .core import credentials, page_url
from .models import SandboxPayment

NAME = "Lygos Pay"
STATUS = {"pending": "pending", "succeeded": "success", "failed": "failed", "expired": "failed"}
USER_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
COUNTRY = {
    "XOF": {"name": "Côte d'Ivoire", "iso_code": "CIV"},
    "XAF": {"name": "Cameroon", "iso_code": "CMR"},
}


def _detail(status: int, message: str, kind: str) -> JsonResponse:
    return JsonResponse({"detail": {"message": message, "type": kind}}, status=status)


def _auth_error(request, missing_status: int = 401) -> JsonResponse | None:
    key = request.headers.get("api-key")
    if not key:
        return _detail(missing_status, "No API Key.", "NO_API_KEY_PROVIDED")
    if key != credentials("lygos").get("api_key"):
        return _detail(404, "API Key not found", "API_KEY_NOT_FOUND")
    return None


def _invalid(field: str, message: str, kind: str) -> dict:
    return {"loc": ["body", field], "msg": message, "type": kind}


def _problems(data: dict) -> list[dict]:
    problems = []
    amount = data.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool):
        problems.append(_invalid("amount", "Input should be a valid integer", "int_type"))
    elif amount < 100:
        problems.append(
            _invalid("amount", "Input should be greater than or equal to 100", "greater_than_equal")
        )
    for field in ("shop_name", "order_id"):
        if not isinstance(data.get(field), str) or not data.get(field):
            problems.append(_invalid(field, "Field required", "missing"))
    for field in ("message", "success_url", "failure_url"):
        if data.get(field) is not None and not isinstance(data.get(field), str):
            problems.append(_invalid(field, "Input should be a valid string", "string_type"))
    return problems


def _currency() -> str:
    return settings.SHOP_CURRENCY if settings.SHOP_CURRENCY in COUNTRY else "XOF"


def _gateway_body(sp: SandboxPayment) -> dict:
    data = sp.request_data
    return {
        "id": sp.token,
        "amount": sp.amount,
        "currency": sp.currency,
        "shop_name": data.get("shop_name", ""),
        "message": data.get("message") or "",
        "user_id": USER_ID,
        "creation_date": sp.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "link": page_url(sp),
        "order_id": sp.merchant_reference,
        "success_url": sp.return_url,
        "failure_url": sp.cancel_url,
    }


@vendor_endpoint(("GET", "POST"))
def gateways(request):
    refused = _auth_error(request)
    if refused:
        return refused
    if request.method == "GET":
        # The vendor lists a merchant's gateways; the sandbox's key is public,
        # so it lists nothing (it would show every sandbox order).
        return JsonResponse([], safe=False)
    data = json_body(request)
    if data is None:
        return JsonResponse(
            {"detail": [_invalid("body", "Input should be a valid dictionary", "dict_type")]},
            status=422,
        )
    problems = _problems(data)
    if problems:
        return JsonResponse({"detail": problems}, status=422)
    if SandboxPayment.objects.filter(
        provider="lygos", merchant_reference=data["order_id"]
    ).exists():
        return _detail(409, "A gateway already exists for this order_id", "GATEWAY_ALREADY_EXISTS")
    sp = SandboxPayment.objects.create(
        provider="lygos",
        token=str(uuid.uuid4()),
        merchant_reference=data["order_id"],
        amount=data["amount"],
        currency=_currency(),
        method="hosted",
        return_url=data.get("success_url") or "",
        cancel_url=data.get("failure_url") or "",
        request_data=data,
    )
    return JsonResponse(_gateway_body(sp))


@vendor_endpoint(("GET",))
def gateway(request, gateway_id: str):
    refused = _auth_error(request)
    if refused:
        return refused
    sp = SandboxPayment.objects.filter(provider="lygos", token=gateway_id).first()
    if sp is None:
        return _detail(404, "Payment Gateway Not found", "GATEWAY_NOT_FOUND")
    body = _gateway_body(sp)
    body.pop("user_id")
    body["user_country"] = COUNTRY.get(sp.currency, COUNTRY["XOF"])
    return JsonResponse(body)


@vendor_endpoint(("GET",))
def payin(request, order_id: str):
    # The docs print the missing-key body under 404 for this endpoint only.
    refused = _auth_error(request, missing_status=404)
    if refused:
        return refused
    sp = SandboxPayment.objects.filter(provider="lygos", merchant_reference=order_id).first()
    if sp is None:
        return _detail(404, "Payin not found", "PAYIN_NOT_FOUND")
    return JsonResponse({"order_id": sp.merchant_reference, "status": STATUS[sp.status]})


def webhook_body(sp: SandboxPayment) -> bytes:
    """The sandbox's webhook payload (Lygos publishes none; see the docstring)."""
    body = {
        "id": sp.token,
        "order_id": sp.merchant_reference,
        "status": STATUS[sp.status],
        "amount": sp.amount,
        "currency": sp.currency,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def callback_request(sp: SandboxPayment):
    """The signed webhook Lygos would POST once ``sp`` has settled."""
    secrets = credentials("lygos").get("webhook_secrets") or []
    if isinstance(secrets, str):
        secrets = [s for s in secrets.split(",") if s.strip()]
    if sp.status == SandboxPayment.Status.PENDING or not secrets:
        return None
    body = webhook_body(sp)
    timestamp = str(int(time.time() * 1000))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign_webhook(secrets[0].strip(), body, timestamp),
    }
    return settings.SITE_URL + reverse("payments:callback", args=["lygos"]), body, headers


def browser_target(sp: SandboxPayment) -> str:
    return sp.return_url if sp.status == SandboxPayment.Status.SUCCEEDED else sp.cancel_url


urlpatterns = [
    path("gateway", gateways),
    path("gateway/payin/<str:order_id>", payin),
    path("gateway/<str:gateway_id>", gateway),
]
