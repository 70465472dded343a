"""DEXCHANGE (Senegal, XOF): the merchant payment link.

Vendor words: a *merchant payment link* ("Initialisation Paiement
Marchand"); our reference is the ``externalTransactionId``, DEXCHANGE's is
the ``transactionId`` (``MID…``); the shopper pays on DEXCHANGE's hosted page;
statuses are upper case (``PENDING``, ``SUCCESS``…).

Every vendor fact this module relies on, with its source. "Vendor text" is
DEXCHANGE's page "Initialisation Paiement Marchand"
(docs-api.dexchange.sn/api-reference/merchant/init, English version
docs-api.dexchange.sn/en/api-reference/merchant/init); "SDK" is the official
TypeScript SDK github.com/DEXCHANGE-GROUP/dexchange-api-typescript-js-sdk;
"plugin" is the official WooCommerce plugin
github.com/DEXCHANGE-GROUP/dexchange-sdk-woocomerce. Confidence: H = the
docs and the SDK agree, M = one official source, L = an inference.

* Host ``https://api-m.dexchange.sn`` with paths under ``/api/v1`` (H: every
  curl of docs-api.dexchange.sn; the plugin's ``api_url``). The docs'
  overview says ".../v1" without ``/api`` and the SDK drops ``/api/v1`` on
  its merchant calls: both are slips, the curls are followed. The host is
  the setting ``DEXCHANGE_BASE_URL``.
* Create: ``POST /api/v1/transaction/merchant/get-link`` with
  ``Authorization: Bearer <API key>`` (vendor text, "Headers"). Body keys
  as the vendor text's table and the SDK's ``MerchantTransactionRequest``;
  the e-mail key, unnamed in the vendor text's table, is ``Email`` (English
  page, SDK). ``ItemPrice`` is a number in FCFA, minimum 100 (vendor text,
  "Validations").
* Create answer 201 (H): ``{success, transactionId, PaymentUrl,
  externalTransactionId, Status}`` at the top level (English page's sample)
  or wrapped as ``{message, transaction: {...}}`` (the API reference schema,
  docs-api.dexchange.sn/api-reference): both are read.
* Errors (vendor text, "Codes d'Erreur"): 400 invalid parameters or amount
  below the minimum, 401 bad key, 403 "API en maintenance", 409 "ID de
  transaction externe déjà utilisé"; body ``{"message": [...], "success":
  false}`` (English page, "Error Response (400)").
* 409 (M): no endpoint looks a transaction up by ``externalTransactionId``
  (none in the docs nor the SDK). Our reference is a fresh uuid4 per
  attempt, so a 409 can only follow an earlier call of the same attempt
  whose answer we lost. Whether that call created a link is unknowable:
  the attempt's outcome is *unknown* (never "already charged", never
  failed); its webhook (matched by ``externalTransactionId``) can still
  resolve it, else the deadline ends it, flagged for review.
* Shopper page: ``https://pay.dexchange.sn/process/{transactionId}``
  (vendor text, "Notes / Génération du lien"), so ``redirect_hosts`` is
  ``pay.dexchange.sn`` (``DEXCHANGE_REDIRECT_HOSTS`` overrides). A missing
  ``PaymentUrl`` is rebuilt from that format.
* Status (H for the paths, M for the shapes): ``GET
  /api/v1/transaction/merchant/{transactionId}`` ("Get merchant
  transaction", docs-api.dexchange.sn/api-reference; SDK
  ``getMerchantTransaction``) → ``{message, transaction: {Merchant,
  ItemName, Amount, Number, Status, Initiated_at, Completed_at,
  SuccessUrl}}`` (SDK ``MerchantTransactionStatusResponse``). When it
  answers 404, the general ``GET /api/v1/transaction/{transactionId}``
  (docs-api.dexchange.sn/en/api-reference/endpoint/get-transaction:
  ``{message, transaction: {ServiceName, ServiceCode, OperatorApi, Type,
  Amount, Number, Status, Initiated_at, Completed_at}}``, 404 ``{"message":
  ["No transaction found"], "success": false}``) is asked once (L: that it
  knows merchant-link ids is not documented). A flat answer (no
  ``transaction`` wrapper) is read too. No currency is reported: amounts are
  FCFA (vendor text, "ItemPrice … Prix en FCFA").
* Webhook: POSTed as JSON to ``callBackURL`` on every status change (vendor
  text, "Webhook de Notification"). Its keys are upper case where the SDK's
  ``WebhookEvent`` (``src/types/webhook.ts``) writes them so: ``id,
  externalTransactionId, transactionType, AMOUNT, FEE, PHONE_NUMBER,
  STATUS, CUSTOM_DATA, COMPLETED_AT, BALANCE, PREVIOUS_BALANCE,
  CURRENT_BALANCE`` (H); the plugin requires ``id``,
  ``externalTransactionId`` and ``STATUS``. No signature is documented (H;
  the plugin verifies nothing): a webhook is only a hint that triggers a
  status call, whatever its ``STATUS`` says.

Status mapping (``Status`` of a status answer; statuses from the vendor text,
"Statuts de Transaction", and the get-transaction page, "Possible Statuses"):

=============  ============  =============================================
DEXCHANGE      ours          note
=============  ============  =============================================
SUCCESS        succeeded     the amount must parse
PENDING        pending
PROCESSING     pending       get-transaction page ("Being processed")
FAILED         failed
CANCELLED      failed        get-transaction page; no money taken, the
                             order stays payable
EXPIRED        expired       the link expired (vendor text)
COMPLETED      unknown       never documented, yet the official plugin
                             completes orders on it: re-query, never paid
anything else  unknown       also: no JSON object, HTTP ≥ 400
=============  ============  =============================================
"""

