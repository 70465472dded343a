"""Ligdicash (Burkina Faso, XOF).

Sources: the vendor text "Documentation complémentaire pour l'API Ligdicash"
(sections named below) and the vendor's current public docs at
developers.ligdicash.com (pages named below), which correct it where they
disagree.

Vendor words: a payment is a *checkout-invoice*; the ``token`` of the create
answer is the only key for the status call; ``response_code`` "00" means
"request accepted", never "paid"; ``custom_data`` carries our reference
(``transaction_id``) there and back.

Flows:

* hosted page — ``POST /pay/v01/redirect/checkout-invoice/create``; the
  answer's ``response_text`` is the page to send the shopper to (vendor text,
  "Payin - Réponse", note 2). Its host is ``client.ligdicash.com`` in the
  vendor text and ``app.ligdicash.com`` in the quickstart
  (developers.ligdicash.com/en/getting-started/quickstart): ``REDIRECT_HOSTS``.
* direct payin (``/pay/v01/straight/checkout-invoice/create``, vendor text
  "Payin sans redirection"): Orange Burkina is OTP-driven (the shopper dials
  ``*144*4*6*amount#``, gets an OTP and types it on our page; we send it as
  ``otp``), Moov Africa is approval-driven (we send the number, the shopper
  approves on the phone).
* status — ``GET /pay/v01/redirect/checkout-invoice/confirm/?invoiceToken=``
  with the *creation* token (vendor text, "Vérification de statut"; the three
  official SDKs send ``invoiceToken``; the reference page
  developers.ligdicash.com/en/reference/endpoints/payin-redirect-confirm names
  it ``token``: a doc inconsistency, we follow the SDKs).
* callback — see ``parse_callback``.

Vendor facts this module relies on, and how sure we are:

* Currency key ``devise`` (H). The vendor text also spells it ``devises``
  and ``devis`` (typos); the official SDKs and the quickstart send ``devise``.
* Statuses ``completed`` / ``pending`` / ``notcompleted`` (H:
  developers.ligdicash.com/en/payment-api/status-verification/introduction).
  The vendor text writes ``nocompleted``: a typo, accepted as failed too.
* A failed payment may come back from confirm with ``response_code`` "01"
  and a sub-code in ``response_text`` (H: developers.ligdicash.com/en/errors/
  overview, "Level 2 — Transaction failure"). So ``status`` is read first;
  "01" without a status we know is *unknown* (ask again later), never failed.
* Ligdicash never expires a payment: one can stay ``pending`` for days
  (H: developers.ligdicash.com/en/concepts/transaction-lifecycle). Our
  deadline is local; a late ``completed`` is still reported as succeeded and
  the services flag it.
* Each callback event is POSTed twice, once form-encoded (``custom_data`` as
  a JSON string) and once as JSON, "exactly the same data" (H:
  developers.ligdicash.com/en/payment-api/callback/idempotency and
  …/callback/framework-examples).
* The callback ``token`` is not the creation token and is empty for payins
  (H: developers.ligdicash.com/en/payment-api/callback/security and
  …/concepts/transaction-id-pattern): callbacks are matched by our
  ``transaction_id`` in ``custom_data``, never by their token.
* Ligdicash appends its own ``hash`` and ``logfile`` entries to
  ``custom_data`` (H: developers.ligdicash.com/en/payment-api/callback/
  parse-custom-data). No hash recipe is published (H), so neither that hash
  nor the older top-level one (vendor text, "Callback ou webhook") is ever
  checked or trusted: a callback only triggers a status call.

Status mapping (``status`` of the confirm answer):

==============  ============  ============================================
Ligdicash       ours          note
==============  ============  ============================================
completed       succeeded     only with ``response_code`` "00"
notcompleted    failed        whatever ``response_code`` says
nocompleted     failed        the vendor text's spelling
pending         pending
anything else   unknown       also: no JSON object, no status ("01" alone)
==============  ============  ============================================
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .base import (
    FORM,
    JSON,
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
    RefundSupport,
    StatusResult,
    parse_amount,
)

CREATE_REDIRECT = "/pay/v01/redirect/checkout-invoice/create"
CREATE_STRAIGHT = "/pay/v01/straight/checkout-invoice/create"
CONFIRM = "/pay/v01/redirect/checkout-invoice/confirm/"
TOKEN_PARAM = "invoiceToken"  # official SDKs; the reference page says "token" (see above)
ACCEPTED = "00"  # response_code: request valid (not "paid")
REFERENCE_KEY = "transaction_id"  # our reference travels in custom_data
# Client payout, used for refunds (vendor text "Payout client - Payload"; status:
# developers.ligdicash.com and the three SDKs' ``withdrawal/confirm/?withdrawalToken=``).
PAYOUT_CREATE = "/pay/v01/withdrawal/create"
PAYOUT_CONFIRM = "/pay/v01/withdrawal/confirm/"
PAYOUT_TOKEN_PARAM = "withdrawalToken"
# "PRIX TOTAL … : MIN 500" (vendor text, "Payout client - Payload").
PAYOUT_MINIMUM = 500
# Hosts of the hosted payment page: vendor text "Payin - Réponse" and the quickstart.
REDIRECT_HOSTS = ("client.ligdicash.com", "app.ligdicash.com")

STATUS_MAP = {
    "completed": Outcome.SUCCEEDED,
    "notcompleted": Outcome.FAILED,
    "nocompleted": Outcome.FAILED,  # vendor text's spelling of the same status
    "pending": Outcome.PENDING,
}


class LigdicashProvider(Provider):
    code = "ligdicash"
    name = "Ligdicash"
    currencies = ("XOF",)
    countries = ("BF",)
    required_settings = ("api_key", "api_token")
    # Both encodings of the doubled callback (callback/configuration page).
    callback_content_types = (JSON, FORM)
    redirect_hosts = REDIRECT_HOSTS
    # "There is no expiration delay on the LigdiCash side. A transaction can
    # stay in pending for days" (developers.ligdicash.com, transaction
    # lifecycle): an attempt we ended is watched for a week.
    late_payment_window = 7 * 24 * 3600
    methods = (
        Method.hosted(
            _("Page de paiement Ligdicash (Orange, Moov, carte…)"),
            "Orange Money",
            "Moov Money",
            "Carte bancaire",
        ),
        Method.wallet(
            "orange_bf",
            _("Orange Money Burkina (code OTP)"),
            Flow.OTP,
            "BF",
            "Orange Money",
            ussd="*144*4*6*{amount}#",
        ),
        Method.wallet(
            "moov_bf",
            _("Moov Money Burkina (validation sur le téléphone)"),
            Flow.PUSH,
            "BF",
            "Moov Money",
        ),
    )

    def auth_headers(self) -> dict[str, str]:
        return {
            "Apikey": self.config["api_key"],
            "Authorization": f"Bearer {self.config['api_token']}",
        }

    # --- initiation ------------------------------------------------------------
    def initiate(self, request: PaymentRequest) -> Initiation:
        method = self.method(request.method) or self.methods[0]
        direct = method.flow != Flow.REDIRECT
        payload = {"commande": self._commande(request, method)}
        response = self.request(
            "POST", CREATE_STRAIGHT if direct else CREATE_REDIRECT, json_body=payload
        )
        data = self.json_object(response)
        if data is None and response.status_code < 400:
            # A 2xx we cannot read (an HTML page, a cut body): the vendor may
            # have taken the order — the OTP spent, the push on the phone. The
            # outcome is unknown, never a refusal (the status API settles it).
            raise ProviderError(
                f"ligdicash: create answered HTTP {response.status_code} without a JSON object",
                kind="malformed",
                status_code=response.status_code,
                unknown=True,
            )
        if response.status_code >= 400 or data is None:
            raise ProviderError(
                f"ligdicash: create answered HTTP {response.status_code}",
                kind="rejected",
                status_code=response.status_code,
            )
        token = str(data.get("token") or "")
        if str(data.get("response_code")) != ACCEPTED or not token:
            # response_text carries "Echec (CodeXX)" (vendor text, "Payin - Réponse", note 2).
            code = str(data.get("response_text") or data.get("description") or "")[:120]
            raise ProviderError(f"ligdicash: refused ({code})", kind="rejected")
        if direct:
            # response_text is a progress message here, not a link.
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
                # Hosted: must stay empty or the page hides the other operators (FAQ).
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
        response = self.request("GET", CONFIRM, params={TOKEN_PARAM: payment.provider_reference})
        data = self.json_object(response)
        if data is None:
            return StatusResult(
                Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no JSON object"
            )
        return self.read_status(data)

    @staticmethod
    def read_status(data: dict) -> StatusResult:
        """The confirm answer in our words: ``status`` first, then
        ``response_code`` (a failed payment may carry "01")."""
        raw_status = data.get("status")
        status = raw_status.strip().lower() if isinstance(raw_status, str) else ""
        code = str(data.get("response_code") or "")
        outcome = STATUS_MAP.get(status, Outcome.UNKNOWN)
        if outcome == Outcome.SUCCEEDED and code != ACCEPTED:
            outcome = Outcome.UNKNOWN  # "completed" with an error code: ask again, never pay on it
        amount = parse_amount(data.get("amount", data.get("montant")))
        # The confirm answer carries no currency: the invoice was created in
        # XOF, the only currency Ligdicash takes ("DEVISE: LAISSEZ EN XOF").
        return StatusResult(
            outcome,
            amount=amount,
            currency="XOF" if outcome == Outcome.SUCCEEDED else None,
            provider_reference=str(data.get("token") or ""),
            # "customer": the payer's Ligdicash account number (vendor text,
            # "Vérification de statut"); a refund's payout goes back to it.
            payer=str(data.get("customer") or "").strip()[:32],
            message=(
                f"status={status or '?'} response_code={code or '?'} "
                f"response_text={str(data.get('response_text') or '')[:60]}"
            ),
            raw=data,
        )

    # --- refunds (client payout) ---------------------------------------------------
    # Ligdicash has no refund of a payin: money goes back as a *client payout*
    # (``withdrawal/create``) from the merchant account to the payer's
    # Ligdicash wallet, forwarded to their mobile money with ``top_up_wallet``
    # 1 (vendor text, "Payout client - Payload", note 1). Minimum 500 XOF
    # (same section). The answer is the "Payout - Réponse" object: a
    # ``token`` to keep, ``response_code`` "00" = accepted (not paid). Its
    # status is ``withdrawal/confirm/?withdrawalToken=`` (M: the three SDKs'
    # ``transaction.py``; same status words as confirm). The payout API has
    # **no idempotency key**: a call whose answer is lost must not be sent
    # again (the services flag it for a human instead). No callback URL is
    # sent: a payout callback would look like a payin's; the services poll.
    refunds = RefundSupport(supported=True, minimum=PAYOUT_MINIMUM, idempotent=False)

    def refund(
        self, reference: str, payment: PaymentView, amount: int, payee: str, reason: str
    ) -> StatusResult:
        """Ask for a client payout of ``amount`` to ``payee`` (E.164 or digits)."""
        payload = {
            "commande": {
                "amount": amount,
                "devise": "XOF",
                "description": reason[:200],
                "customer": payee.lstrip("+"),
                "top_up_wallet": 1,
                "callback_url": "",
                "custom_data": {"refund_id": reference, REFERENCE_KEY: payment.reference},
            }
        }
        response = self.request("POST", PAYOUT_CREATE, json_body=payload)
        data = self.json_object(response)
        if data is None:
            return StatusResult(
                Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no JSON object"
            )
        token = str(data.get("token") or "")
        if response.status_code >= 400 or str(data.get("response_code")) != ACCEPTED or not token:
            code = str(
                data.get("response_text") or data.get("description") or response.status_code
            )[:120]
            return StatusResult(Outcome.FAILED, message=f"payout refused ({code})", raw=data)
        return StatusResult(
            Outcome.PENDING,
            amount=amount,
            currency="XOF",
            provider_reference=token,
            message="payout accepted",
            raw=data,
        )

    def refund_status(
        self, reference: str, provider_reference: str, payment: PaymentView
    ) -> StatusResult:
        """The payout's status, read like a payin's confirm answer."""
        if not provider_reference:
            return StatusResult(Outcome.UNKNOWN, message="no payout token")
        response = self.request(
            "GET", PAYOUT_CONFIRM, params={PAYOUT_TOKEN_PARAM: provider_reference}
        )
        data = self.json_object(response)
        if data is None:
            return StatusResult(
                Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no JSON object"
            )
        return self.read_status(data)

    # --- callback ------------------------------------------------------------------
    def parse_callback(self, body: bytes, headers: dict[str, str]) -> CallbackInfo:
        """Our reference from a callback, JSON or form-encoded.

        Both deliveries of one event (and any replay of it) give the same
        ``event_id``: our reference and the status, nothing that could
        differ between the two encodings. The callback's ``token`` is not
        used (empty for payins, never the creation token), nor its ``hash``
        (no published recipe): ``authentic`` stays None and the services
        re-ask confirm with the stored creation token."""
        data = self.load_callback_fields(body, headers)
        status = data.get("status")
        if status is not None and not isinstance(status, str):
            raise CallbackRejected("status is not a string")
        montant = data.get("montant")
        if montant not in (None, "") and parse_amount(montant) is None:
            raise CallbackRejected("montant is not a whole amount")
        reference = custom_value(data.get("custom_data"), REFERENCE_KEY) or _text(
            data.get("transaction_id")
        )
        if not reference:
            # Every invoice we create carries it: a callback without it is not ours.
            raise CallbackRejected("no transaction_id in custom_data")
        if len(reference) > 64:
            raise CallbackRejected("transaction_id is too long")
        return CallbackInfo(
            reference=reference,
            provider_reference="",
            event_id=f"{reference}:{(status or '').strip().lower()}",
            authentic=None,
        )


def custom_value(custom_data: Any, key: str) -> str:
    """One of our ``custom_data`` values, whatever shape it came back in: a
    list of ``{keyof_customdata, valueof_customdata}`` (JSON callback and
    confirm), that list as a JSON string (form callback), or the dict we sent."""
    if isinstance(custom_data, str):
        try:
            custom_data = json.loads(custom_data)
        except ValueError:
            return ""
    if isinstance(custom_data, dict):
        return _text(custom_data.get(key))
    if isinstance(custom_data, list):
        for entry in custom_data:
            if isinstance(entry, dict) and entry.get("keyof_customdata") == key:
                return _text(entry.get("valueof_customdata"))
    return ""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def form_encode(body: dict) -> bytes:
    """The form-encoded twin of a JSON callback, as LigdiCash sends it: ``custom_data``
    as a JSON string (callback/framework-examples page), other values as text, nulls
    left out."""
    fields = []
    for key, value in body.items():
        if value is None:
            continue
        if isinstance(value, (list, dict)):
            value = json.dumps(value, separators=(",", ":"))
        fields.append((key, str(value)))
    return urlencode(fields).encode()
