"""LengoPay emulator: the endpoints and payloads of ``providers/lengopay.txt``.

* ``POST api/v2/cashin/request`` → ``{"status": "Success", "pay_id", "message"}``
  after checking ``Authorization: Basic <license key>`` (401 otherwise) and
  the documented fields (400 when one is missing or invalid). The payment
  then waits for the shopper's approval on the sandbox "phone" page.
* status — not in the vendor text (see ``payments/providers/lengopay.py``):
  the sandbox answers ``POST api/v2/cashin/transaction`` (the path of the
  copied vendor doc and the sandbox default of ``LENGOPAY_STATUS_PATH``) and
  the alias ``POST api/v2/cashin/status`` with ``{pay_id, websiteid}`` →
  ``{status, pay_id, amount, account, date}`` as that doc shows, plus the
  ``currency`` and ``message`` the public demo reads.
* callback: the documented body ``{pay_id, status, amount, message, account}``,
  unsigned, once the payment is final.

The emulator does not care about the shop currency: the checkout only offers
LengoPay when the shop sells in GNF.
"""

import json

from django.http import JsonResponse
from django.urls import path

from .api import json_body, vendor_endpoint
from .core import credentials, new_token
from .models import SandboxPayment

NAME = "LengoPay"
TYPE_ACCOUNTS = {"lp-om-gn", "lp-momo-gn"}
STATUS = {"pending": "PENDING", "succeeded": "SUCCESS", "failed": "FAILED", "expired": "FAILED"}
MESSAGE = {"SUCCESS": "Transaction Successful", "FAILED": "Transaction Failed", "PENDING": "Transaction Pending"}


def _authorised(request) -> bool:
    return request.headers.get("Authorization") == f"Basic {credentials('lengopay').get('license_key')}"


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"status": "ERROR", "message": message}, status=status)


def _invalid(data: dict) -> str:
    """The first problem with a cash-in request, or ""."""
    amount = data.get("amount")
    if not isinstance(amount, str) or not amount.isdigit() or int(amount) <= 0:
        return "amount must be a numeric string"
    if not data.get("currency"):
        return "currency is required"
    if data.get("websiteid") != credentials("lengopay").get("website_id"):
        return "unknown websiteid"
    if data.get("type_account") not in TYPE_ACCOUNTS:
        return "invalid type_account"
    account = data.get("account")
    if not isinstance(account, str) or not account.isdigit():
        return "account is required"
    callback_url = data.get("callback_url")
    if callback_url is not None and not isinstance(callback_url, str):
        return "invalid callback_url"
    return ""


@vendor_endpoint(("POST",))
def cashin_request(request):
    if not _authorised(request):
        return _error("Unauthorized", 401)
    data = json_body(request)
    if data is None:
        return _error("Bad Request", 400)
    problem = _invalid(data)
    if problem:
        return _error(problem, 400)
    sp = SandboxPayment.objects.create(
        provider="lengopay",
        token=new_token(nbytes=30),  # base64-like, no padding: the shop's provider_reference
        merchant_reference="",
        amount=int(data["amount"]),
        currency=str(data["currency"])[:3],
        method=data["type_account"],
        phone=data["account"],
        callback_url=data.get("callback_url") or "",
        request_data=data,
    )
    return JsonResponse({"status": "Success", "pay_id": sp.token, "message": "Request received successfully"})


def _status_body(sp: SandboxPayment) -> dict:
    status = STATUS[sp.status]
    return {
        "status": status,
        "pay_id": sp.token,
        "amount": sp.amount,
        "currency": sp.currency,
        "account": sp.phone,
        "date": sp.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        "message": MESSAGE[status],
    }


@vendor_endpoint(("POST",))
def cashin_status(request):
    if not _authorised(request):
        return _error("Unauthorized", 401)
    data = json_body(request) or {}
    pay_id = data.get("pay_id")
    if not isinstance(pay_id, str) or not pay_id or data.get("websiteid") != credentials("lengopay").get("website_id"):
        return _error("pay_id and websiteid are required", 400)
    sp = SandboxPayment.objects.filter(provider="lengopay", token=pay_id.rstrip("=")).first()
    if sp is None:
        return _error("Not Found", 404)
    return JsonResponse(_status_body(sp))


def callback_request(sp: SandboxPayment):
    if not sp.callback_url or sp.status == SandboxPayment.Status.PENDING:
        return None
    status = STATUS[sp.status]
    body = {"pay_id": sp.token, "status": status, "amount": sp.amount, "message": MESSAGE[status], "account": sp.phone}
    return sp.callback_url, json.dumps(body).encode(), {"Content-Type": "application/json"}


def browser_target(sp: SandboxPayment) -> str:
    return ""  # push flow: the shopper stays on the sandbox "phone" page


urlpatterns = [
    path("api/v2/cashin/request", cashin_request),
    path("api/v2/cashin/status", cashin_status),
    path("api/v2/cashin/transaction", cashin_status),
]
