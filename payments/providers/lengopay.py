"""LengoPay (Guinea, GNF) — ``shared/providers/lengopay.txt`` + NOTES.md.

Vendor words: a payment is a *cash-in request* to a mobile-money *account*
(the shopper's number in national format, e.g. "620124578") of a
*type_account* (``lp-om-gn`` Orange Money, ``lp-momo-gn`` MTN MoMo); the
vendor's id of it is ``pay_id`` (base64); our site is ``websiteid``.

Flow (push): ``POST /api/v2/cashin/request`` with ``Authorization: Basic
<license key>`` — the key exactly as LengoPay issues it, not base64 of
user:pass (NOTES.md) — and ``amount`` as a numeric *string* ("1000"). The
answer ``{"status": "Success", "pay_id": …}`` only means "request received":
the shopper then approves on the phone and LengoPay POSTs the documented
callback ``{pay_id, status SUCCESS|FAILED, amount, message, account}`` to
``callback_url``. The real vendor requires an HTTPS ``callback_url``
(lengopay.txt, "Remarques"); we do not enforce it here (the sandbox runs on
plain HTTP), ``SITE_URL`` is HTTPS in production.

Status API — not in the vendor text. What we found and use:

* A copy of LengoPay's own doc for the cash-in status endpoint
  (Morymirco/admin.zalama ``app/doc2.md``): ``POST
  /api/v2/cashin/transaction`` (its example request line says
  ``…/transactions``), same Basic header, body ``{"pay_id", "websiteid"}``,
  answer ``{"status": "SUCCESS", "pay_id", "amount": 1000, "account",
  "date"}``; errors 400/401/404/500. A sibling doc (``app/doc3.md``, the
  cash-in history) lists the statuses ``SUCCESS``, ``FAILED``, ``PENDING``.
* The public demo NOTES.md names (bmsanoussy/lengopay-demo,
  ``lib/lengopay.ts``) reads ``GET /api/v1/payments/{pay_id}`` →
  ``{pay_id, status, amount, currency, message}`` — the v1 *hosted page*
  API, another product than the v2 cash-in we use, so we do not call it.

Because neither path is confirmed by the vendor, the path is configuration
(``status_path`` / ``LENGOPAY_STATUS_PATH``; production default "", the
sandbox default ``/api/v2/cashin/transaction``, the copied doc's path). When it is set we POST
``{pay_id, websiteid}`` to it and read ``status``/``amount`` (and
``currency`` when the answer has one, as the demo's does). When it is empty,
``has_status_api`` is False: the services read the result carried by the
stored callbacks (``CallbackInfo.result``) and expire the attempt at its
deadline; ``fetch_status`` then answers "pending".

Quirk: the vendor's examples write the same ``pay_id`` with and without its
base64 padding ("…UG8" in the cash-in answer, "…UG8=" in the status doc), so
we store and match it without trailing "=" and send it padded to the status
endpoint, as that doc shows. The vendor's callback example leaves ``pay_id``
unquoted (not JSON): we accept only a JSON string.

Status mapping (``status`` of the callback and of the status answer):

=============  ============  =============================================
LengoPay       ours          note
=============  ============  =============================================
SUCCESS        succeeded     amount must parse; currency GNF unless stated
FAILED         failed
PENDING        pending       status answer only (doc3's list)
anything else  unknown       also: no JSON object, HTTP ≥ 400, other pay_id
=============  ============  =============================================
"""

from __future__ import annotations

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

CASHIN = "/api/v2/cashin/request"
COUNTRY_CODE = "+224"
CURRENCY = "GNF"

STATUS_MAP = {
    "SUCCESS": Outcome.SUCCEEDED,
    "FAILED": Outcome.FAILED,
    "PENDING": Outcome.PENDING,
}
NO_STATUS_API = "LengoPay has no status API: the callback and the deadline decide"


def normalise_pay_id(value: str) -> str:
    """The pay_id as we store and match it: without base64 padding."""
    return value.strip().rstrip("=")


def padded_pay_id(value: str) -> str:
    return value + "=" * (-len(value) % 4)


