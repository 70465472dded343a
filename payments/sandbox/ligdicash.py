"""Ligdicash emulator: the endpoints and payloads of the vendor text, as
corrected by developers.ligdicash.com (see ``payments.providers.ligdicash``).

* ``POST pay/v01/redirect/checkout-invoice/create`` → ``response_code`` "00",
  ``token``, ``response_text`` = the hosted page.
* ``POST pay/v01/straight/checkout-invoice/create`` → with ``otp`` (Orange):
  the OTP is checked (the sandbox accepts ``SANDBOX_OTP``) and the payment
  completes at once; without (Moov): the payment waits for the shopper's
  approval on the sandbox "phone" page.
* ``GET pay/v01/redirect/checkout-invoice/confirm/?invoiceToken=`` → the
  documented status object; ``status`` is ``completed`` / ``pending`` /
  ``notcompleted`` (the current spelling), and a failed payment answers
  ``response_code`` "01" with an ``Echec (CodeXX)`` text, as the errors
  overview page says confirm does ("Level 2 — Transaction failure").
* callback: each event twice, first form-encoded (``custom_data`` as a JSON
  string, nulls left out as PHP's ``http_build_query`` does), then JSON;
  the ``token`` is empty (payin callbacks), ``custom_data`` ends with
  Ligdicash's own ``hash`` and ``logfile`` entries, and the old top-level
  ``hash`` is kept (vendor text sample). Nothing of it is verifiable: the
  shop must ask confirm.
"""

import hashlib
import json

from django.http import JsonResponse
from django.urls import path

from payments.providers.ligdicash import form_encode

from .api import json_body, vendor_endpoint
from .core import SANDBOX_OTP, credentials, new_token, page_url
from .models import SandboxPayment

NAME = "Ligdicash"
# Ligdicash never expires an invoice; an "expired" sandbox payment reads as a cancelled one.
STATUS = {
    "pending": "pending",
    "succeeded": "completed",
    "failed": "notcompleted",
    "expired": "notcompleted",
}
# The sub-code a refused payment carries on confirm; the confirm sub-code table is not
# published, this one is the sandbox's choice.
FAILED_TEXT = "Echec (Code05)"
WIKI = "https://client.ligdicash.com/wiki/createInvoice"
FORM = "application/x-www-form-urlencoded"


def _authorised(request) -> bool:
    conf = credentials("ligdicash")
    return (
        request.headers.get("Apikey") == conf.get("api_key")
        and request.headers.get("Authorization") == f"Bearer {conf.get('api_token')}"
    )


def _refused(code: str, status: int = 200) -> JsonResponse:
    return JsonResponse(
        {
            "response_code": "01",
            "token": "",
            "response_text": code,
            "description": "",
            "wiki": WIKI,
        },
        status=status,
    )


def _create(request, direct: bool):
    if not _authorised(request):
        return _refused("Echec (Code00)", status=401)
    data = json_body(request) or {}
    commande = data.get("commande") if isinstance(data.get("commande"), dict) else None
    invoice = (commande or {}).get("invoice")
    if not isinstance(invoice, dict):
        return _refused("Echec (Code08)")
    amount = invoice.get("total_amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 9 <= amount <= 2_000_000:
        return _refused("Echec (Code02)")
    if invoice.get("devise") != "XOF":
        return _refused("Echec (Code08)")
    actions = commande.get("actions") or {}
    custom = commande.get("custom_data") or {}
    otp = str(invoice.get("otp") or "")
    if direct and not invoice.get("customer"):
        return _refused("Echec (Code08)")
    if direct and otp and otp != SANDBOX_OTP:
        return _refused("Echec (Code15)")
    sp = SandboxPayment.objects.create(
        provider="ligdicash",
        token="eyJ0eXAiOiJKV1Qi." + new_token(nbytes=24),
        merchant_reference=str(custom.get("transaction_id", "")),
        amount=amount,
        currency="XOF",
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
            "wiki": WIKI,
        }
    )


@vendor_endpoint(("POST",))
def create_redirect(request):
    return _create(request, direct=False)


@vendor_endpoint(("POST",))
def create_straight(request):
    return _create(request, direct=True)


def _custom_entries(sp: SandboxPayment) -> list[dict]:
    custom = (sp.request_data.get("commande") or {}).get("custom_data") or {}
    return [
        {"id_invoice": sp.pk, "keyof_customdata": k, "valueof_customdata": v}
        for k, v in custom.items()
    ]


def _status_body(sp: SandboxPayment) -> dict:
    """The confirm answer, keys in the vendor text's order ("Vérification de statut")."""
    failed = STATUS[sp.status] == "notcompleted"
    custom = (sp.request_data.get("commande") or {}).get("custom_data") or {}
    return {
        "date": sp.updated_at.strftime("%Y-%m-%d %H:%M:%S+00"),
        "response_code": "01" if failed else "00",
        "token": sp.token,
        "description": "",
        "amount": str(sp.amount),
        "response_text": FAILED_TEXT if failed else None,
        "status": STATUS[sp.status],
        "custom_data": _custom_entries(sp),
        "operator_name": "ORANGE BURKINA" if "orange" in sp.method else "MOOV AFRICA BURKINA",
        "operator_id": "11",
        "customer": "",
        "transaction_id": str(custom.get("transaction_id", "")),
        "external_id": None,
    }