from __future__ import annotations

import json
from urllib.parse import quote

from django.utils.translation import gettext_lazy as _

from .base import (
    CallbackInfo,
    CallbackRejected,
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

CREATE = "/api/v1/transaction/merchant/get-link"
STATUS = "/api/v1/transaction/merchant/{transaction_id}"
STATUS_FALLBACK = "/api/v1/transaction/{transaction_id}"
PAY_HOST = "pay.dexchange.sn"
PAY_PAGE = "https://" + PAY_HOST + "/process/{transaction_id}"
CURRENCY = "XOF"
SENEGAL = "+221"

STATUS_MAP = {
    "SUCCESS": Outcome.SUCCEEDED,
    "PENDING": Outcome.PENDING,
    "PROCESSING": Outcome.PENDING,
    "FAILED": Outcome.FAILED,
    "CANCELLED": Outcome.FAILED,
    "EXPIRED": Outcome.EXPIRED,
    # Not a documented status: the official plugin waits for it, the docs
    # send SUCCESS. Whatever it means, it is asked again, never taken as paid.
    "COMPLETED": Outcome.UNKNOWN,
}

# get-link errors by HTTP status: 400 invalid parameters or an amount below
# the 100 FCFA minimum, 401 a refused key, 403 maintenance (retryable).
ERRORS = {400: "rejected", 401: "config", 403: "maintenance"}


class DexchangeProvider(Provider):
    code = "dexchange"
    name = "DEXCHANGE"
    currencies = (CURRENCY,)
    countries = ("SN",)
    required_settings = ("api_key",)
    minimum_amount = 100  # "ItemPrice … minimum: 100"
    redirect_hosts = (PAY_HOST,)
    # A webhook may name only DEXCHANGE's transactionId (externalTransactionId
    # empty): it can arrive before the create answer is stored.
    callbacks_may_precede_reference = True
    methods = (
        Method.hosted(
            _("Page de paiement DEXCHANGE (Orange Money, Wave, Free Money…)"),
            "Orange Money",
            "Wave",
            "Free Money",
        ),
    )

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config['api_key']}"}

    # --- initiation ------------------------------------------------------------
    def initiate(self, request: PaymentRequest) -> Initiation:
        payload = {
            "externalTransactionId": request.reference,
            "ItemName": request.description[:100],
            "ItemPrice": request.amount,
            "customData": json.dumps({"reference": request.reference}),
            "callBackURL": request.callback_url,
            "successUrl": request.return_url,
            "failureUrl": request.cancel_url,
            "ClientName": request.customer_name[:100],
            "ClientPhone": client_phone(request.customer_phone),
            "Email": request.customer_email,
        }
        response = self.request("POST", CREATE, json_body=payload)
        if response.status_code == 409:
            raise ProviderError(
                "dexchange: externalTransactionId already used (409); no lookup by it exists, "
                "outcome unknown",
                kind="duplicate",
                status_code=409,
                unknown=True,
            )
        if response.status_code >= 400:
            raise ProviderError(
                f"dexchange: get-link answered HTTP {response.status_code} "
                f"{_messages(self.json_object(response))}",
                kind=ERRORS.get(response.status_code, "rejected"),
                status_code=response.status_code,
                retryable=response.status_code == 403,
            )
        initiation = read_created(request.reference, self.json_object(response))
        if initiation is None:
            # 2xx without a usable link: the link may exist; a retry gets 409, never a second one.
            raise ProviderError(
                "dexchange: no usable transactionId in the get-link answer",
                kind="malformed",
                unknown=True,
            )
        return initiation

    # --- status ------------------------------------------------------------------
    def fetch_status(self, payment: PaymentView) -> StatusResult:
        if not payment.provider_reference:
            return StatusResult(Outcome.UNKNOWN, message="no DEXCHANGE transactionId yet")
        transaction_id = quote(payment.provider_reference, safe="")
        response = self.request("GET", STATUS.format(transaction_id=transaction_id))
        if response.status_code == 404:
            response = self.request("GET", STATUS_FALLBACK.format(transaction_id=transaction_id))
        data = self.json_object(response)
        if response.status_code >= 400 or data is None:
            return StatusResult(
                Outcome.UNKNOWN, message=f"HTTP {response.status_code} {_messages(data)}".strip()
            )
        result = read_status(_transaction(data))
        return StatusResult(
            result.outcome,
            amount=result.amount,
            currency=result.currency,
            provider_reference=payment.provider_reference,
            message=result.message,
            raw=data,
        )

    # --- webhook -------------------------------------------------------------------
    def parse_callback(self, body: bytes, headers: dict[str, str]) -> CallbackInfo:
        """The webhook, unsigned: only a hint that triggers a status call.

        Returns both references (ours from ``externalTransactionId``, else
        from the ``CUSTOM_DATA`` we sent); its ``STATUS`` decides nothing."""
        data = self.load_json_object(body)
        transaction_id = _text(data.get("id"))
        reference = _text(data.get("externalTransactionId"))
        if transaction_id is None or reference is None:
            raise CallbackRejected("id and externalTransactionId must be strings")
        reference = reference or _custom_reference(data.get("CUSTOM_DATA"))
        if not transaction_id and not reference:
            raise CallbackRejected("missing id and externalTransactionId")
        status = data.get("STATUS")
        if not isinstance(status, str) or not status.strip():
            raise CallbackRejected("missing STATUS")
        if data.get("AMOUNT") is not None and parse_amount(data["AMOUNT"]) is None:
            raise CallbackRejected("AMOUNT is not a whole amount")
        return CallbackInfo(
            reference=reference,
            provider_reference=transaction_id,
            event_id=f"{transaction_id or reference}:{status.strip()[:40]}"[:200],
            authentic=None,  # no signature documented
        )


