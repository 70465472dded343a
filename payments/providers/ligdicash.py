"""Ligdicash (Burkina Faso, XOF) — ``shared/providers/ligdicash.md`` + NOTES.md.

Vendor words: a payment is a *checkout-invoice*; its ``token`` is the only key
for the status call; ``response_code`` "00" means "request accepted", not
"paid"; the payment status is ``pending`` / ``completed`` / ``nocompleted``.

Flows:

* hosted page — ``POST /pay/v01/redirect/checkout-invoice/create``; the answer's
  ``response_text`` is the page to send the shopper to.
* direct payin (``/pay/v01/straight/checkout-invoice/create``):
  Orange Burkina is OTP-driven (the shopper dials ``*144*4*6*amount#``, gets an
  OTP and types it on our page; we send it as ``otp``), Moov Africa is
  approval-driven (we send the number, the shopper approves on the phone).
* status — ``GET /pay/v01/redirect/checkout-invoice/confirm/?invoiceToken=…``.
* callback — a POST with the same fields as the status answer plus ``hash``.

Where the vendor text disagrees with itself: it spells the currency key
``devises``, ``devise`` and ``devis``; we send ``devise``, the key the
vendor's own Python SDK (Ligdicash/ligdicash-python) sends. The callback
``hash`` algorithm is not documented (the sample is 40 hex digits, a community
integration computes SHA-256), so it is never trusted: a callback is only a
hint that triggers a status call, and the status API decides (NOTES.md).

Status mapping (``status`` of the confirm answer):

=============  ============  =============================================
Ligdicash      ours          note
=============  ============  =============================================
completed      succeeded     only with ``response_code`` "00"
nocompleted    failed
pending        pending
anything else  unknown       also: no JSON object, ``response_code`` ≠ 00
=============  ============  =============================================
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .base import (
    CallbackInfo,
    CallbackRejected,
    Flow,
    Initiation,
    Method,
    Outcome,
    PaymentRequest,
    PaymentView,
    Provider,
    ProviderError,
    StatusResult,
    parse_amount,
)

CREATE_REDIRECT = "/pay/v01/redirect/checkout-invoice/create"
CREATE_STRAIGHT = "/pay/v01/straight/checkout-invoice/create"
CONFIRM = "/pay/v01/redirect/checkout-invoice/confirm/"
REFERENCE_KEY = "transaction_id"  # our reference travels in custom_data

STATUS_MAP = {
    "completed": Outcome.SUCCEEDED,
    "nocompleted": Outcome.FAILED,
    "pending": Outcome.PENDING,
}


class LigdicashProvider(Provider):
    code = "ligdicash"
    name = "Ligdicash"
    currencies = ("XOF",)
    countries = ("BF",)
    required_settings = ("api_key", "api_token")
    methods = (
        Method("hosted", _("Page de paiement Ligdicash (Orange, Moov, carte…)"), Flow.REDIRECT),
        Method("orange_bf", _("Orange Money Burkina (code OTP)"), Flow.OTP, needs_phone=True, ussd="*144*4*6*{amount}#", countries=("BF",)),
        Method("moov_bf", _("Moov Money Burkina (validation sur le téléphone)"), Flow.PUSH, needs_phone=True, countries=("BF",)),
    )

    def auth_headers(self) -> dict[str, str]:
        return {"Apikey": self.config["api_key"], "Authorization": f"Bearer {self.config['api_token']}"}

    # --- initiation ------------------------------------------------------------
    def initiate(self, request: PaymentRequest) -> Initiation:
        method = self.method(request.method) or self.methods[0]
        direct = method.flow != Flow.REDIRECT
        payload = {"commande": self._commande(request, method)}
        response = self.request("POST", CREATE_STRAIGHT if direct else CREATE_REDIRECT, json_body=payload)
        data = self.json_object(response)
        if response.status_code >= 400 or data is None:
            raise ProviderError(f"ligdicash: create answered HTTP {response.status_code}", kind="rejected", status_code=response.status_code)
        token = str(data.get("token") or "")
        if str(data.get("response_code")) != "00" or not token:
            # response_text carries the vendor's error code (doc: "Payin - Réponse", note 2).
            code = str(data.get("response_text") or data.get("description") or "")[:120]
            raise ProviderError(
                f"ligdicash: refused ({code})",
                kind="rejected",
                user_message=_("Ligdicash a refusé le paiement (%(code)s). Vérifiez le numéro ou le code OTP.") % {"code": code or "01"},
            )
        if direct:
            instructions = {"flow": method.flow.value, "method": method.code}
            return Initiation(provider_reference=token, instructions=instructions, raw=data)
        link = str(data.get("response_text") or "")
        if not link.startswith(("https://", "http://")):
            raise ProviderError("ligdicash: no payment link in the answer", kind="malformed")
        return Initiation(provider_reference=token, redirect_url=link, raw=data)

    def _commande(self, request: PaymentRequest, method: Method) -> dict:
        first, _sep, last = request.customer_name.partition(" ")
        direct = method.flow != Flow.REDIRECT
        payer = (request.payer_phone or request.customer_phone).lstrip("+")
        return {
            "invoice": {
                "items": list(request.items),
                "total_amount": request.amount,
                "devise": request.currency,
                "description": request.description,
                "customer": payer if direct else "",
                "customer_firstname": first,
                "customer_lastname": last or first,
                "customer_email": request.customer_email,
                "external_id": "",
                "otp": request.otp if method.flow == Flow.OTP else "",
            },
            "store": {"name": settings.SHOP_NAME, "website_url": settings.SITE_URL},
            "actions": {
                "cancel_url": "" if direct else request.cancel_url,
                "return_url": "" if direct else request.return_url,
                "callback_url": request.callback_url,
            },
            "custom_data": {"order_id": request.description[:60], REFERENCE_KEY: request.reference},
        }

    # --- status ------------------------------------------------------------------
    def fetch_status(self, payment: PaymentView) -> StatusResult:
        if not payment.provider_reference:
            return StatusResult(Outcome.UNKNOWN, message="no invoice token yet")
        response = self.request("GET", CONFIRM, params={"invoiceToken": payment.provider_reference})
        data = self.json_object(response)
        if data is None:
            return StatusResult(Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no JSON object")
        return self.read_status(data)

    @staticmethod
    def read_status(data: dict) -> StatusResult:
        status = str(data.get("status") or "").lower()
        outcome = STATUS_MAP.get(status, Outcome.UNKNOWN)
        if outcome == Outcome.SUCCEEDED and str(data.get("response_code")) != "00":
            outcome = Outcome.UNKNOWN
        amount = parse_amount(data.get("amount", data.get("montant")))
        # The confirm answer carries no currency: the invoice was created in
        # XOF, the only currency Ligdicash takes ("DEVISE: LAISSEZ EN XOF").
        return StatusResult(
            outcome,
            amount=amount,
            currency="XOF" if outcome == Outcome.SUCCEEDED else None,
            provider_reference=str(data.get("token") or ""),
            message=f"status={status or '?'} response_code={data.get('response_code')}",
            raw=data,
        )

    # --- callback ------------------------------------------------------------------
    def parse_callback(self, body: bytes, headers: dict[str, str]) -> CallbackInfo:
        data = self.load_json_object(body)
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise CallbackRejected("missing token")
        status = data.get("status")
        if status is not None and not isinstance(status, str):
            raise CallbackRejected("status is not a string")
        if "montant" in data and data["montant"] is not None and parse_amount(data["montant"]) is None:
            raise CallbackRejected("montant is not a whole amount")
        return CallbackInfo(
            reference=_custom_value(data.get("custom_data"), REFERENCE_KEY) or str(data.get("transaction_id") or ""),
            provider_reference=token,
            event_id=f"{token}:{status}:{data.get('date', '')}",
            authentic=None,  # hash algorithm undocumented: never trusted (NOTES.md)
        )


def _custom_value(custom_data, key: str) -> str:
    """custom_data comes back as a list of {keyof_customdata, valueof_customdata}."""
    if isinstance(custom_data, dict):
        return str(custom_data.get(key) or "")
    if isinstance(custom_data, list):
        for entry in custom_data:
            if isinstance(entry, dict) and entry.get("keyof_customdata") == key:
                return str(entry.get("valueof_customdata") or "")
    return ""
