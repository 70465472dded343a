"""LengoPay emulator: the dialect ``payments/providers/lengopay.py`` documents.

* ``POST api/v2/cashin/request`` → ``{"status": "Success", "pay_id",
  "message"}`` (vendor text "Réponse réussie") after checking
  ``Authorization: Basic <license key>`` (401 otherwise) and the documented
  fields (400 when one is missing or invalid). The ``pay_id`` is made like
  the vendor's: base64 of a random 32-character string, its "=" padding
  dropped. The payment then waits for the shopper's approval on the sandbox
  "phone" page.
* ``POST api/v2/cashin/transaction`` ``{pay_id, websiteid}`` →
  ``{status, pay_id, amount, account, date}`` as LengoPay's status doc shows
  it (Morymirco/admin.zalama ``app/doc2.md``): ``pay_id`` padded, ``account``
  a number. ``POST api/v1/transaction/status`` → ``{status, pay_id, date,
  amount}`` (the v1 family, bouba93/kharandi-backend). Both find a payment
  only by its pay_id written as the status doc's request writes it, with
  its "=" padding (``status_request_v2.json`` in the vendor samples), and
  answer 404 "Not Found" otherwise — the unpadded form of the cash-in answer
  included. Which form LengoPay's server wants is unconfirmed (see the
  provider module): the sandbox takes the documented one, so the shop's
  retry with the other padding, and its memory of the form that works, run
  whenever the sandbox does.
* callback: the documented body ``{pay_id, status, amount, message,
  account}`` (vendor text "URL de rappel"), unsigned, once the payment is
  final, with the pay_id as the cash-in answer gave it.

The emulator does not care about the shop currency: the checkout only offers
LengoPay when the shop sells in GNF.
"""

import base64
import json
import secrets
import string

from django.http import JsonResponse
from django.urls import path

from .api import json_body, vendor_endpoint
from .core import credentials
from .models import SandboxPayment

NAME = "LengoPay"
TYPE_ACCOUNTS = {"lp-om-gn", "lp-momo-gn"}
STATUS = {"pending": "PENDING", "succeeded": "SUCCESS", "failed": "FAILED", "expired": "FAILED"}
MESSAGE = {
    "SUCCESS": "Transaction Successful",
    "FAILED": "Transaction Failed",
    "PENDING": "Transaction Pending",
}
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # "2023-11-20 09:37:53" (app/doc2.md)


def new_pay_id() -> str:
    """A pay_id shaped like the vendor's ("elNZc1FUZzduVzhQ…UG8": base64 of
    32 letters and digits, without padding). Ids holding "+" or "/" are
    drawn again so the sandbox page URL stays plain."""
    alphabet = string.ascii_letters + string.digits
    while True:
        raw = "".join(secrets.choice(alphabet) for _ in range(32))
        pay_id = base64.b64encode(raw.encode()).decode().rstrip("=")
        if "+" not in pay_id and "/" not in pay_id:
            return pay_id


def padded(pay_id: str) -> str:
    return pay_id + "=" * (-len(pay_id) % 4)


def _authorised(request) -> bool:
    return (
        request.headers.get("Authorization")
        == f"Basic {credentials('lengopay').get('license_key')}"
    )


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
        token=new_pay_id(),
        merchant_reference="",
        amount=int(data["amount"]),
        currency=str(data["currency"])[:3],
        method=data["type_account"],
        phone=data["account"],
        callback_url=data.get("callback_url") or "",
        request_data=data,
    )
    return JsonResponse(
        {"status": "Success", "pay_id": sp.token, "message": "Request received successfully"}
    )


def status_v2(sp: SandboxPayment) -> dict:
    """The v2 status answer, keys and value types as app/doc2.md prints them."""
    return {
        "status": STATUS[sp.status],
        "pay_id": padded(sp.token),
        "amount": sp.amount,
        "account": int(sp.phone) if sp.phone.isdigit() else sp.phone,
        "date": sp.updated_at.strftime(DATE_FORMAT),
    }


def status_v1(sp: SandboxPayment) -> dict:
    """The v1 status answer ``{status, pay_id, date, amount}``."""
    return {
        "status": STATUS[sp.status],
        "pay_id": padded(sp.token),
        "date": sp.updated_at.strftime(DATE_FORMAT),
        "amount": sp.amount,
    }


def _status_endpoint(shape):
    @vendor_endpoint(("POST",))
    def answer(request):
        if not _authorised(request):
            return _error("Unauthorized", 401)
        data = json_body(request) or {}
        pay_id = data.get("pay_id")
        if (
            not isinstance(pay_id, str)
            or not pay_id
            or data.get("websiteid") != credentials("lengopay").get("website_id")
        ):
            return _error("pay_id and websiteid are required", 400)
        token = pay_id.rstrip("=")
        sp = None
        if pay_id == padded(token):  # as the status doc writes it (see above)
            sp = SandboxPayment.objects.filter(provider="lengopay", token=token).first()
        if sp is None:
            return _error("Not Found", 404)
        return JsonResponse(shape(sp))

    return answer


cashin_transaction = _status_endpoint(status_v2)
transaction_status = _status_endpoint(status_v1)


def callback_body(sp: SandboxPayment) -> dict:
    status = STATUS[sp.status]
    return {
        "pay_id": sp.token,
        "status": status,
        "amount": sp.amount,
        "message": MESSAGE[status],
        "account": sp.phone,
    }


def callback_request(sp: SandboxPayment):
    if not sp.callback_url or sp.status == SandboxPayment.Status.PENDING:
        return None
    return (
        sp.callback_url,
        json.dumps(callback_body(sp)).encode(),
        {"Content-Type": "application/json"},
    )


def browser_target(sp: SandboxPayment) -> str:
    return ""  # push flow: the shopper stays on the sandbox "phone" page


urlpatterns = [
    path("api/v2/cashin/request", cashin_request),
    path("api/v2/cashin/transaction", cashin_transaction),
    path("api/v1/transaction/status", transaction_status),
]