class LengopayProvider(Provider):
    code = "lengopay"
    name = "LengoPay"
    currencies = (CURRENCY,)
    countries = ("GN",)
    required_settings = ("license_key", "website_id")
    methods = (
        Method("lp-om-gn", _("Orange Money Guinée"), Flow.PUSH, needs_phone=True, countries=("GN",)),
        Method("lp-momo-gn", _("MTN MoMo Guinée"), Flow.PUSH, needs_phone=True, countries=("GN",)),
    )

    @property
    def has_status_api(self) -> bool:  # type: ignore[override]
        """True only when a status path is configured (see the module doc)."""
        return bool(self.config.get("status_path"))

    def auth_headers(self) -> dict[str, str]:
        # The license key as issued, not base64(user:pass) (NOTES.md).
        return {"Authorization": f"Basic {self.config['license_key']}"}

    def initiate(self, request: PaymentRequest) -> Initiation:
        method = self.method(request.method) or self.methods[0]
        payload = {
            "amount": str(request.amount),  # a numeric string (lengopay.txt, "Remarques")
            "currency": request.currency,
            "websiteid": self.config["website_id"],
            "type_account": method.code,
            "account": national_number(request.payer_phone or request.customer_phone),
            "callback_url": request.callback_url,
        }
        response = self.request("POST", CASHIN, json_body=payload)
        if response.status_code == 401:
            raise ProviderError(
                "lengopay: license key refused (401)",
                kind="config",
                status_code=401,
                user_message=_("Le paiement LengoPay est momentanément indisponible. Choisissez un autre moyen de paiement."),
            )
        if response.status_code >= 400:
            raise ProviderError(
                f"lengopay: cash-in refused (HTTP {response.status_code})",
                kind="rejected",
                status_code=response.status_code,
                user_message=_("LengoPay a refusé la demande de paiement. Vérifiez le numéro de téléphone et l'opérateur choisi."),
            )
        data = self.json_object(response)
        if data is None or not isinstance(data.get("status"), str):
            # 2xx without a readable answer: LengoPay may have sent the push.
            raise ProviderError("lengopay: unreadable cash-in answer", kind="malformed", unknown=True)
        pay_id = data.get("pay_id")
        if data["status"].lower() != "success" or not isinstance(pay_id, str) or not normalise_pay_id(pay_id):
            message = str(data.get("message") or "")[:120]
            raise ProviderError(
                f"lengopay: cash-in refused (status={data['status'][:20]!r}, message={message!r})",
                kind="rejected",
                user_message=_("LengoPay n'a pas pu lancer le paiement. Vérifiez le numéro de téléphone et réessayez."),
            )
        instructions = {"flow": method.flow.value, "method": method.code}
        return Initiation(provider_reference=normalise_pay_id(pay_id), instructions=instructions, raw=data)

    # --- status ------------------------------------------------------------------
    def fetch_status(self, payment: PaymentView) -> StatusResult:
        if not payment.provider_reference:
            return StatusResult(Outcome.UNKNOWN, message="no pay_id yet")
        if not self.has_status_api:
            return StatusResult(Outcome.PENDING, message=NO_STATUS_API)
        body = {"pay_id": padded_pay_id(payment.provider_reference), "websiteid": self.config["website_id"]}
        path = "/" + self.config["status_path"].lstrip("/")
        response = self.request("POST", path, json_body=body)
        data = self.json_object(response)
        if response.status_code >= 400 or data is None:
            return StatusResult(Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no status")
        result = read_status(data)
        answered = data.get("pay_id")
        if isinstance(answered, str) and answered and normalise_pay_id(answered) != payment.provider_reference:
            return StatusResult(Outcome.UNKNOWN, message="status answer is about another pay_id", raw=data)
        return result

    # --- callback ------------------------------------------------------------------
    def parse_callback(self, body: bytes, headers: dict[str, str]) -> CallbackInfo:
        """The documented callback, unsigned (``authentic=None``). Its result
        is what decides when no status API is configured (see the module doc)."""
        data = self.load_json_object(body)
        pay_id = data.get("pay_id")
        if not isinstance(pay_id, str) or not normalise_pay_id(pay_id):
            raise CallbackRejected("missing pay_id")
        status = data.get("status")
        if not isinstance(status, str) or not status:
            raise CallbackRejected("missing status")
        amount = data.get("amount")
        if amount is not None and parse_amount(amount) is None:
            raise CallbackRejected("amount is not a whole amount")
        if amount is None and STATUS_MAP.get(status.upper()) == Outcome.SUCCEEDED:
            raise CallbackRejected("success without an amount")
        reference = normalise_pay_id(pay_id)
        return CallbackInfo(
            provider_reference=reference,
            event_id=f"{reference}:{status}"[:200],
            authentic=None,
            result=read_status({**data, "pay_id": reference}),
        )


def read_status(data: dict) -> StatusResult:
    """A callback body or a status answer as a ``StatusResult``."""
    status = data.get("status")
    outcome = STATUS_MAP.get(status.upper(), Outcome.UNKNOWN) if isinstance(status, str) else Outcome.UNKNOWN
    amount = parse_amount(data.get("amount"))
    if outcome == Outcome.SUCCEEDED and amount is None:
        outcome = Outcome.UNKNOWN
    currency = data.get("currency")
    # The cash-in was requested in GNF; the documented answers carry no currency.
    currency = currency.upper() if isinstance(currency, str) and currency else CURRENCY
    pay_id = data.get("pay_id")
    label = status[:20] if isinstance(status, str) else "?"
    return StatusResult(
        outcome,
        amount=amount,
        currency=currency,
        provider_reference=normalise_pay_id(pay_id) if isinstance(pay_id, str) else "",
        message=f"status={label} {str(data.get('message') or '')[:80]}".strip(),
        raw=data,
    )


def national_number(e164: str) -> str:
    """The Guinean number LengoPay expects ("620124578") from E.164."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    if e164.strip().startswith(COUNTRY_CODE):
        return digits[len(COUNTRY_CODE) - 1 :]
    if digits.startswith("00224"):
        return digits[5:]
    raise ProviderError(
        "lengopay: the payer's number is not Guinean",
        kind="rejected",
        user_message=_("LengoPay n'accepte que les numéros de Guinée (+224)."),
    )