@vendor_endpoint(("GET",))
def confirm(request):
    if not _authorised(request):
        return _refused("Echec (Code00)", status=401)
    sp = SandboxPayment.objects.filter(
        provider="ligdicash", token=request.GET.get("invoiceToken", "")
    ).first()
    if sp is None:
        return _refused("Echec (Code08)")
    return JsonResponse(_status_body(sp))


def callback_body(sp: SandboxPayment) -> dict:
    """The callback object, keys in the vendor text's order ("Callback ou webhook")."""
    status = _status_body(sp)
    logfile = sp.updated_at.strftime("%Y%m%d%H%M%S") + f"{sp.pk:013d}"
    seal = hashlib.sha256(f"{sp.token}{sp.status}".encode()).hexdigest()
    custom = status["custom_data"] + [
        {"id_invoice": sp.pk, "keyof_customdata": "hash", "valueof_customdata": seal},
        {"id_invoice": sp.pk, "keyof_customdata": "logfile", "valueof_customdata": logfile},
    ]
    return {
        "date": status["date"],
        "method": "post",
        # The errors overview tells a failure in the callback by its status
        # alone ("status in the callback | notcompleted"); the "01" is confirm's.
        "response_code": "00",
        "response_text": None,
        "token": "",  # empty for payins (callback/security page)
        "montant": status["amount"],
        "status": status["status"],
        "custom_data": custom,
        "operator_name": status["operator_name"],
        "operator_id": status["operator_id"],
        "transaction_id": status["transaction_id"],
        "external_id": None,
        "url": sp.callback_url,
        "hash": hashlib.sha1(f"{sp.token}{sp.status}".encode()).hexdigest(),
    }


def callback_request(sp: SandboxPayment):
    """Both deliveries of the event, form first then JSON (callback/idempotency page)."""
    if not sp.callback_url or sp.status == SandboxPayment.Status.PENDING:
        return None
    body = callback_body(sp)
    return [
        (sp.callback_url, form_encode(body), {"Content-Type": FORM}),
        (sp.callback_url, json.dumps(body).encode(), {"Content-Type": "application/json"}),
    ]


def browser_target(sp: SandboxPayment) -> str:
    if sp.method != "hosted":
        return ""
    return sp.return_url if sp.status == SandboxPayment.Status.SUCCEEDED else sp.cancel_url


# --- refunds: client payout (vendor text "Payout client - Payload" / "Payout - Réponse") ---
# The sandbox decides by the payout's description (the refund reason): "[refuser]" →
# notcompleted, "[attente]" → stays pending; anything else completes at the first
# confirm at least PAYOUT_SETTLE_SECONDS after the create, so staff see it pending first.
PAYOUT_SETTLE_SECONDS = 2


@vendor_endpoint(("POST",))
def payout_create(request):
    if not _authorised(request):
        return _refused("Echec (Code00)", status=401)
    commande = (json_body(request) or {}).get("commande")
    if not isinstance(commande, dict):
        return _refused("Echec (Code08)")
    amount = commande.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 500 <= amount <= 2_000_000:
        return _refused("Echec (Code02)")
    if not str(commande.get("customer") or "").isdigit():
        return _refused("Echec (Code08)")
    custom = commande.get("custom_data") if isinstance(commande.get("custom_data"), dict) else {}
    sp = SandboxPayment.objects.create(
        provider="ligdicash",
        token="eyJwYXlvdXQi." + new_token(nbytes=24),
        merchant_reference=str(custom.get("refund_id", "")),
        amount=amount,
        currency="XOF",
        method="payout",
        phone=str(commande["customer"]),
        request_data={"commande": commande},
    )
    return JsonResponse(
        {
            "response_code": "00",
            "token": sp.token,
            "response_text": "",
            "description": "",
            "custom_data": custom,
            "wiki": WIKI,
        }
    )


@vendor_endpoint(("GET",))
def payout_confirm(request):
    from django.utils import timezone

    if not _authorised(request):
        return _refused("Echec (Code00)", status=401)
    sp = SandboxPayment.objects.filter(
        provider="ligdicash", method="payout", token=request.GET.get("withdrawalToken", "")
    ).first()
    if sp is None:
        return _refused("Echec (Code08)")
    description = str(sp.request_data.get("commande", {}).get("description", "")).lower()
    if sp.status == SandboxPayment.Status.PENDING and "[attente]" not in description:
        if "[refuser]" in description:
            SandboxPayment.objects.filter(pk=sp.pk).update(status=SandboxPayment.Status.FAILED)
        elif (timezone.now() - sp.created_at).total_seconds() >= PAYOUT_SETTLE_SECONDS:
            SandboxPayment.objects.filter(pk=sp.pk).update(status=SandboxPayment.Status.SUCCEEDED)
        sp.refresh_from_db()
    failed = sp.status == SandboxPayment.Status.FAILED
    return JsonResponse(
        {
            "date": sp.updated_at.strftime("%Y-%m-%d %H:%M:%S+00"),
            "response_code": "01" if failed else "00",
            "token": sp.token,
            "description": sp.request_data.get("commande", {}).get("description", ""),
            "amount": str(sp.amount),
            "response_text": FAILED_TEXT if failed else None,
            "status": STATUS[sp.status],
            "custom_data": [],
        }
    )


urlpatterns = [
    path("pay/v01/withdrawal/create", payout_create),
    path("pay/v01/withdrawal/confirm/", payout_confirm),
    path("pay/v01/redirect/checkout-invoice/create", create_redirect),
    path("pay/v01/straight/checkout-invoice/create", create_straight),
    path("pay/v01/redirect/checkout-invoice/confirm/", confirm),
]
