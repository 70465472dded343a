"""Novasend (Côte d'Ivoire and neighbours, XOF) — ``shared/providers/novasend.txt`` + NOTES.md.

Vendor words: a *payin session* (``POST /v1/payin/sessions``) is an intent to
pay; Novasend's own ``reference`` (``tr_…``) names it, ours travels as
``reference`` in the request and comes back as ``customerReference``. The
shopper may have to confirm (``confirmationRequired``) on a ``paymentUrl`` or
in the wallet; ``confirmationStatus`` follows that step; the settled money is
the ``transaction`` object of ``GET /v1/payin/{reference}``.

Countries: CI, SN, TG, BF, ML, BJ — the XOF markets of the public docs'
"What you need to know" page (buicorporation/doc-novasend ``src/wyntk.md``;
it also lists NE, CM and GN, left out: NE is not in our brief, CM and GN are
not XOF). The vendor text only says "CI, SN, TG, etc.".

Flows:

* initiation — ``POST /v1/payin/sessions``, ``Authorization: Basic
  base64(api_key:api_client)``, ``X-Idempotency-Key`` = our payment reference,
  so a retry after a timeout (P-1, W-9) replays the same session instead of
  charging twice. JSON ``reference`` (ours), ``accountId``, integer ``amount``,
  ``msisdn`` (E.164 of the wallet to debit: ``payer_phone`` or the customer's
  phone), ``customerName``, ``country`` (ISO code of the wallet's number,
  falling back to the order's country: Novasend routes by the operator).
* one checkout method, ``mobile_money`` (``Flow.PUSH``, needs a phone): the
  answer decides at run time. ``confirmationRequired`` with a ``paymentUrl``
  → we send the shopper there to confirm (``Initiation.redirect_url``);
  otherwise the shopper approves in the wallet and our waiting page polls.
  PUSH is the right default because it is what the shop shows when no link
  comes back; a returned link overrides it.
* 409 on create (public docs: duplicate reference or idempotency key, but
  also amount limits or a number the service refuses): we ask
  ``GET /v1/payin/{our reference}``; a session naming our reference is reused,
  anything else is a refusal with Novasend's (French) message.
* status — ``GET /v1/payin/{reference}`` with **Novasend's** reference: the
  text says the parameter is "généré lors du POST /v1/payin/sessions". Ours is
  used only when we never learnt theirs (initiation timed out); an answer then
  counts only if its ``customerReference`` is ours. At most one call per 10 s
  (vendor: "1 appel toutes les 5 à 10 secondes max").
* webhook — events ``payment.succeeded`` / ``payment.failed`` (public docs,
  ``src/transaction/webhook.md``), body ``{"payments": {id, status, reference,
  destination, fees…}}``, header ``x-novasend-signature`` = hex HMAC-SHA256 of
  the raw body, one signature per active secret during a rotation. We compare
  every signature in the header with every configured secret
  (``hmac.compare_digest``). With secrets configured, a missing, malformed or
  wrong signature is refused (401); with none configured the callback is
  unsigned (``authentic=None``). Either way it only triggers a status call.

Where the sources disagree:

* Idempotency header: ``X-Idempotency-Key`` in the vendor text,
  ``X-Idempotence-Key`` in the public docs (NOTES.md). We send the vendor
  text's spelling; the sandbox accepts both.
* Host: the public docs give ``https://business-api.novasend.app`` for their
  ``/v1.0/…`` API (Bearer auth, a different generation of the API); the
  vendor text's ``/v1/payin/…`` API has no host. ``NOVASEND_BASE_URL`` sets it
  (default ``https://api.novasend.app``).
* Statuses: the text calls ``transaction.status`` "la source de vérité
  finale"; ``status: processed`` alone is not success (NOTES.md).

Status mapping (first matching row wins):

=================================================  =========  ===============================================
Novasend                                            ours       note
=================================================  =========  ===============================================
``customerReference`` ≠ our reference               unknown    an answer about another payment
``type`` present and ≠ ``payin``                    unknown
``transaction.status`` completed                    succeeded  amount = ``transaction.amount`` ("153.00"),
                                                               currency = ``transaction.currency``; unknown
                                                               if the amount is unusable, or if
                                                               ``confirmationStatus`` declined/expired,
                                                               ``status`` expired or ``failure`` contradict it
``transaction.status`` failed                       failed
``transaction.status`` anything but pending         unknown
``confirmationStatus`` declined                     failed     "doit être considéré comme non valide"
``confirmationStatus`` expired                      expired
``status`` expired                                  expired
``failure`` is a non-empty object                   failed     "Détails d'erreur en cas d'échec"
``transaction.status`` pending                      pending
no transaction, ``status`` processing / processed   pending    processed = the shopper confirmed, not paid
anything else (no JSON object, unknown strings)     unknown
=================================================  =========  ===============================================
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
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
    StatusResult,
    parse_amount,
)

SESSIONS = "/v1/payin/sessions"
PAYIN = "/v1/payin/{reference}"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"  # vendor text; the public docs spell it X-Idempotence-Key
SIGNATURE_HEADER = "x-novasend-signature"
# The public docs translate error messages with Accept-Language (fr or en).
LANGUAGE = {"Accept-Language": "fr"}

TRANSACTION_STATUS = {"completed": Outcome.SUCCEEDED, "failed": Outcome.FAILED, "pending": Outcome.PENDING}
CONFIRMATION_STATUS = {"declined": Outcome.FAILED, "expired": Outcome.EXPIRED}
SESSION_IN_PROGRESS = {"processing", "processed"}
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


class NovasendProvider(Provider):
    code = "novasend"
    name = "Novasend"
    currencies = ("XOF",)
    countries = ("CI", "SN", "TG", "BF", "ML", "BJ")
    required_settings = ("api_key", "api_client", "account_id")
    methods = (Method("mobile_money", _("Mobile money via Novasend (Orange, MTN, Moov, Wave…)"), Flow.PUSH, needs_phone=True),)
    min_poll_interval = 10

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
            # Duplicate reference or idempotency key (public docs, "Errors"):
            # the session may exist already — find it rather than fail.
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
            raise ProviderError("novasend: session answer is not a JSON object", kind="malformed", unknown=True)
        return self._initiation(data, request.reference)

    def _initiation(self, data: dict, reference: str) -> Initiation:
        theirs = data.get("reference")
        if not isinstance(theirs, str) or not theirs:
            raise ProviderError("novasend: no session reference in the answer", kind="malformed", unknown=True)
        echoed = data.get("customerReference")
        if echoed not in (None, "") and str(echoed) != reference:
            raise ProviderError("novasend: the session answer names another payment", kind="malformed", unknown=True)
        outcome = self.read_status(data, reference).outcome
        if outcome in (Outcome.FAILED, Outcome.EXPIRED):
            # Declined or expired at once: the attempt ends; never "succeeded"
            # here — the first poll reads the settled amount.
            return Initiation(provider_reference=theirs, outcome=Outcome.FAILED, raw=data)
        link = data.get("paymentUrl")
        if data.get("confirmationRequired") is True and isinstance(link, str) and link.startswith(("https://", "http://")):
            return Initiation(provider_reference=theirs, redirect_url=link, raw=data)
        return Initiation(provider_reference=theirs, instructions={"flow": Flow.PUSH.value, "method": "mobile_money"}, raw=data)

    def _session_by_our_reference(self, reference: str) -> dict | None:
        try:
            response = self.request("GET", PAYIN.format(reference=quote(reference, safe="")), headers=LANGUAGE)
        except ProviderError as exc:
            # A session may exist and cannot be read now: unknown, not failed.
            raise ProviderError(f"novasend: session lookup unavailable after 409 ({exc.kind})", kind=exc.kind, retryable=True, unknown=True) from exc
        data = self.json_object(response)
        if response.status_code >= 400 or data is None or str(data.get("customerReference") or "") != reference:
            return None
        return data

    # --- status ------------------------------------------------------------------
    def fetch_status(self, payment: PaymentView) -> StatusResult:
        key = payment.provider_reference or payment.reference
        response = self.request("GET", PAYIN.format(reference=quote(key, safe="")), headers=LANGUAGE)
        data = self.json_object(response)
        if response.status_code >= 400:
            label = (data or {}).get("error") or ""
            return StatusResult(Outcome.UNKNOWN, message=f"HTTP {response.status_code} {label}".strip(), raw=data)
        if data is None:
            return StatusResult(Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no JSON object")
        if not payment.provider_reference and str(data.get("customerReference") or "") != payment.reference:
            # Asked by our reference: only an answer that names it counts.
            return StatusResult(Outcome.UNKNOWN, message="no session found for our reference", raw=data)
        return self.read_status(data, payment.reference)

    @staticmethod
    def read_status(data: dict, reference: str = "") -> StatusResult:
        """Map a session / status answer following the table in the module docstring."""
        theirs = str(data.get("reference") or "")
        echoed = data.get("customerReference")
        if reference and echoed not in (None, "") and str(echoed) != reference:
            return StatusResult(Outcome.UNKNOWN, provider_reference=theirs, message="answer names another payment", raw=data)
        if data.get("type") not in (None, "payin"):
            return StatusResult(Outcome.UNKNOWN, provider_reference=theirs, message=f"type={data.get('type')!r}", raw=data)
        transaction = data.get("transaction")
        if transaction is not None and not isinstance(transaction, dict):
            return StatusResult(Outcome.UNKNOWN, provider_reference=theirs, message="transaction is not an object", raw=data)
        transaction = transaction or {}
        status = _word(data.get("status"))
        confirmation = _word(data.get("confirmationStatus"))
        settled = _word(transaction.get("status"))
        outcome = _outcome(status, confirmation, settled, bool(transaction), data.get("failure"))
        amount = parse_amount(transaction.get("amount")) if transaction else None
        currency = transaction.get("currency") if isinstance(transaction.get("currency"), str) else None
        message = f"status={status or '?'} confirmation={confirmation or '?'} transaction={settled or '-'}"
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
        secrets = self._webhook_secrets()
        if secrets:
            self._verify_signature(body, headers, secrets)
        data = self.load_json_object(body)
        payment = _webhook_payment(data)
        status = payment.get("status")
        if status is not None and not isinstance(status, str):
            raise CallbackRejected("status is not a string")
        fees = payment.get("fees")
        if fees is not None and (not isinstance(fees, dict) or ("amount" in fees and parse_amount(fees["amount"]) is None)):
            raise CallbackRejected("fees.amount is not a whole amount")
        ours, theirs = _webhook_references(payment)
        if not ours and not theirs:
            raise CallbackRejected("no payment reference")
        event = data.get("id") if isinstance(data.get("id"), str) and data.get("id") else f"{ours or theirs}:{status or ''}"
        return CallbackInfo(reference=ours, provider_reference=theirs, event_id=event, authentic=True if secrets else None)

    def _webhook_secrets(self) -> list[str]:
        secrets = self.config.get("webhook_secrets") or []
        if isinstance(secrets, str):
            secrets = secrets.split(",")
        return [s.strip() for s in secrets if isinstance(s, str) and s.strip()]

    @staticmethod
    def _verify_signature(body: bytes, headers: dict[str, str], secrets: list[str]) -> None:
        """Raise 401 unless one signature of the header matches one secret.

        During a rotation Novasend sends "a signature for each secret" in the
        one header (public docs, "Signature"); we accept them separated by
        commas or spaces, each optionally prefixed ``sha256=``.
        """
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        if not header:
            raise CallbackRejected("missing x-novasend-signature", status_code=401)
        candidates = [c.strip().lower().removeprefix("sha256=") for c in re.split(r"[,\s]+", header) if c.strip()]
        candidates = [c for c in candidates if HEX_SHA256.fullmatch(c)]
        if not candidates:
            raise CallbackRejected("malformed x-novasend-signature", status_code=401)
        expected = [hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() for secret in secrets]
        # Compare every pair: no early exit that would tell which secret matched.
        matched = False
        for candidate in candidates:
            for digest in expected:
                matched |= hmac.compare_digest(candidate, digest)
        if not matched:
            raise CallbackRejected("x-novasend-signature does not match", status_code=401)


# --- helpers ---------------------------------------------------------------------------
def _word(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _outcome(status: str, confirmation: str, settled: str, has_transaction: bool, failure: Any) -> Outcome:
    if has_transaction:
        final = TRANSACTION_STATUS.get(settled, Outcome.UNKNOWN)
        if final == Outcome.SUCCEEDED:
            contradicted = confirmation in CONFIRMATION_STATUS or status == "expired" or bool(failure)
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


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _webhook_payment(data: dict) -> dict:
    """The payment object of a webhook: ``payments`` in the public docs'
    sample; a flat body or ``data``/``payment`` is accepted too, since the
    vendor text's v1 API does not document its webhook body."""
    for key in ("payments", "payment", "data"):
        if key in data:
            if not isinstance(data[key], dict):
                raise CallbackRejected(f"{key} is not an object")
            return data[key]
    return data


