"""Novasend emulator: the current "Merchant API" v1 (docs.novasend.app, the
vendor text), in the same dialect as ``payments/providers/novasend.py``.

* ``POST v1/payin/sessions`` — ``Authorization: Basic base64(api_key:api_client)``
  checked; ``X-Idempotency-Key`` required (the v1.0 API's ``X-Idempotence-Key``
  is not this API's and is refused). The same key always answers the same
  session and never creates a second one: the session's reference is derived
  from the key and is unique in the table, so even two concurrent requests
  end on one row. A new key reusing a merchant ``reference`` gets 409.
  The answer has exactly the keys of the vendor text's sample: ``status``
  processing, ``confirmationRequired`` true and a ``paymentUrl`` (the sandbox
  page, where "Payer" / "Refuser" stand for the shopper's confirm / decline).
* ``GET v1/payin/<reference>`` — by Novasend's reference (the session's); the
  vendor text's status object, with ``transaction`` once settled.
* webhook — the transaction object of the docs.novasend.app/webhook sample
  (``id`` = Novasend's ``tr_…``, ``reference`` = the merchant's, ``type``,
  ``status``, ``confirmationStatus``, amounts, ``customer``…), compact JSON,
  ``X-Signature-Value`` = hex HMAC-SHA256 of the body with the first
  configured secret (unsigned when none is configured), posted to the shop's
  callback URL (a Novasend webhook is set per account in the portal, not per
  request). A paid session sends a non-final webhook (the shopper accepted,
  ``processing``) and then the final one; the shop must treat both as mere
  triggers for a status check.
* after "Payer" / "Refuser" the shopper stays on the sandbox page: a Novasend
  payin session has no return URL, so the real one cannot send them back.
"""

import base64
import hashlib
import hmac
import json
import re
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.urls import NoReverseMatch, path, reverse

from .api import json_body, vendor_endpoint
from .core import credentials, page_url
from .models import SandboxPayment

NAME = "Novasend"
E164 = re.compile(r"\+[1-9]\d{7,14}")
FEE_PERCENT = 2


def _error(status: int, label: str, message: str, sub_errors: list | None = None) -> JsonResponse:
    body = {
        "statusCode": status,
        "message": message,
        "error": label,
        "correlationId": str(uuid.uuid4()),
    }
    if sub_errors:
        body["subErrors"] = sub_errors
    return JsonResponse(body, status=status)


def _authorised(request) -> bool:
    conf = credentials("novasend")
    expected = "Basic " + base64.b64encode(
        f"{conf.get('api_key', '')}:{conf.get('api_client', '')}".encode()
    ).decode("ascii")
    return hmac.compare_digest(request.headers.get("Authorization", ""), expected)


def _unauthenticated() -> JsonResponse:
    return _error(401, "Unauthorized", "unauthenticated")


def _token_for(key: str) -> str:
    digest = hashlib.sha256(f"novasend-idempotency:{key}".encode()).digest()
    return "tr_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


def _problems(data: dict) -> list[str]:
    problems = []
    if not isinstance(data.get("reference"), str) or not data.get("reference"):
        problems.append("reference must be a non-empty string")
    amount = data.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        problems.append("amount must be a positive integer")
    if not isinstance(data.get("msisdn"), str) or not E164.fullmatch(data.get("msisdn", "")):
        problems.append("msisdn must be a valid phone number")
    if not isinstance(data.get("customerName"), str) or not data.get("customerName", "").strip():
        problems.append("customerName should not be empty")
    if not isinstance(data.get("country"), str) or not re.fullmatch(
        r"[A-Z]{2}", data.get("country", "")
    ):
        problems.append("country must be an ISO 3166-1 alpha-2 code")
    return problems


def _callback_url() -> str:
    try:
        return settings.SITE_URL + reverse("payments:callback", args=["novasend"])
    except NoReverseMatch:
        return ""


