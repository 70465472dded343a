"""DEXCHANGE emulator: the merchant payment link, speaking the dialect that
``payments/providers/dexchange.py`` documents (paths under ``/api/v1``, the
SDK's upper-case webhook keys), so the shop's production code runs unchanged.

* ``POST api/v1/transaction/merchant/get-link`` → 201 with ``{success,
  transactionId, PaymentUrl, externalTransactionId, Status}``, wrapped in
  ``{message, transaction}`` (the API reference's schema) or flat (the
  docs page's sample) as ``SANDBOX_DEXCHANGE_SHAPE`` says ("wrapped" by
  default, "flat"); 401 on a wrong Bearer key, 400 on a missing field or
  ``ItemPrice`` < 100, 409 on a reused ``externalTransactionId``, error
  bodies ``{"message": [...], "success": false}``. ``PaymentUrl`` is the
  sandbox's hosted page.
* ``GET api/v1/transaction/merchant/<transactionId>`` → ``{message,
  transaction: {Merchant, ItemName, Amount, Number, Status, Initiated_at,
  Completed_at, SuccessUrl}}`` (same shape setting); 404 when unknown.
* ``GET api/v1/transaction/<transactionId>`` (the general status endpoint,
  the provider's fallback) → ``{message, transaction: {ServiceName,
  ServiceCode, OperatorApi, Type, Amount, Number, Status, Initiated_at,
  Completed_at}}``.
* the hosted page sends the shopper to ``successUrl`` / ``failureUrl``;
* webhook, unsigned JSON: ``{id, externalTransactionId, transactionType,
  AMOUNT, FEE, PHONE_NUMBER, STATUS, CUSTOM_DATA, COMPLETED_AT, BALANCE,
  PREVIOUS_BALANCE, CURRENT_BALANCE}`` (the SDK's ``WebhookEvent``).
"""

import json

from django.conf import settings
from django.http import JsonResponse
from django.urls import path

from .api import json_body, vendor_endpoint
from .core import credentials, new_token, page_url
from .models import SandboxPayment

NAME = "DEXCHANGE"
MINIMUM = 100
STATUS = {"pending": "PENDING", "succeeded": "SUCCESS", "failed": "FAILED", "expired": "EXPIRED"}
REQUIRED = ("externalTransactionId", "ItemName", "callBackURL", "successUrl", "failureUrl")
FEE_PERCENT = 1  # an arbitrary merchant fee, so FEE and the balances are not all zero
# The sandbox merchant's balance before any payment (FCFA).
OPENING_BALANCE = 100_000


def _shape() -> str:
    return (
        "flat" if getattr(settings, "SANDBOX_DEXCHANGE_SHAPE", "wrapped") == "flat" else "wrapped"
    )


def _answer(message: str, transaction: dict, status: int = 200) -> JsonResponse:
    body = transaction if _shape() == "flat" else {"message": message, "transaction": transaction}
    return JsonResponse(body, status=status)


def _authorised(request) -> bool:
    return (
        request.headers.get("Authorization") == f"Bearer {credentials('dexchange').get('api_key')}"
    )


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"message": [message], "success": False}, status=status)


def _invalid(data: dict) -> str:
    for key in REQUIRED:
        if not isinstance(data.get(key), str) or not data[key].strip():
            return f"{key} is required"
    price = data.get("ItemPrice")
    if not isinstance(price, int) or isinstance(price, bool):
        return "ItemPrice must be a number"
    if price < MINIMUM:
        return f"ItemPrice must be at least {MINIMUM}"
    custom = data.get("customData")
    if custom is not None and not isinstance(custom, str):
        return "customData must be a string"
    return ""