def _webhook_references(payment: dict) -> tuple[str, str]:
    """(ours, theirs). Ours is a UUID (``customerReference`` in the v1 API,
    ``reference`` in the public docs' sample); theirs is ``tr_…``/``pt_…``."""
    ours = theirs = ""
    for key in ("customerReference", "reference", "id"):
        value = payment.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise CallbackRejected(f"{key} is not a string")
        value = value.strip()
        if not value:
            continue
        if _is_uuid(value):
            ours = ours or value
        else:
            theirs = theirs or value
    return ours, theirs


def _vendor_text(data: dict | None) -> str:
    if not data:
        return ""
    details = data.get("subErrors")
    if isinstance(details, list) and details:
        return "; ".join(str(d) for d in details)[:200]
    message = data.get("message")
    return str(message)[:200] if message else ""


def _refusal(response, data: dict | None) -> ProviderError:
    """A 4xx as a ``ProviderError`` with a message the shopper can act on."""
    code = response.status_code
    text = _vendor_text(data)
    if code == 401:
        user = _("Identifiants Novasend absents ou invalides (clé API ou client API).")
    elif code == 422:
        user = _("Données refusées par Novasend : %(details)s") % {"details": text or _("requête invalide")}
    elif code == 409:
        user = _("Novasend refuse ce paiement (montant hors limites ou numéro non accepté) : %(details)s") % {"details": text or _("conflit")}
    elif code == 404:
        user = _("Compte marchand ou service Novasend introuvable.")
    elif code == 403:
        user = _("Novasend refuse l'opération pour ce compte marchand.")
    elif code == 400:
        user = _("Requête refusée par Novasend : %(details)s") % {"details": text or _("requête invalide")}
    else:
        user = _("Novasend a refusé la demande (HTTP %(code)s).") % {"code": code}
    label = (data or {}).get("error") or ""
    return ProviderError(f"novasend: HTTP {code} {label}".strip(), kind="rejected", status_code=code, user_message=user)
