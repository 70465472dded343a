"""Novasend (Côte d'Ivoire and neighbours, XOF): the "Merchant API" v1.

Vendor words: a *payin session* (``POST /v1/payin/sessions``) is an intent to
pay; Novasend's own ``reference`` (``tr_…``) names it, ours travels as
``reference`` in the request and comes back as ``customerReference``. The
shopper may have to confirm (``confirmationRequired``) on a ``paymentUrl`` or
in the wallet; ``confirmationStatus`` follows that step; the settled money is
the ``transaction`` object of ``GET /v1/payin/{reference}``.

Two API generations exist and must not be mixed: the old "Business API" v1.0
(``business-api.novasend.app``, Bearer auth, ``X-Idempotence-Key``, webhooks
signed in ``x-novasend-signature``, ``{"payments": {…}}`` bodies; the
buicorporation/doc-novasend repository) and the current one, which this
module speaks (docs.novasend.app). Of the old one only the shape of error
bodies is read, for the shopper's message (the current docs show none).

Vendor facts this module relies on, with their source and confidence
(H = official docs agree, M = one official source, L = inference):

* host ``https://business.novasend.app``, paths ``/v1/…`` (H; docs.novasend.app
  "Base url"); sandbox keys use the same host and move real money
  (guide-business.novasend.app/en/4-api-token). Set in settings
  (``NOVASEND_BASE_URL``), not here.
* auth ``Authorization: Basic base64(api_key:api_client)`` (H; vendor text,
  "Détails de la Requête").
* create — ``POST /v1/payin/sessions`` with JSON ``reference`` (ours),
  ``accountId``, integer ``amount``, ``msisdn`` (E.164), ``customerName``,
  ``country`` (vendor text, "Paramètres de la Requête"), and the header
  ``X-Idempotency-Key``, required (H; vendor text and docs.novasend.app:
  "UUID to ensure request uniqueness … same response will be returned").
  Its value is our attempt reference (a UUID), so every retry of the same
  attempt replays the same session.
* create answer (vendor text, "Exemple de Réponse"): ``reference`` is
  Novasend's id (``tr_…``), ``customerReference`` is ours; both are kept
  (the vendor text: "Toujours stocker reference et customerReference").
  A ``paymentUrl`` is shown to the shopper when ``confirmationRequired`` is
  true ("Afficher au client le lien paymentUrl pour validation si
  confirmationRequired = true").
* shopper pages — ``REDIRECT_HOSTS``: ``link.novasend.app`` (vendor text:
  ``"paymentUrl": "https://link.novasend.app/link/{shortCode}"``, H) and
  ``pay.wave.com`` (the docs.novasend.app/webhook sample carries a Wave
  checkout link as ``paymentUrl``, M). A payin session has **no return URL**:
  the shopper comes back to the shop by themselves.
* status — ``GET /v1/payin/{reference}`` with **Novasend's** reference (vendor
  text, "Paramètre: reference → … généré lors du POST /v1/payin/sessions";
  EVIDENCE: M). At most one call per 10 s ("1 appel toutes les 5 à 10
  secondes max"). Only when we never learnt theirs (the create call timed out)
  do we ask with ours — undocumented (L), so such an answer counts only if
  its ``customerReference`` is ours.
* truth — ``transaction.status`` (``completed`` / ``failed`` / ``pending``) is
  "la source de vérité finale" (H); ``status: processed`` only means the
  shopper confirmed ("ne défini pas le statut final de la transaction"):
  never success on its own. ``transaction`` null or ``{}`` = not confirmed
  yet. ``confirmationStatus`` declined/expired = "non valide". The amount is
  ``transaction.amount`` ("153.00"); in the vendor's own status sample it
  differs from the top-level ``amount`` (300), so the settled figure is the
  one compared with the order.
* webhook — configured per merchant in the Business portal with a secret of
  our choosing (guide-business.novasend.app/en/05-webhooks), so several
  secrets can be active during a rotation (``NOVASEND_WEBHOOK_SECRETS``).
  Header ``X-Signature-Value`` = lowercase hex HMAC-SHA256 of the body with
  that secret (H; docs.novasend.app/webhook: "X-Signature-Value:
  HMAC_SHA256(body, secret)"). The docs' Node sample hashes
  ``JSON.stringify(body)``, a compact re-serialisation, while the body is
  what was signed: we check the raw bytes first, then the compact
  re-serialisation (M: which bytes exactly is not stated).
* webhook body — the transaction object (docs.novasend.app/webhook sample):
  ``id`` = Novasend's ``tr_…``, ``reference`` = the merchant's reference
  (ours), ``type`` ``payin``, ``status``, ``confirmationStatus``, amounts,
  ``customer``… The sample's status is ``processing``: webhooks carry
  **non-final** states, and event names are not documented (the vendor text
  names ``payin.confirmed`` / ``payin.declined``). So a webhook is only a
  trigger for a status check, never a decision. An ``eventId`` field is
  "optional" (docs.novasend.app/webhook.en, "Handle replayability … via the
  eventId field"); without it the delivery is identified by the transaction
  and the state it reports.

Countries: CI, SN, TG, BF, ML, BJ — the XOF markets Novasend lists; the
vendor text only says "CI, SN, TG, etc." and docs.novasend.app shows CI, CM
for sessions (CM is XAF: not offered).

Status mapping (first matching row wins):

=================================================  =========
===============================================
Novasend                                            ours       note
=================================================  =========
===============================================
``customerReference`` ≠ our reference               unknown    an answer about another payment
``type`` present and ≠ ``payin``                    unknown
``transaction.status`` completed                    succeeded  amount = ``transaction.amount``
("153.00"),
                                                               currency = ``transaction.currency``;
                                                               unknown
                                                               if the amount is unusable, or if
                                                               ``confirmationStatus``
                                                               declined/expired,
                                                               ``status`` expired or ``failure``
                                                               contradict it
``transaction.status`` failed                       failed
``transaction.status`` anything but pending         unknown
``confirmationStatus`` declined                     failed     "doit être considéré comme non
valide"
``confirmationStatus`` expired                      expired
``status`` expired                                  expired
``failure`` is a non-empty object                   failed     "Détails d'erreur en cas d'échec"
``transaction.status`` pending                      pending
no transaction, ``status`` processing / processed   pending    processed = the shopper confirmed,
not paid
anything else (no JSON object, unknown strings)     unknown
=================================================  =========
===============================================
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import quote

import phonenumbers
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
    RefundConfidence,
    RefundSupport,
    StatusResult,
    header,
    parse_amount,
)

SESSIONS = "/v1/payin/sessions"
PAYIN = "/v1/payin/{reference}"
# Required on POST /v1/payin/sessions (docs.novasend.app). Not the v1.0 API's X-Idempotence-Key.
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
# docs.novasend.app/webhook. Not the v1.0 API's x-novasend-signature.
SIGNATURE_HEADER = "X-Signature-Value"
# Hosts of the shopper pages Novasend returns as ``paymentUrl`` (see the docstring).
REDIRECT_HOSTS = ("link.novasend.app", "pay.wave.com")
# Refund of a payin (docs.novasend.app: "POST /v1/payin/{reference}/refund" is one of the
# critical operations that require ``X-Idempotency-Key``; H for path and header). The body and
# answer are not published (L): we send ``amount`` and ``reason`` and read the answer as a
# transaction (``reference``, ``status`` / ``transaction.status``). UNCERTAIN, so declared
# ``RefundConfidence.UNCERTAIN``: off unless NOVASEND_REFUNDS_ENABLED is set, and even then a
# refund counts as done only on an answer naming a reference of its own (not the payin's).
REFUND = "/v1/payin/{reference}/refund"
REFUND_STATUS = {
    "completed": Outcome.SUCCEEDED,
    "succeeded": Outcome.SUCCEEDED,
    "failed": Outcome.FAILED,
    "pending": Outcome.PENDING,
    "processing": Outcome.PENDING,
}
# Error messages in French. From the v1.0 docs (doc-novasend "Errors"); the current docs
# say nothing on it (L): harmless if ignored.
LANGUAGE = {"Accept-Language": "fr"}

TRANSACTION_STATUS = {
    "completed": Outcome.SUCCEEDED,
    "failed": Outcome.FAILED,
    "pending": Outcome.PENDING,
}
CONFIRMATION_STATUS = {"declined": Outcome.FAILED, "expired": Outcome.EXPIRED}
SESSION_IN_PROGRESS = {"processing", "processed"}
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
# Novasend's own ids: ``tr_…`` (sessions, transactions), ``mtr_…`` (the vendor text's status
# sample).
NOVASEND_ID = re.compile(r"m?tr_[0-9A-Za-z]+")


class NovasendProvider(Provider):
    code = "novasend"
    name = "Novasend"
    currencies = ("XOF",)
    countries = ("CI", "SN", "TG", "BF", "ML", "BJ")
    required_settings = ("api_key", "api_client", "account_id")
    methods = (
        Method(
            "mobile_money",
            _("Mobile money via Novasend (Orange, MTN, Moov, Wave…)"),
            Flow.PUSH,
            needs_phone=True,
            wallets=("Orange Money", "MTN MoMo", "Moov Money", "Wave"),
        ),
    )
    min_poll_interval = 10
    redirect_hosts = REDIRECT_HOSTS

    def auth_headers(self) -> dict[str, str]:
        pair = f"{self.config['api_key']}:{self.config['api_client']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    # --- initiation ------------------------------------------------------------
    def initiate(self, request: PaymentRequest) -> Initiation:
        payer = request.payer_phone or request.customer_phone
        payload = {
            "reference": request.reference,
            "accountId": self.config["account_id"],
            "amount": request.amount,
            "msisdn": payer,
            "customerName": request.customer_name[:100],
            "country": _country_of(payer, request.country),
        }
        headers = {**LANGUAGE, IDEMPOTENCY_HEADER: request.reference}
        response = self.request("POST", SESSIONS, json_body=payload, headers=headers)
        if response.status_code == 409:
            # Duplicate reference, or a refusal (limits, number): the v1.0 docs'
            # "Errors" page; the current docs list no error bodies (L). The
            # session may exist already — find it rather than fail.
            session = self._session_by_our_reference(request.reference)
            if session is None:
                raise _refusal(response, self.json_object(response))
            return self._initiation(session, request.reference)
        if response.status_code >= 400:
            raise _refusal(response, self.json_object(response))
        data = self.json_object(response)
        if data is None:
            # A 2xx we cannot read: a session may exist. The retry replays the
            # idempotency key, so it is safe to call the outcome unknown.
            raise ProviderError(
                "novasend: session answer is not a JSON object", kind="malformed", unknown=True
            )
        return self._initiation(data, request.reference)

    def _initiation(self, data: dict, reference: str) -> Initiation:
        theirs = data.get("reference")
        if not isinstance(theirs, str) or not theirs:
            raise ProviderError(
                "novasend: no session reference in the answer", kind="malformed", unknown=True
            )
        echoed = data.get("customerReference")
        if echoed not in (None, "") and str(echoed) != reference:
            raise ProviderError(
                "novasend: the session answer names another payment", kind="malformed", unknown=True
            )
        outcome = self.read_status(data, reference).outcome
        if outcome in (Outcome.FAILED, Outcome.EXPIRED):
            # Declined or expired at once: the attempt ends; never "succeeded"
            # here — the first poll reads the settled amount.
            return Initiation(provider_reference=theirs, outcome=Outcome.FAILED, raw=data)
        link = data.get("paymentUrl")
        if (
            data.get("confirmationRequired") is True
            and isinstance(link, str)
            and link.startswith(("https://", "http://"))
        ):
            return Initiation(provider_reference=theirs, redirect_url=link, raw=data)
        return Initiation(
            provider_reference=theirs,
            instructions={"flow": Flow.PUSH.value, "method": "mobile_money"},
            raw=data,
        )

    def _session_by_our_reference(self, reference: str) -> dict | None:
        try:
            response = self.request(
                "GET", PAYIN.format(reference=quote(reference, safe="")), headers=LANGUAGE
            )
        except ProviderError as exc:
            # A session may exist and cannot be read now: unknown, not failed.
            raise ProviderError(
                f"novasend: session lookup unavailable after 409 ({exc.kind})",
                kind=exc.kind,
                retryable=True,
                unknown=True,
            ) from exc
        data = self.json_object(response)
        if (
            response.status_code >= 400
            or data is None
            or str(data.get("customerReference") or "") != reference
        ):
            return None
        return data

    # --- status ------------------------------------------------------------------
    def fetch_status(self, payment: PaymentView) -> StatusResult:
        key = payment.provider_reference or payment.reference
        response = self.request(
            "GET", PAYIN.format(reference=quote(key, safe="")), headers=LANGUAGE
        )
        data = self.json_object(response)
        if response.status_code >= 400:
            label = (data or {}).get("error") or ""
            return StatusResult(
                Outcome.UNKNOWN, message=f"HTTP {response.status_code} {label}".strip(), raw=data
            )
        if data is None:
            return StatusResult(
                Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no JSON object"
            )
        if (
            not payment.provider_reference
            and str(data.get("customerReference") or "") != payment.reference
        ):
            # Asked by our reference: only an answer that names it counts.
            return StatusResult(
                Outcome.UNKNOWN, message="no session found for our reference", raw=data
            )
        return self.read_status(data, payment.reference)

    # --- refunds ------------------------------------------------------------------
    refunds = RefundSupport(supported=True, idempotent=True, confidence=RefundConfidence.UNCERTAIN)

    def refund(
        self, reference: str, payment: PaymentView, amount: int, payee: str, reason: str
    ) -> StatusResult:
        """Refund ``amount`` of a settled payin. ``reference`` (ours, a UUID) is
        the idempotency key: a retry after an unknown outcome replays the
        same refund, never a second one (docs.novasend.app, "same response
        will be returned")."""
        if not payment.provider_reference:
            return StatusResult(Outcome.FAILED, message="no Novasend reference for this payment")
        # UNCERTAIN (L): Novasend publishes the endpoint and its idempotency
        # header, not the body nor the answer of a refund. The body is our
        # guess; the answer is read like a payin's (transaction.status), and
        # anything else stays unknown, for staff to check in Novasend's portal.
        path = REFUND.format(reference=quote(payment.provider_reference, safe=""))
        response = self.request(
            "POST",
            path,
            json_body={"amount": amount, "reason": reason[:200]},
            headers={**LANGUAGE, IDEMPOTENCY_HEADER: reference},
        )
        data = self.json_object(response)
        if response.status_code == 409:
            # The key or the payin is busy (v1.0 "Errors" page, L): the refund may exist.
            return StatusResult(Outcome.UNKNOWN, message="refund answered 409", raw=data)
        if response.status_code >= 400:
            return StatusResult(
                Outcome.FAILED,
                message=f"refund refused: {_vendor_text(data) or response.status_code}"[:200],
                raw=data,
            )
        if data is None:
            return StatusResult(
                Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no JSON object"
            )
        return self.read_refund(data, amount)

    def refund_status(
        self, reference: str, provider_reference: str, payment: PaymentView
    ) -> StatusResult:
        """A refund's status: ``GET /v1/payin/{its tr_… reference}`` (L: every
        Novasend transaction is read by its ``tr_`` id); without one, the
        services replay the refund request with the same idempotency key."""
        if not provider_reference:
            return StatusResult(Outcome.UNKNOWN, message="no refund reference yet")
        response = self.request(
            "GET", PAYIN.format(reference=quote(provider_reference, safe="")), headers=LANGUAGE
        )
        data = self.json_object(response)
        if response.status_code >= 400 or data is None:
            return StatusResult(Outcome.UNKNOWN, message=f"HTTP {response.status_code}", raw=data)
        return self.read_refund(data, None)

    @staticmethod
    def read_refund(data: dict, amount: int | None) -> StatusResult:
        settled = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
        word = _word(settled.get("status") or data.get("status"))
        outcome = REFUND_STATUS.get(word, Outcome.UNKNOWN)
        reported = parse_amount(settled.get("amount", data.get("amount")))
        # What Novasend reported, never the amount we asked for (None when it says nothing).
        return StatusResult(
            outcome,
            amount=reported,
            currency=str(data.get("currency") or "XOF"),
            provider_reference=str(data.get("reference") or data.get("id") or ""),
            message=f"refund status={word or '?'}",
            raw=data,
        )

    @staticmethod
    def read_status(data: dict, reference: str = "") -> StatusResult:
        """Map a session / status answer following the table in the module docstring."""
        theirs = str(data.get("reference") or "")
        echoed = data.get("customerReference")
        if reference and echoed not in (None, "") and str(echoed) != reference:
            return StatusResult(
                Outcome.UNKNOWN,
                provider_reference=theirs,
                message="answer names another payment",
                raw=data,
            )
        if data.get("type") not in (None, "payin"):
            return StatusResult(
                Outcome.UNKNOWN,
                provider_reference=theirs,
                message=f"type={data.get('type')!r}",
                raw=data,
            )
        transaction = data.get("transaction")
        if transaction is not None and not isinstance(transaction, dict):
            return StatusResult(
                Outcome.UNKNOWN,
                provider_reference=theirs,
                message="transaction is not an object",
                raw=data,
            )
        transaction = transaction or {}
        status = _word(data.get("status"))
        confirmation = _word(data.get("confirmationStatus"))
        settled = _word(transaction.get("status"))
        outcome = _outcome(status, confirmation, settled, bool(transaction), data.get("failure"))
        amount = parse_amount(transaction.get("amount")) if transaction else None
        currency = (
            transaction.get("currency") if isinstance(transaction.get("currency"), str) else None
        )
        message = (
            f"status={status or '?'} confirmation={confirmation or '?'} "
            f"transaction={settled or '-'}"
        )
        if outcome == Outcome.SUCCEEDED and amount is None:
            outcome = Outcome.UNKNOWN
            message += " (no usable transaction.amount)"
        return StatusResult(
            outcome,
            amount=amount,
            currency=currency.strip().upper() if currency else None,
            provider_reference=theirs,
            message=message,
            raw=data,
        )

    # --- webhook -------------------------------------------------------------------
    def parse_callback(self, body: bytes, headers: dict[str, str]) -> CallbackInfo:
        """Who a webhook is about; never what happened (a status check decides).

        With secrets configured, a missing, malformed or wrong
        ``X-Signature-Value`` is refused (401) before the body is read; with
        none, the webhook is an unsigned hint (``authentic=None``)."""
        secrets = self._webhook_secrets()
        if secrets:
            _verify_signature(body, header(headers, SIGNATURE_HEADER), secrets)
        data = self.load_json_object(body)
        for key in (
            "id",
            "reference",
            "customerReference",
            "type",
            "status",
            "confirmationStatus",
            "eventId",
        ):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise CallbackRejected(f"{key} is not a string")
        for key in ("amount", "chargedAmount"):
            if data.get(key) is not None and parse_amount(data[key]) is None:
                raise CallbackRejected(f"{key} is not a whole amount")
        ours, theirs = _webhook_references(data)
        if not ours and not theirs:
            raise CallbackRejected("no payment reference")
        return CallbackInfo(
            reference=ours,
            provider_reference=theirs,
            event_id=_event_id(data, ours or theirs),
            authentic=True if secrets else None,
        )

    def _webhook_secrets(self) -> list[str]:
        secrets = self.config.get("webhook_secrets") or []
        if isinstance(secrets, str):
            secrets = secrets.split(",")
        return [s.strip() for s in secrets if isinstance(s, str) and s.strip()]


def _verify_signature(body: bytes, signature: str | None, secrets: list[str]) -> None:
    """Raise 401 unless ``signature`` is the HMAC of the body under one secret.

    The signed bytes are the raw body; the docs' sample re-serialises the
    parsed body with ``JSON.stringify`` (compact, non-ASCII kept), so that
    form is accepted too. Every candidate is compared with every secret
    (``hmac.compare_digest``, no early exit)."""
    if not signature:
        raise CallbackRejected(f"missing {SIGNATURE_HEADER}", status_code=401)
    candidate = signature.strip().lower()
    if not HEX_SHA256.fullmatch(candidate):
        raise CallbackRejected(f"malformed {SIGNATURE_HEADER}", status_code=401)
    matched = False
    for signed in _signed_forms(body):
        for secret in secrets:
            matched |= hmac.compare_digest(
                candidate, hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
            )
    if not matched:
        raise CallbackRejected(f"{SIGNATURE_HEADER} does not match", status_code=401)


def _signed_forms(body: bytes) -> list[bytes]:
    forms = [body]
    try:
        compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        return forms
    return forms if compact == body else [*forms, compact]


def _webhook_references(data: dict) -> tuple[str, str]:
    """(ours, theirs) from a webhook: ``id`` is Novasend's ``tr_…``,
    ``reference`` the merchant's (docs.novasend.app/webhook sample). A
    ``customerReference``, as in the session answers, is ours too; a
    ``reference`` shaped like Novasend's id is taken as theirs, since the
    session answers use that key for Novasend's id (the webhook's own field
    list is not fully documented)."""
    ours = (data.get("customerReference") or "").strip()
    theirs = (data.get("id") or "").strip()
    reference = (data.get("reference") or "").strip()
    if NOVASEND_ID.fullmatch(reference):
        theirs = theirs or reference
    else:
        ours = ours or reference
    return ours, theirs


def _event_id(data: dict, key: str) -> str:
    """What makes a delivery unique: the optional ``eventId``, else the
    transaction and the state it reports (a later state is a new event)."""
    if data.get("eventId"):
        return data["eventId"]
    transaction = data.get("transaction") if isinstance(data.get("transaction"), dict) else {}
    parts = (
        data.get("type"),
        data.get("status"),
        data.get("confirmationStatus"),
        transaction.get("status"),
    )
    return ":".join([key, *(str(part or "") for part in parts)])


# --- helpers ---------------------------------------------------------------------------
def _word(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _outcome(
    status: str, confirmation: str, settled: str, has_transaction: bool, failure: Any
) -> Outcome:
    if has_transaction:
        final = TRANSACTION_STATUS.get(settled, Outcome.UNKNOWN)
        if final == Outcome.SUCCEEDED:
            contradicted = (
                confirmation in CONFIRMATION_STATUS or status == "expired" or bool(failure)
            )
            return Outcome.UNKNOWN if contradicted else Outcome.SUCCEEDED
        if final != Outcome.PENDING:
            return final
    if confirmation in CONFIRMATION_STATUS:
        return CONFIRMATION_STATUS[confirmation]
    if status == "expired":
        return Outcome.EXPIRED
    if failure:
        return Outcome.FAILED
    if has_transaction or status in SESSION_IN_PROGRESS:
        return Outcome.PENDING
    return Outcome.UNKNOWN


def _country_of(msisdn: str, fallback: str) -> str:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(msisdn, None))
    except phonenumbers.NumberParseException:
        region = None
    return region or fallback


def _vendor_text(data: dict | None) -> str:
    if not data:
        return ""
    details = data.get("subErrors")
    if isinstance(details, list) and details:
        return "; ".join(str(d) for d in details)[:200]
    message = data.get("message")
    return str(message)[:200] if message else ""


def _refusal(response, data: dict | None) -> ProviderError:
    """A 4xx as a ``ProviderError``; the vendor's own words stay in the
    journalled answer (the shopper never sees them)."""
    code = response.status_code
    label = (data or {}).get("error") or ""
    return ProviderError(
        f"novasend: HTTP {code} {label}".strip(), kind="rejected", status_code=code
    )
