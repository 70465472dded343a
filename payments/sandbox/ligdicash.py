"""Ligdicash emulator: the endpoints and payloads of ``providers/ligdicash.md``.

* ``POST pay/v01/redirect/checkout-invoice/create`` → ``response_code`` "00",
  ``token``, ``response_text`` = the hosted page.
* ``POST pay/v01/straight/checkout-invoice/create`` → with ``otp`` (Orange):
  the OTP is checked (the sandbox accepts ``SANDBOX_OTP``) and the payment
  completes at once; without (Moov): the payment waits for the shopper's
  approval on the sandbox "phone" page.
* ``GET pay/v01/redirect/checkout-invoice/confirm/?invoiceToken=`` → the
  documented status object.
* callback: the documented POST body, with a 40-hex ``hash``.
"""

import hashlib
import json

from django.http import JsonResponse
from django.urls import path

from .api import json_body, vendor_endpoint
from .core import SANDBOX_OTP, credentials, new_token, page_url
from .models import SandboxPayment

NAME = "Ligdicash"
STATUS = {"pending": "pending", "succeeded": "completed", "failed": "nocompleted", "expired": "nocompleted"}


def _authorised(request) -> bool:
    conf = credentials("ligdicash")
    return request.headers.get("Apikey") == conf.get("api_key") and request.headers.get("Authorization") == f"Bearer {conf.get('api_token')}"


def _refused(code: str, status: int = 200) -> JsonResponse:
    return JsonResponse(
        {"response_code": "01", "token": "", "response_text": code, "description": "", "wiki": "https://client.ligdicash.com/wiki/createInvoice"}, status=status
    )


def _create(request, direct: bool):
    if not _authorised(request):
        return _refused("AUTH_FAILED", status=401)
    data = json_body(request) or {}
    commande = data.get("commande") if isinstance(data.get("commande"), dict) else None
    invoice = (commande or {}).get("invoice")
    if not isinstance(invoice, dict):
        return _refused("INVALID_PAYLOAD")
    amount = invoice.get("total_amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return _refused("INVALID_AMOUNT")
    currency = invoice.get("devise") or invoice.get("devises") or invoice.get("devis")
    actions = commande.get("actions") or {}
    custom = commande.get("custom_data") or {}
    otp = str(invoice.get("otp") or "")
    if direct and not invoice.get("customer"):
        return _refused("CUSTOMER_REQUIRED")
    if direct and otp and otp != SANDBOX_OTP:
        return _refused("OTP_INVALID")
    sp = SandboxPayment.objects.create(
        provider="ligdicash",
        token="eyJ0eXAiOiJKV1Qi." + new_token(nbytes=24),
        merchant_reference=str(custom.get("transaction_id", "")),
        amount=amount,
        currency=str(currency or ""),
        method=("orange_otp" if otp else "approval") if direct else "hosted",
        phone=str(invoice.get("customer") or ""),
        callback_url=str(actions.get("callback_url") or ""),
        return_url=str(actions.get("return_url") or ""),
        cancel_url=str(actions.get("cancel_url") or ""),
        request_data=data,
    )
    if direct and otp:
        from .core import settle

        settle(sp, SandboxPayment.Status.SUCCEEDED)
    return JsonResponse(
        {
            "response_code": "00",
            "token": sp.token,
            "response_text": "" if direct else page_url(sp),
            "description": "",
            "custom_data": custom,
            "wiki": "https://client.ligdicash.com/wiki/createInvoice",
        }
    )


@vendor_endpoint(("POST",))
def create_redirect(request):
    return _create(request, direct=False)


@vendor_endpoint(("POST",))
def create_straight(request):
    return _create(request, direct=True)


def _status_body(sp: SandboxPayment) -> dict:
    custom = (sp.request_data.get("commande") or {}).get("custom_data") or {}
    return {
        "date": sp.updated_at.strftime("%Y-%m-%d %H:%M:%S+00"),
        "response_code": "00",
        "token": sp.token,
        "description": "",
        "amount": str(sp.amount),
        "response_text": None,
        "status": STATUS[sp.status],
        "custom_data": [{"id_invoice": sp.pk, "keyof_customdata": k, "valueof_customdata": v} for k, v in custom.items()],
        "operator_name": "ORANGE BURKINA" if "orange" in sp.method else "MOOV AFRICA BURKINA",
        "operator_id": "11",
        "customer": "",
        "transaction_id": str(custom.get("transaction_id", "")),
        "external_id": None,
    }


@vendor_endpoint(("GET",))
def confirm(request):
    if not _authorised(request):
        return _refused("AUTH_FAILED", status=401)
    sp = SandboxPayment.objects.filter(provider="ligdicash", token=request.GET.get("invoiceToken", "")).first()
    if sp is None:
        return _refused("INVOICE_NOT_FOUND")
    return JsonResponse(_status_body(sp))


def callback_request(sp: SandboxPayment):
    if not sp.callback_url:
        return None
    body = _status_body(sp)
    body.pop("description")
    body.pop("customer")
    body["montant"] = body.pop("amount")
    body.update(method="post", url=sp.callback_url)
    body["hash"] = hashlib.sha1(f"{sp.token}{sp.status}".encode()).hexdigest()
    return sp.callback_url, json.dumps(body).encode(), {"Content-Type": "application/json"}


def browser_target(sp: SandboxPayment) -> str:
    if sp.method != "hosted":
        return ""
    return sp.return_url if sp.status == SandboxPayment.Status.SUCCEEDED else sp.cancel_url


urlpatterns = [
    path("pay/v01/redirect/checkout-invoice/create", create_redirect),
    path("pay/v01/straight/checkout-invoice/create", create_straight),
    path("pay/v01/redirect/checkout-invoice/confirm/", confirm),
]
