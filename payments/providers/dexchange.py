"""DEXCHANGE (Senegal, XOF) — ``shared/providers/dexchange.txt`` + NOTES.md.

Vendor words: a *merchant payment link* ("Initialisation Paiement
Marchand"); our reference is the ``externalTransactionId``, DEXCHANGE's is
the ``transactionId``; the shopper pays on ``https://pay.dexchange.sn/
process/{transactionId}``; statuses are upper-case (``PENDING``, ``SUCCESS``…).

The vendor text gives neither host nor paths. From DEXCHANGE's public docs
(docs-api.dexchange.sn, pages ``api-reference/merchant/init``,
``api-reference/endpoint/get-transaction`` and the API reference index) and
its official SDK (DEXCHANGE-GROUP/dexchange-api-typescript-js-sdk,
``src/config.ts``, ``src/types/index.ts``, ``src/types/webhook.ts``):

* host ``https://api-m.dexchange.sn`` (the docs' curl examples and the SDK's
  default; the settings' default is right);
* create — ``POST /api/v1/transaction/merchant/get-link``, ``Authorization:
  Bearer <API key>``; the e-mail field the vendor text lost is ``Email``.
  201 answers ``{success, transactionId, PaymentUrl, externalTransactionId,
  Status}``, at the top level (the doc page) or inside ``transaction`` (the
  OpenAPI schema): both are read;
* status — ``GET /api/v1/transaction/merchant/{transactionId}`` ("Get
  merchant transaction" in the reference index) → ``{message, transaction:
  {Merchant, ItemName, Amount, Number, Status, Initiated_at, Completed_at,
  SuccessUrl}}`` (SDK types); 404 ``{"message": ["No transaction found"]}``.
  The general ``GET /api/v1/transaction/{id}`` documents two more statuses,
  ``PROCESSING`` and ``CANCELLED``, mapped below too;
* webhook — POSTed to ``callBackURL`` on every status change: ``{id,
  externalTransactionId, transactionType, AMOUNT, FEE, PHONE_NUMBER, STATUS,
  CUSTOM_DATA, COMPLETED_AT}`` (SDK ``WebhookEvent``; the vendor's WooCommerce
  plugin requires ``id``, ``externalTransactionId`` and ``STATUS``). No
  signature is documented: it is only a hint that triggers a status call.

No lookup by ``externalTransactionId`` is documented. A 409 ("ID de
transaction externe déjà utilisé") can only come from a retry after an
unknown outcome (our reference is a fresh uuid4), so it is never a second
charge: we return the existing link when the 409 body carries it, and
otherwise leave the attempt's outcome unknown (no link was ever shown, so no
one can pay it; the deadline ends it, flagged for review).

``ItemPrice`` is an integer ≥ 100 FCFA (``minimum_amount``). Amounts are FCFA
(XOF) only, so the status answer's amount is read as XOF.

Status mapping (``Status`` of the status answer):

=============  ============  =============================================
DEXCHANGE      ours          note
=============  ============  =============================================
SUCCESS        succeeded     amount must parse
PENDING        pending
PROCESSING     pending       get-transaction doc ("En cours de traitement")
FAILED         failed
CANCELLED      failed        get-transaction doc; no money taken, the order
                             stays payable
EXPIRED        expired       the link expired
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

CREATE = "/api/v1/transaction/merchant/get-link"
STATUS = "/api/v1/transaction/merchant/{transaction_id}"
PAY_PAGE = "https://pay.dexchange.sn/process/{transaction_id}"
CURRENCY = "XOF"
SENEGAL = "+221"

STATUS_MAP = {
    "SUCCESS": Outcome.SUCCEEDED,
    "PENDING": Outcome.PENDING,
    "PROCESSING": Outcome.PENDING,
    "FAILED": Outcome.FAILED,
    "CANCELLED": Outcome.FAILED,
    "EXPIRED": Outcome.EXPIRED,
}

ERRORS = {
    400: ("rejected", _("DEXCHANGE a refusé la demande de paiement : paramètres invalides ou montant inférieur au minimum de 100 FCFA.")),
    401: ("config", _("Le paiement DEXCHANGE est momentanément indisponible. Choisissez un autre moyen de paiement.")),
    403: ("maintenance", _("DEXCHANGE est en maintenance. Réessayez plus tard ou choisissez un autre moyen de paiement.")),
}


class DexchangeProvider(Provider):
    code = "dexchange"
    name = "DEXCHANGE"
    currencies = (CURRENCY,)
    countries = ("SN",)
    required_settings = ("api_key",)
    minimum_amount = 100  # "ItemPrice … minimum: 100"
    methods = (Method("hosted", _("Page de paiement DEXCHANGE (Orange Money, Wave, Free Money…)"), Flow.REDIRECT),)

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
            return self._already_created(request, response)
        if response.status_code >= 400:
            kind, user_message = ERRORS.get(response.status_code, ("rejected", _("DEXCHANGE n'a pas pu créer le lien de paiement. Réessayez plus tard.")))
            raise ProviderError(
                f"dexchange: get-link answered HTTP {response.status_code} {_messages(self.json_object(response))}",
                kind=kind,
                status_code=response.status_code,
                retryable=response.status_code == 403,
                user_message=user_message,
            )
        initiation = self._initiation(request, self.json_object(response))
        if initiation is None:
            # 2xx without a usable link: the link may exist; a retry gets 409, never a second one.
            raise ProviderError("dexchange: no transactionId in the get-link answer", kind="malformed", unknown=True)
        return initiation

    def _initiation(self, request: PaymentRequest, data: dict | None) -> Initiation | None:
        transaction = _transaction(data)
        transaction_id = transaction.get("transactionId")
        if not isinstance(transaction_id, str) or not transaction_id.strip():
            return None
        echoed = transaction.get("externalTransactionId")
        if echoed not in (None, "", request.reference):
            return None
        link = transaction.get("PaymentUrl")
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            link = PAY_PAGE.format(transaction_id=quote(transaction_id.strip(), safe=""))
        return Initiation(provider_reference=transaction_id.strip(), redirect_url=link, raw=data)

    def _already_created(self, request: PaymentRequest, response) -> Initiation:
        """409: our reference was used by an earlier attempt of this payment."""
        initiation = self._initiation(request, self.json_object(response))
        if initiation is not None:
            return initiation
        raise ProviderError(
            "dexchange: externalTransactionId already used (409) and no lookup by it is documented",
            kind="duplicate",
            status_code=409,
            unknown=True,
            user_message=_("Ce paiement a déjà été créé chez DEXCHANGE : vous ne serez pas débité deux fois."),
        )

    # --- status ------------------------------------------------------------------
    def fetch_status(self, payment: PaymentView) -> StatusResult:
        if not payment.provider_reference:
            return StatusResult(Outcome.UNKNOWN, message="no DEXCHANGE transactionId yet")
        path = STATUS.format(transaction_id=quote(payment.provider_reference, safe=""))
        response = self.request("GET", path)
        data = self.json_object(response)
        if response.status_code >= 400 or data is None:
            return StatusResult(Outcome.UNKNOWN, message=f"HTTP {response.status_code} {_messages(data)}".strip())
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
        """The webhook, unsigned: only a hint that triggers a status call."""
        data = self.load_json_object(body)
        transaction_id = _text(data.get("id"))
        reference = _text(data.get("externalTransactionId"))
        if transaction_id is None or reference is None:
            raise CallbackRejected("id and externalTransactionId must be strings")
        if not transaction_id and not reference:
            raise CallbackRejected("missing id and externalTransactionId")
        status = data.get("STATUS")
        if not isinstance(status, str) or not status:
            raise CallbackRejected("missing STATUS")
        if data.get("AMOUNT") is not None and parse_amount(data["AMOUNT"]) is None:
            raise CallbackRejected("AMOUNT is not a whole amount")
        return CallbackInfo(
            reference=reference,
            provider_reference=transaction_id,
            event_id=f"{transaction_id or reference}:{status}"[:200],
            authentic=None,  # no signature documented
        )


def read_status(transaction: dict) -> StatusResult:
    status = transaction.get("Status", transaction.get("STATUS"))
    outcome = STATUS_MAP.get(status.upper(), Outcome.UNKNOWN) if isinstance(status, str) else Outcome.UNKNOWN
    amount = parse_amount(transaction.get("Amount", transaction.get("AMOUNT")))
    if outcome == Outcome.SUCCEEDED and amount is None:
        outcome = Outcome.UNKNOWN
    label = status[:20] if isinstance(status, str) else "?"
    return StatusResult(outcome, amount=amount, currency=CURRENCY, message=f"Status={label}", raw=transaction)


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


def _messages(data: dict | None) -> str:
    message = (data or {}).get("message")
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    return str(message or "")[:200]
