"""Lygos Pay (West, Central and East Africa; XOF, XAF).

Sources, cited below by the short name in brackets:

* [vendor text] the Lygos API README given to us (sections "Environnements et
  URLs", "Réponses et erreurs", and the cURL/PHP samples of each endpoint);
  the same pages as https://docs.lygosapp.com/api-reference/gateway/… .
* [webhooks] https://docs.lygosapp.com/modules/webhooks (read 2026; the page
  was cut before its event list and payload).
* [gateway flow] https://docs.lygosapp.com/modules/gateway ("(8) Redirection
  selon le Statut": the redirect to ``success_url`` proves nothing).
* [integrators] the npm ``lygos`` README, Yusufibin/Lygos-sdk, other public
  shop code (community, not official).

Vendor words: a *payment gateway* is a payment link for one order; its ``id``
(a UUID) names it and its ``link`` is the hosted page; ``order_id`` is ours
(we send our payment reference, a UUID, as ``order_id``); the *payin* of an
order is what the shopper paid through it.

Every vendor fact this module relies on, with its source and confidence
(H: official docs, M: several consistent integrators, L: a guess):

* Base ``https://api.lygosapp.com/v1/``, header ``api-key``; production only
  ([vendor text] "Environnements et URLs") — H. The key comes from
  ``LYGOS_API_KEY`` only.
* Countries ([vendor text], "les pays et les opérateurs"): Benin, Cameroon,
  Burkina Faso, Congo, DR Congo, Côte d'Ivoire, Gabon, Kenya, Rwanda, Senegal,
  Tanzania, Zambia — H. Only XOF and XAF are offered here: the gateway's
  currency is the merchant account's (the create body has no currency field),
  so a gateway answered in another currency than the order's is refused
  before the shopper sees it.
* Hosted pages live on ``pay.lygosapp.com`` (``REDIRECT_HOSTS``): gateway
  links seen in public integrations are ``https://pay.lygosapp.com/link/<uuid>``
  and the merchant dashboard is on the same host — M (no official sample of
  ``link`` exists: the docs print ``"<string>"``). ``LYGOS_REDIRECT_HOSTS``
  overrides the list.
* minimum amount 100 — the community Node SDK (npm ``lygos``) refuses
  ``amount < 100``; the vendor text gives no minimum — L.

Flows:

* initiation — ``POST /gateway`` ([vendor text], create sample), JSON integer
  ``amount``, ``shop_name`` (``SHOP_NAME``), ``order_id`` = our reference,
  ``message``, ``success_url`` (our return URL), ``failure_url`` (our cancel
  URL). We send the shopper to ``link`` and keep the gateway ``id`` as the
  provider reference. Lygos has no callback URL in this body: webhooks are
  configured once in the dashboard ([webhooks]).
* 409 on create ([vendor text] "Réponses et erreurs": "Tentative de création
  d'une ressource en double", i.e. our ``order_id`` was used before, e.g. a
  retry after a timeout): the API has no lookup by ``order_id`` except the
  gateway list, so we read ``GET /gateway`` and reuse the gateway whose
  ``order_id`` is ours. None found → an *unknown* outcome, not a failure: a
  gateway for our order exists somewhere, and the status by ``order_id``
  still settles it.
* status — ``GET /gateway/payin/{order_id}`` → ``{order_id, status}``
  ([vendor text], payin sample) — H for the shape. It carries no money, so on
  success we read ``amount`` / ``currency`` from ``GET /gateway/{id}`` for the
  services' check. If that read times out or answers 5xx the outcome is
  *unknown* (the poller retries soon); if it cannot give an amount (no gateway
  id, 4xx, garbage, a gateway of another order) the success is returned with
  ``amount=None`` and the services flag it for review instead of paying.
* webhooks — [webhooks] (H): configured in the dashboard ("section
  Configurations"), HTTPS only; the secret key is sent by e-mail and can be
  regenerated. Each POST carries ``X-Timestamp`` ("Timestamp Unix (en
  millisecondes)") and ``X-Signature`` ("Signature HMAC-SHA256 calculée à
  partir du body et du timestamp"): "Concaténez le body de la requête (en
  string) avec le timestamp", HMAC-SHA256 with the secret, compare with
  ``X-Signature``. Our endpoint is the shared ``/payments/callback/lygos/``.
  ``parse_callback`` checks, in order: a secret is configured (config
  ``webhook_secrets``, env ``LYGOS_WEBHOOK_SECRETS``, several for a rotation;
  none → every webhook refused 401), both headers present, the signature
  with any of the secrets (constant-time), then freshness: older than
  ``WEBHOOK_MAX_AGE`` or more than ``WEBHOOK_MAX_SKEW`` in the future → 401
  (a replay). Uncertain and handled defensively:

  - the digest's encoding is not printed: hex (the usual form, upper or lower
    case) and base64 of the same HMAC are both accepted — L;
  - event names and the payload are not published: ``order_id`` is read from
    the top level or from a nested ``data`` object; a signed webhook without
    one is stored and answered 2xx (it may be an event about something else),
    and decides nothing;
  - a webhook never decides a payment: it only triggers a status check by
    ``order_id`` (whatever ``status`` it carries);
  - ``event_id`` is the SHA-256 of the body, so an exact replay, or the same
    payload re-signed with a new timestamp by a vendor retry, is one event.

Status strings are not enumerated by the vendor (the payin schema says only
``status: string``). Mapped where a public integration shows them, in one
table (``STATUS_MAP``), every raw value journalled in ``StatusResult.message``
and ``raw``: ``pending`` / ``success`` / ``failed`` (README of the npm
``lygos`` SDK: "Check the current status of a payment ("pending", "success",
"failed")"), ``paid`` (Yusufibin/Lygos-sdk ``validate_payment`` accepts only
``status == "paid"``), ``successful`` (other integrators accept
``'successful' || 'success' || 'paid'``) — all L/M.

Status mapping (``status`` of ``GET /gateway/payin/{order_id}``, case-insensitive):

==========================  ============  ===============================================
Lygos                       ours          note
==========================  ============  ===============================================
success, paid, successful   succeeded     amount/currency from ``GET /gateway/{id}``
failed                      failed
pending                     pending
HTTP 404                    pending       no payin for our order yet — unless the body
                                          is an API-key error (then unknown)
anything else               unknown       polled like pending, never a success; at the
                                          deadline: expired *and* flagged for review
                                          (other 4xx, no JSON object, another order_id)
==========================  ============  ===============================================

Errors ([vendor text]): 401 ``{"detail": {"message", "type": "NO_API_KEY_PROVIDED"}}``,
404 ``API_KEY_NOT_FOUND`` / ``GATEWAY_NOT_FOUND``, 400 ``GATEWAY_USER_NOT_FOUND``,
422 ``{"detail": [{"loc", "msg", "type"}]}`` — each becomes a ``ProviderError``
named by its ``type`` (for a 422, ``VALIDATION_ERROR`` and the fields it
names); the answer itself is journalled.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .base import (
    JSON,
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
    header,
    parse_amount,
)

GATEWAYS = "/gateway"
GATEWAY = "/gateway/{gateway_id}"
PAYIN = "/gateway/payin/{order_id}"
REDIRECT_HOSTS = ("pay.lygosapp.com",)

# The one status table (see the docstring for where each word was seen).
STATUS_MAP = {
    "success": Outcome.SUCCEEDED,
    "paid": Outcome.SUCCEEDED,
    "successful": Outcome.SUCCEEDED,
    "failed": Outcome.FAILED,
    "pending": Outcome.PENDING,
}
API_KEY_ERRORS = {"NO_API_KEY_PROVIDED", "API_KEY_NOT_FOUND"}

# Webhooks ([webhooks]).
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"  # Unix time in milliseconds
WEBHOOK_MAX_AGE = 300  # seconds; older is a replay (Stripe's default tolerance)
WEBHOOK_MAX_SKEW = 30  # seconds a sender's clock may run ahead of ours


class LygosProvider(Provider):
    code = "lygos"
    name = "Lygos Pay"
    currencies = ("XOF", "XAF")
    countries = ("BJ", "CM", "BF", "CG", "CD", "CI", "GA", "KE", "RW", "SN", "TZ", "ZM")
    required_settings = ("api_key",)
    methods = (
        Method.hosted(
            _("Page de paiement Lygos (mobile money)"),
            "Orange Money",
            "MTN MoMo",
            "Moov Money",
            "Wave",
        ),
    )
    minimum_amount = 100
    callback_content_types = (JSON,)
    redirect_hosts = REDIRECT_HOSTS

    def auth_headers(self) -> dict[str, str]:
        return {"api-key": self.config["api_key"]}

    # --- initiation ------------------------------------------------------------
    def initiate(self, request: PaymentRequest) -> Initiation:
        payload = {
            "amount": request.amount,
            "shop_name": settings.SHOP_NAME,
            "order_id": request.reference,
            "message": request.description,
            "success_url": request.return_url,
            "failure_url": request.cancel_url,
        }
        response = self.request("POST", GATEWAYS, json_body=payload)
        if response.status_code == 409:
            gateway = self._gateway_of_order(request.reference)
            if gateway is None:
                # A gateway exists for our order_id and we cannot see it: the
                # shopper may pay it, so the outcome is unknown, not failed;
                # the status by order_id still resolves it.
                refusal = _refusal(response, self.json_object(response))
                refusal.unknown = True
                raise refusal
            return self._initiation(gateway, request)
        if response.status_code >= 400:
            raise _refusal(response, self.json_object(response))
        data = self.json_object(response)
        if data is None:
            # A 2xx we cannot read: the gateway may exist; the status by
            # order_id and a retry (409 → lookup) settle it.
            raise ProviderError(
                "lygos: gateway answer is not a JSON object", kind="malformed", unknown=True
            )
        return self._initiation(data, request)

    def _initiation(self, data: dict, request: PaymentRequest) -> Initiation:
        gateway_id = data.get("id")
        link = data.get("link")
        if (
            not isinstance(gateway_id, str)
            or not gateway_id
            or not isinstance(link, str)
            or not link.startswith(("https://", "http://"))
        ):
            raise ProviderError(
                "lygos: no gateway id or link in the answer", kind="malformed", unknown=True
            )
        if data.get("order_id") not in (None, "") and data.get("order_id") != request.reference:
            raise ProviderError(
                "lygos: the gateway answer names another order", kind="malformed", unknown=True
            )
        currency = data.get("currency")
        if (
            isinstance(currency, str)
            and currency.strip()
            and currency.strip().upper() != request.currency
        ):
            raise ProviderError(
                f"lygos: gateway in {currency[:8]!r}, order in {request.currency}",
                kind="rejected",
            )
        amount = data.get("amount")
        if amount is not None and parse_amount(amount) != request.amount:
            raise ProviderError("lygos: gateway amount differs from the order", kind="rejected")
        return Initiation(provider_reference=gateway_id, redirect_url=link, raw=data)

    def _gateway_of_order(self, reference: str) -> dict | None:
        """The existing gateway of our order, from ``GET /gateway`` (the API's
        only lookup)."""
        try:
            response = self.request("GET", GATEWAYS)
        except ProviderError as exc:
            # The gateway exists but cannot be read now: unknown, not failed.
            raise ProviderError(
                f"lygos: gateway list unavailable after 409 ({exc.kind})",
                kind=exc.kind,
                retryable=True,
                unknown=True,
            ) from exc
        if response.status_code >= 400:
            return None
        try:
            gateways = response.json()
        except ValueError:
            return None
        if not isinstance(gateways, list):
            return None
        return next(
            (g for g in gateways if isinstance(g, dict) and g.get("order_id") == reference), None
        )

    # --- status ------------------------------------------------------------------
    def fetch_status(self, payment: PaymentView) -> StatusResult:
        response = self.request("GET", PAYIN.format(order_id=quote(payment.reference, safe="")))
        data = self.json_object(response)
        if response.status_code == 404:
            error = _detail_type(data)
            if error in API_KEY_ERRORS:
                return StatusResult(Outcome.UNKNOWN, message=f"HTTP 404 {error}", raw=data)
            return StatusResult(
                Outcome.PENDING,
                provider_reference=payment.provider_reference,
                message="no payin for this order yet",
                raw=data,
            )
        if response.status_code >= 400:
            return StatusResult(
                Outcome.UNKNOWN,
                message=f"HTTP {response.status_code} {_detail_type(data)}".strip(),
                raw=data,
            )
        if data is None:
            return StatusResult(
                Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no JSON object"
            )
        result = self.read_status(data, payment.reference)
        if result.outcome != Outcome.SUCCEEDED:
            return result
        return self._with_money(result, payment)

    @staticmethod
    def read_status(data: dict, reference: str) -> StatusResult:
        """Map ``{order_id, status}`` (no money in it) following the table above."""
        order_id = data.get("order_id")
        if order_id not in (None, "") and order_id != reference:
            return StatusResult(
                Outcome.UNKNOWN, message="answer names another order", raw={"payin": data}
            )
        status = data.get("status")
        word = status.strip().lower() if isinstance(status, str) else ""
        outcome = STATUS_MAP.get(word, Outcome.UNKNOWN)
        # The raw value, as Lygos sent it, goes to the journal: the strings
        # are unpublished, so every new one must be visible to staff.
        message = f"status={str(status)[:40]!r}" + (
            "" if word in STATUS_MAP else " (not in the Lygos status table: polling continues)"
        )
        return StatusResult(outcome, message=message, raw={"payin": data})

    def _with_money(self, result: StatusResult, payment: PaymentView) -> StatusResult:
        """Add the gateway's amount and currency to a success."""
        payin = (result.raw or {}).get("payin")
        if not payment.provider_reference:
            return _success(result, payment, None, "no gateway id: amount unknown", payin, None)
        try:
            response = self.request(
                "GET", GATEWAY.format(gateway_id=quote(payment.provider_reference, safe=""))
            )
        except ProviderError as exc:
            return StatusResult(
                Outcome.UNKNOWN,
                provider_reference=payment.provider_reference,
                message=f"{result.message}; gateway read failed ({exc.kind})",
                raw={"payin": payin},
            )
        gateway = self.json_object(response)
        if response.status_code >= 400 or gateway is None:
            return _success(
                result,
                payment,
                None,
                f"gateway read answered HTTP {response.status_code}",
                payin,
                gateway,
            )
        if (
            gateway.get("order_id") not in (None, "")
            and gateway.get("order_id") != payment.reference
        ):
            return _success(
                result, payment, None, "gateway belongs to another order", payin, gateway
            )
        return _success(result, payment, gateway, "", payin, gateway)

    # --- callbacks ----------------------------------------------------------------
    def parse_callback(
        self, body: bytes, headers: dict[str, str], now: float | None = None
    ) -> CallbackInfo:
        """Verify a Lygos webhook and name the order it is about.

        It decides nothing: the services answer it with a status check by
        ``order_id`` (``result`` stays None)."""
        secrets = self.webhook_secrets()
        if not secrets:
            raise CallbackRejected(
                "no Lygos webhook secret configured (LYGOS_WEBHOOK_SECRETS): webhook refused", 401
            )
        signature = (header(headers, SIGNATURE_HEADER) or "").strip()
        stamp = (header(headers, TIMESTAMP_HEADER) or "").strip()
        if not signature or not stamp:
            raise CallbackRejected(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header", 401)
        if not stamp.isdigit() or len(stamp) > 16:
            raise CallbackRejected(
                f"malformed {TIMESTAMP_HEADER} (Unix milliseconds expected)", 401
            )
        if not any(_signature_matches(signature, secret, body, stamp) for secret in secrets):
            raise CallbackRejected(f"bad {SIGNATURE_HEADER}", 401)
        age = (time.time() if now is None else now) - int(stamp) / 1000
        if age > WEBHOOK_MAX_AGE:
            raise CallbackRejected(
                f"stale webhook: {TIMESTAMP_HEADER} is {int(age)} s old (replay?)", 401
            )
        if age < -WEBHOOK_MAX_SKEW:
            raise CallbackRejected(f"{TIMESTAMP_HEADER} is {int(-age)} s in the future", 401)
        data = self.load_callback_fields(body, headers)
        return CallbackInfo(
            reference=_order_id(data),
            event_id="lygos-webhook:" + hashlib.sha256(body).hexdigest(),
            authentic=True,
        )

    def webhook_secrets(self) -> list[str]:
        """The configured secrets, newest rotation included (a list, or a
        comma-separated string as environment variables give it)."""
        value = self.config.get("webhook_secrets") or []
        if isinstance(value, str):
            value = value.split(",")
        return [s.strip() for s in value if isinstance(s, str) and s.strip()]


def sign_webhook(secret: str, body: bytes, timestamp: str) -> str:
    """``X-Signature`` as [webhooks] describes it: hex HMAC-SHA256 of the body
    string followed by the ``X-Timestamp`` string (the sandbox signs with it)."""
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def _signature_matches(signature: str, secret: str, body: bytes, timestamp: str) -> bool:
    digest = hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).digest()
    # The docs do not print the encoding: hex (either case) or base64 of the
    # same HMAC, compared in constant time.
    if hmac.compare_digest(signature.lower().encode(), digest.hex().encode()):
        return True
    try:
        decoded = base64.b64decode(signature.encode(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(decoded, digest)


def _order_id(data: dict) -> str:
    """Our reference from a webhook: ``order_id`` at the top level or in a
    nested ``data`` object (the payload is unpublished); "" when absent."""
    for place in (data, data.get("data")):
        if isinstance(place, dict):
            value = place.get("order_id")
            if isinstance(value, str) and value.strip():
                return value.strip()[:64]
    return ""


# --- helpers ---------------------------------------------------------------------------
def _success(
    result: StatusResult,
    payment: PaymentView,
    gateway: dict | None,
    problem: str,
    payin: Any,
    raw_gateway: Any,
) -> StatusResult:
    amount = parse_amount(gateway.get("amount")) if gateway else None
    currency = (
        gateway.get("currency") if gateway and isinstance(gateway.get("currency"), str) else None
    )
    message = result.message + (f"; {problem}" if problem else "")
    return StatusResult(
        Outcome.SUCCEEDED,
        amount=amount,
        currency=currency.strip().upper() if currency else None,
        provider_reference=payment.provider_reference,
        message=message,
        raw={"payin": payin, "gateway": raw_gateway},
    )


def _detail_type(data: dict | None) -> str:
    detail = (data or {}).get("detail")
    return str(detail.get("type") or "")[:60] if isinstance(detail, dict) else ""


def _validation_problems(detail: list) -> str:
    problems = []
    for item in detail[:5]:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc") if isinstance(item.get("loc"), list) else []
        field = ".".join(str(part) for part in loc if part != "body") or "?"
        problems.append(f"{field}: {item.get('msg') or item.get('type') or '?'}")
    return "; ".join(problems)[:200]


def _refusal(response, data: dict | None) -> ProviderError:
    """A 4xx as a ``ProviderError`` named by the vendor's error type (the
    answer itself is journalled)."""
    code = response.status_code
    detail = (data or {}).get("detail")
    if isinstance(detail, list):  # 422 (and 402 in the list endpoint's sample)
        error = f"VALIDATION_ERROR {_validation_problems(detail)}"
    else:
        error = _detail_type(data)
    return ProviderError(f"lygos: HTTP {code} {error}".strip(), kind="rejected", status_code=code)