@vendor_endpoint(("POST",))
def create_session(request):
    if not _authorised(request):
        return _unauthenticated()
    key = request.headers.get("X-Idempotency-Key") or ""
    if not key.strip():
        return _error(400, "Bad Request", "X-Idempotency-Key header is required")
    data = json_body(request)
    if data is None:
        return _error(400, "Bad Request", "body must be a JSON object")
    token = _token_for(key)
    existing = SandboxPayment.objects.filter(provider="novasend", token=token).first()
    if existing is not None:
        return _replay(existing, data)
    problems = _problems(data)
    if problems:
        return _error(422, "Unprocessable Entity", "Validation error", problems)
    if data.get("accountId") != credentials("novasend").get("account_id"):
        return _error(404, "Not Found", "wallet does not exist")
    if SandboxPayment.objects.filter(
        provider="novasend", merchant_reference=data["reference"]
    ).exists():
        return _error(409, "Conflict", "a payment already exists for the same reference")
    try:
        with transaction.atomic():
            sp = SandboxPayment.objects.create(
                provider="novasend",
                token=token,
                merchant_reference=data["reference"],
                amount=data["amount"],
                currency="XOF",
                method="mobile_money",
                phone=data["msisdn"],
                callback_url=_callback_url(),
                request_data={"body": data, "idempotency_key": key},
            )
    except IntegrityError:  # the same key, at the same moment: one session only
        return _replay(SandboxPayment.objects.get(provider="novasend", token=token), data)
    return JsonResponse(_session_body(sp), status=201)


def _replay(sp: SandboxPayment, data: dict) -> JsonResponse:
    if data.get("reference") != sp.merchant_reference:
        return _error(409, "Conflict", "idempotency key already used with another payment")
    return JsonResponse(_session_body(sp), status=201)


def _fee(sp: SandboxPayment) -> int:
    return sp.amount * FEE_PERCENT // 100


def _session_body(sp: SandboxPayment) -> dict:
    return {
        "type": "payin",
        "fee": _fee(sp),
        "reference": sp.token,
        "phoneNumber": sp.phone,
        "amount": sp.amount,
        "chargedAmount": sp.amount + _fee(sp),
        "status": "processing",
        "currency": sp.currency,
        "customerReference": sp.merchant_reference,
        "confirmationRequired": True,
        "confirmationStatus": "none",
        "paymentUrl": page_url(sp),
        "createdAt": _iso(sp.created_at),
    }


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _customer_name(sp: SandboxPayment) -> str:
    return str(sp.request_data.get("body", {}).get("customerName", ""))


def _status_body(sp: SandboxPayment) -> dict:
    body = _session_body(sp)
    body.pop("paymentUrl")
    body["customerName"] = _customer_name(sp)
    Status = SandboxPayment.Status
    if sp.status == Status.PENDING:
        body.update(status="processing", transaction=None, failure=None)
        return body
    if sp.status == Status.EXPIRED:
        body.update(status="expired", confirmationStatus="expired", transaction=None, failure=None)
        return body
    succeeded = sp.status == Status.SUCCEEDED
    body.update(
        status="processed",
        confirmationStatus="accepted" if succeeded else "declined",
        transaction={
            "reference": "tr_" + sp.token[3:19],
            "status": "completed" if succeeded else "failed",
            "customerName": _customer_name(sp),
            "processedAt": _iso(sp.updated_at),
            "phoneNumber": sp.phone,
            "amount": f"{sp.amount}.00",
            "fees": "0.00",
            "chargedAmount": f"{sp.amount}.00",
            "currency": sp.currency,
        },
        failure=None
        if succeeded
        else {"code": "PAYMENT.DECLINED", "message": "declined by the customer"},
    )
    return body


@vendor_endpoint(("GET",))
def payin_status(request, reference: str):
    if not _authorised(request):
        return _unauthenticated()
    sp = SandboxPayment.objects.filter(provider="novasend", token=reference).first()
    if sp is None:
        return _error(404, "Not Found", "payment does not exist")
    if sp.method == "refund":
        return JsonResponse(_refund_body(_settle_refund(sp)))
    return JsonResponse(_status_body(sp))