@vendor_endpoint(("POST",))
def get_link(request):
    if not _authorised(request):
        return _error("Invalid API key", 401)
    data = json_body(request)
    if data is None:
        return _error("Invalid JSON body", 400)
    problem = _invalid(data)
    if problem:
        return _error(problem, 400)
    reference = data["externalTransactionId"].strip()
    if SandboxPayment.objects.filter(provider="dexchange", merchant_reference=reference).exists():
        return _error("External transaction ID already used", 409)
    sp = SandboxPayment.objects.create(
        provider="dexchange",
        token="MID" + new_token(nbytes=9).upper(),
        merchant_reference=reference,
        amount=data["ItemPrice"],
        currency="XOF",
        method="hosted",
        phone=str(data.get("ClientPhone") or "")[:30],
        callback_url=data["callBackURL"],
        return_url=data["successUrl"],
        cancel_url=data["failureUrl"],
        request_data=data,
    )
    transaction = {
        "success": True,
        "transactionId": sp.token,
        "PaymentUrl": page_url(sp),
        "externalTransactionId": reference,
        "Status": "PENDING",
    }
    return _answer("Transaction initiated successfully", transaction, status=201)


def _stamp(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _completed_at(sp: SandboxPayment) -> str | None:
    return None if sp.status == SandboxPayment.Status.PENDING else _stamp(sp.updated_at)


def _find(request, transaction_id: str) -> tuple[SandboxPayment | None, JsonResponse | None]:
    if not _authorised(request):
        return None, _error("Invalid API key", 401)
    sp = SandboxPayment.objects.filter(provider="dexchange", token=transaction_id).first()
    if sp is None:
        return None, _error("No transaction found", 404)
    return sp, None


@vendor_endpoint(("GET",))
def merchant_transaction(request, transaction_id: str):
    sp, refused = _find(request, transaction_id)
    if refused:
        return refused
    transaction = {
        "Merchant": settings.SHOP_NAME,
        "ItemName": str(sp.request_data.get("ItemName", "")),
        "Amount": sp.amount,
        "Number": sp.phone,
        "Status": STATUS[sp.status],
        "Initiated_at": _stamp(sp.created_at),
        "Completed_at": _completed_at(sp),
        "SuccessUrl": sp.return_url,
    }
    return _answer("Transaction fetched successfully", transaction)


@vendor_endpoint(("GET",))
def transaction_status(request, transaction_id: str):
    sp, refused = _find(request, transaction_id)
    if refused:
        return refused
    transaction = {
        "ServiceName": "DEXCHANGE Sandbox",
        "ServiceCode": "SANDBOX_SN_MERCHANT",
        "OperatorApi": sp.token,
        "Type": "MERCHANT",
        "Amount": sp.amount,
        "Number": sp.phone,
        "Status": STATUS[sp.status],
        "Initiated_at": _stamp(sp.created_at),
        "Completed_at": _completed_at(sp),
    }
    return JsonResponse({"message": "Transaction fetched successfully", "transaction": transaction})


def webhook_body(sp: SandboxPayment) -> dict:
    """The webhook for one settled payment, with the SDK's keys and types."""
    paid = sp.status == SandboxPayment.Status.SUCCEEDED
    fee = sp.amount * FEE_PERCENT // 100 if paid else 0
    credited = sp.amount - fee if paid else 0
    return {
        "id": sp.token,
        "externalTransactionId": sp.merchant_reference,
        "transactionType": "MERCHANT",
        "AMOUNT": sp.amount,
        "FEE": fee,
        "PHONE_NUMBER": sp.phone,
        "STATUS": STATUS[sp.status],
        "CUSTOM_DATA": str(sp.request_data.get("customData") or ""),
        "COMPLETED_AT": _stamp(sp.updated_at),
        "BALANCE": OPENING_BALANCE + credited,
        "PREVIOUS_BALANCE": OPENING_BALANCE,
        "CURRENT_BALANCE": OPENING_BALANCE + credited,
    }


def callback_request(sp: SandboxPayment):
    if not sp.callback_url:
        return None
    return (
        sp.callback_url,
        json.dumps(webhook_body(sp)).encode(),
        {"Content-Type": "application/json"},
    )


def browser_target(sp: SandboxPayment) -> str:
    return sp.return_url if sp.status == SandboxPayment.Status.SUCCEEDED else sp.cancel_url


urlpatterns = [
    path("api/v1/transaction/merchant/get-link", get_link),
    path("api/v1/transaction/merchant/<str:transaction_id>", merchant_transaction),
    path("api/v1/transaction/<str:transaction_id>", transaction_status),
]
