"""DEXCHANGE emulator: the merchant payment link of ``providers/dexchange.txt``,
with the paths and payloads of DEXCHANGE's public docs and official SDK (see
``payments/providers/dexchange.py``).

* ``POST api/v1/transaction/merchant/get-link`` → 201 ``{message, transaction:
  {success, transactionId, PaymentUrl, externalTransactionId, Status}}``;
  401 on a wrong Bearer key, 400 on a missing field or ``ItemPrice`` < 100,
  409 on a reused ``externalTransactionId`` — error bodies
  ``{"message": [...], "success": false}``. ``PaymentUrl`` is the sandbox's
  hosted page.
* ``GET api/v1/transaction/merchant/<transactionId>`` → ``{message,
  transaction: {Merchant, ItemName, Amount, Number, Status, Initiated_at,
  Completed_at, SuccessUrl}}``; 404 when unknown.
* the hosted page sends the shopper to ``successUrl`` / ``failureUrl``;
* webhook: ``{id, externalTransactionId, transactionType, AMOUNT, FEE,
  PHONE_NUMBER, STATUS, CUSTOM_DATA, COMPLETED_AT}``, unsigned.
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


def _authorised(request) -> bool:
    return request.headers.get("Authorization") == f"Bearer {credentials('dexchange').get('api_key')}"


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
        return _error("externalTransactionId already used", 409)
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
    transaction = {"success": True, "transactionId": sp.token, "PaymentUrl": page_url(sp), "externalTransactionId": reference, "Status": "PENDING"}
    return JsonResponse({"message": "Transaction initiated successfully", "transaction": transaction}, status=201)


def _completed_at(sp: SandboxPayment) -> str | None:
    return None if sp.status == SandboxPayment.Status.PENDING else sp.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


@vendor_endpoint(("GET",))
def merchant_transaction(request, transaction_id: str):
    if not _authorised(request):
        return _error("Invalid API key", 401)
    sp = SandboxPayment.objects.filter(provider="dexchange", token=transaction_id).first()
    if sp is None:
        return _error("No transaction found", 404)
    transaction = {
        "Merchant": settings.SHOP_NAME,
        "ItemName": str(sp.request_data.get("ItemName", "")),
        "Amount": sp.amount,
        "Number": sp.phone,
        "Status": STATUS[sp.status],
        "Initiated_at": sp.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Completed_at": _completed_at(sp),
        "SuccessUrl": sp.return_url,
    }
    return JsonResponse({"message": "Transaction fetched successfully", "transaction": transaction})


def callback_request(sp: SandboxPayment):
    if not sp.callback_url:
        return None
    body = {
        "id": sp.token,
        "externalTransactionId": sp.merchant_reference,
        "transactionType": "MERCHANT",
        "AMOUNT": sp.amount,
        "FEE": 0,
        "PHONE_NUMBER": sp.phone,
        "STATUS": STATUS[sp.status],
        "CUSTOM_DATA": str(sp.request_data.get("customData") or ""),
        "COMPLETED_AT": _completed_at(sp),
    }
    return sp.callback_url, json.dumps(body).encode(), {"Content-Type": "application/json"}


def browser_target(sp: SandboxPayment) -> str:
    return sp.return_url if sp.status == SandboxPayment.Status.SUCCEEDED else sp.cancel_url


urlpatterns = [
    path("api/v1/transaction/merchant/get-link", get_link),
    path("api/v1/transaction/merchant/<str:transaction_id>", merchant_transaction),
]