def read_created(reference: str, data: dict | None) -> Initiation | None:
    """A get-link answer (flat or wrapped) as an ``Initiation``, or None when
    it names no transaction or another ``externalTransactionId``."""
    transaction = _transaction(data)
    transaction_id = transaction.get("transactionId")
    if not isinstance(transaction_id, str) or not transaction_id.strip():
        return None
    echoed = transaction.get("externalTransactionId")
    if echoed not in (None, "", reference):
        return None
    link = transaction.get("PaymentUrl")
    if not isinstance(link, str) or not link.startswith(("https://", "http://")):
        link = PAY_PAGE.format(transaction_id=quote(transaction_id.strip(), safe=""))
    return Initiation(provider_reference=transaction_id.strip(), redirect_url=link, raw=data)


def read_status(transaction: dict) -> StatusResult:
    """One transaction of a status answer (merchant or general endpoint)."""
    status = transaction.get("Status", transaction.get("STATUS"))
    outcome = (
        STATUS_MAP.get(status.strip().upper(), Outcome.UNKNOWN)
        if isinstance(status, str)
        else Outcome.UNKNOWN
    )
    amount = parse_amount(transaction.get("Amount", transaction.get("AMOUNT")))
    if outcome == Outcome.SUCCEEDED and amount is None:
        outcome = Outcome.UNKNOWN
    label = status[:20] if isinstance(status, str) else "?"
    return StatusResult(
        outcome, amount=amount, currency=CURRENCY, message=f"Status={label}", raw=transaction
    )


def client_phone(e164: str) -> str:
    """Senegalese numbers in national format ("771234567", as the vendor's
    examples write them); any other number as digits with its country code."""
    text = e164.strip()
    if text.startswith(SENEGAL):
        return text[len(SENEGAL) :]
    return text.lstrip("+")


def _transaction(data: dict | None) -> dict:
    if not isinstance(data, dict):
        return {}
    nested = data.get("transaction")
    return nested if isinstance(nested, dict) else data


def _text(value) -> str | None:
    """A vendor id as a string; None when it has a type an id cannot have."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip()


def _custom_reference(value) -> str:
    """Our reference from the ``customData`` we sent, echoed as ``CUSTOM_DATA``."""
    if not isinstance(value, str):
        return ""
    try:
        data = json.loads(value)
    except ValueError:
        return ""
    reference = data.get("reference") if isinstance(data, dict) else None
    return reference.strip() if isinstance(reference, str) else ""


def _messages(data: dict | None) -> str:
    message = (data or {}).get("message")
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    return str(message or "")[:200]