def webhook_body(sp: SandboxPayment, status: str, confirmation: str) -> bytes:
    """One webhook in the documented shape, compact as a server sends it."""
    failed = sp.status == SandboxPayment.Status.FAILED
    payload = {
        "id": sp.token,
        "fees": _fee(sp),
        "type": "payin",
        "amount": sp.amount,
        "status": status,
        "failure": {"code": "PAYMENT.DECLINED", "message": "declined by the customer"}
        if failed
        else None,
        "currency": sp.currency,
        "customer": {"name": _customer_name(sp), "phoneNumber": sp.phone},
        "createdAt": _iso(sp.created_at),
        "reference": sp.merchant_reference,
        "paymentUrl": page_url(sp),
        "chargedAmount": sp.amount + _fee(sp),
        "confirmationStatus": confirmation,
        "confirmationRequired": True,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def webhook_states(sp: SandboxPayment) -> list[tuple[str, str]]:
    """The (status, confirmationStatus) of each webhook a settled session sends."""
    Status = SandboxPayment.Status
    if sp.status == Status.SUCCEEDED:
        return [("processing", "accepted"), ("processed", "accepted")]
    if sp.status == Status.FAILED:
        return [("processed", "declined")]
    if sp.status == Status.EXPIRED:
        return [("expired", "expired")]
    return []


def sign(body: bytes) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    secrets = credentials("novasend").get("webhook_secrets") or []
    if secrets:
        headers["X-Signature-Value"] = hmac.new(
            secrets[0].encode(), body, hashlib.sha256
        ).hexdigest()
    return headers


def callback_request(sp: SandboxPayment):
    if not sp.callback_url:
        return None
    deliveries = []
    for status, confirmation in webhook_states(sp):
        body = webhook_body(sp, status, confirmation)
        deliveries.append((sp.callback_url, body, sign(body)))
    return deliveries or None


def browser_target(sp: SandboxPayment) -> str:
    """Nowhere (""): a Novasend payin session has no return URL."""
    return ""


# --- refunds: POST v1/payin/<reference>/refund with X-Idempotency-Key -------------------
# The same key always answers the same refund (never a second one); the total refunded
# never exceeds the payin. Outcome by the reason: "[refuser]" → failed, "[attente]" →
# stays pending, else completed at the first status read REFUND_SETTLE_SECONDS after it.
REFUND_SETTLE_SECONDS = 2


@vendor_endpoint(("POST",))
def refund_payin(request, reference: str):
    if not _authorised(request):
        return _unauthenticated()
    key = request.headers.get("X-Idempotency-Key") or ""
    if not key.strip():
        return _error(400, "Bad Request", "X-Idempotency-Key header is required")
    payin = (
        SandboxPayment.objects.filter(provider="novasend", token=reference)
        .exclude(method="refund")
        .first()
    )
    if payin is None:
        return _error(404, "Not Found", "payment does not exist")
    token = _token_for(f"refund:{key}")
    existing = SandboxPayment.objects.filter(provider="novasend", token=token).first()
    if existing is not None:
        return JsonResponse(_refund_body(existing), status=201)
    data = json_body(request) or {}
    amount = data.get("amount")
    if payin.status != SandboxPayment.Status.SUCCEEDED:
        return _error(422, "Unprocessable Entity", "payment is not completed")
    done = sum(
        SandboxPayment.objects.filter(
            provider="novasend", method="refund", merchant_reference=payin.token
        )
        .exclude(status="failed")
        .values_list("amount", flat=True)
    )
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or amount <= 0
        or amount + done > payin.amount
    ):
        return _error(
            422, "Unprocessable Entity", "Validation error", ["amount exceeds what can be refunded"]
        )
    try:
        with transaction.atomic():
            sp = SandboxPayment.objects.create(
                provider="novasend",
                token=token,
                merchant_reference=payin.token,
                amount=amount,
                currency="XOF",
                method="refund",
                phone=payin.phone,
                request_data={"body": data, "idempotency_key": key},
            )
    except IntegrityError:
        sp = SandboxPayment.objects.get(provider="novasend", token=token)
    return JsonResponse(_refund_body(sp), status=201)


def _settle_refund(sp: SandboxPayment) -> SandboxPayment:
    from django.utils import timezone

    reason = str(sp.request_data.get("body", {}).get("reason", "")).lower()
    if sp.status != SandboxPayment.Status.PENDING or "[attente]" in reason:
        return sp
    if "[refuser]" in reason:
        SandboxPayment.objects.filter(pk=sp.pk).update(status=SandboxPayment.Status.FAILED)
    elif (timezone.now() - sp.created_at).total_seconds() >= REFUND_SETTLE_SECONDS:
        SandboxPayment.objects.filter(pk=sp.pk).update(status=SandboxPayment.Status.SUCCEEDED)
    sp.refresh_from_db()
    return sp


def _refund_body(sp: SandboxPayment) -> dict:
    word = {"pending": "pending", "succeeded": "completed"}.get(sp.status, "failed")
    return {
        "type": "refund",
        "reference": sp.token,
        "payinReference": sp.merchant_reference,
        "amount": sp.amount,
        "currency": sp.currency,
        "status": word,
        "createdAt": _iso(sp.created_at),
    }


urlpatterns = [
    path("v1/payin/<str:reference>/refund", refund_payin),
    path("v1/payin/sessions", create_session),
    path("v1/payin/<str:reference>", payin_status),
]
