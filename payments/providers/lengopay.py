"""LengoPay (Guinea, GNF): cash-in to a mobile-money account, push approval.

Every vendor fact this module relies on, with its source and confidence
(H = vendor text or official docs agree, M = one copy of the vendor's doc or
several integrators, L = a single community source):

Vendor words. A payment is a *cash-in request* to a mobile-money *account*
(the shopper's number in national format, "620124578") of a *type_account*
(``lp-om-gn`` Orange Money, ``lp-momo-gn`` MTN MoMo); LengoPay's id of it is
``pay_id`` (base64); our site is ``websiteid``. (H, vendor text "Corps de la
requête".)

Hosts. Production ``https://portal.lengopay.com``; sandbox
``https://sandbox.lengopay.com`` (M: lengopay_flutter
``lib/src/constants/api_constants.dart``). ``LENGOPAY_BASE_URL`` picks one.

Auth. ``Authorization: Basic <license key>`` — the key exactly as LengoPay
issues it, no base64 of user:pass (H: vendor text "En-têtes";
lengopay_flutter ``lengopay_base.dart``; bouba93/kharandi-backend).

Create. ``POST /api/v2/cashin/request`` ``{amount, currency, websiteid,
type_account, account, callback_url}`` with ``amount`` a numeric *string*
("1000"; vendor text "Remarques") → ``{"status": "Success", "pay_id",
"message"}``, which only means "request received": the shopper then approves
on the phone. 400 malformed, 401 bad key (vendor text "Erreurs"). There is no
shopper page to send anyone to (push), so ``redirect_hosts`` is empty.

Status (M) — not in the vendor text; LengoPay's own doc page for it is
copied in Morymirco/admin.zalama ``app/doc2.md``: ``POST
/api/v2/cashin/transaction`` (its example request line says
``…/transactions``: the path is configuration, the singular first), same
headers, body ``{"pay_id", "websiteid"}`` → ``{"status": "SUCCESS",
"pay_id", "amount": 1000, "account": 620123456, "date"}``; errors
400/401/404/500. The older v1 family answers ``POST
/api/v1/transaction/status`` with the same body → ``{status, pay_id, date,
amount}`` (M: bouba93/kharandi-backend ``payments/lengopay.py``, which found
the demo's ``GET /api/v1/payments/{pay_id}`` answering 404; lengopay_flutter
``transaction_status_response.dart``). So: config ``status_path`` (default
the v2 path) and, when that answers 404 or 405, ``status_fallback_path``
(default the v1 path). Status values ``SUCCESS`` / ``FAILED`` / ``PENDING``
(M: ``app/doc3.md``, the cash-in history). The public demo also shows
``CANCELLED`` (L, v1 hosted page only): left unmapped, so it reads as
"unknown" and the deadline, with a staff review, ends such an attempt.
The status answer carries no currency: the result reports the GNF the
cash-in asked for.

Callback (M-H). LengoPay POSTs JSON ``{pay_id, status, amount, message,
account}`` (vendor text "URL de rappel"); the v1 family names the payer
``Client`` instead of ``account`` (lengopay_flutter
``models/callback_details.dart``): both are accepted, neither is needed. It
is **unsigned** (kharandi: "Aucune signature n'est prévue par le
fournisseur") and LengoPay retries on failure (vendor text "Gestion des
erreurs"). So a callback is only a trigger: the status endpoint decides,
amount included. Only when ``status_path`` is configured *empty* does the
old mode apply — the callback's own result decides (less safe: anyone who
knows a ``pay_id`` can post one; the amount is still checked).

Quirks.

* ``pay_id`` padding: the cash-in answer writes it without base64 padding
  ("…UG8", vendor text "Réponse réussie"), the status doc with it ("…UG8=",
  ``app/doc2.md``). **Which form the status endpoint wants is unconfirmed**:
  no integrator shows a status call with a real pay_id. We store and match it
  without trailing "=" — the callback's too, so a callback that arrives
  before the create answer is linked to it later — and send it to the status
  endpoint as the cash-in answer wrote it. On that endpoint's "not found"
  (404) we ask once more with the other form, and remember the form that
  found a payment (Django's cache, key ``PAY_ID_FORM_KEY``, shared by the
  processes that share the cache) so later checks start with it; a
  remembered form that stops finding payments is unlearnt the same way.
* The vendor's callback example leaves ``pay_id`` unquoted and the status
  doc's examples end objects with a trailing comma: not JSON. They read as
  hand-written doc typos (LengoPay's server and every integrator use a JSON
  encoder/decoder), so we accept only real JSON: such a callback is refused
  as malformed (stored raw; the status poll still settles the payment) and
  such a status answer is "unknown", never a success.
* The vendor requires an HTTPS ``callback_url`` (vendor text "Remarques");
  we do not enforce it here (the local sandbox runs on plain HTTP), the
  production ``SITE_URL`` is HTTPS.

Status mapping (``status`` of the status answer, or of the callback when no
status path is configured):

=============  ============  =============================================
LengoPay       ours          note
=============  ============  =============================================
SUCCESS        succeeded     amount must parse; it is compared to the order
FAILED         failed
PENDING        pending
anything else  unknown       also: no JSON object, HTTP ≥ 400, other pay_id
=============  ============  =============================================
"""

from __future__ import annotations

import requests
from django.core.cache import cache
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
# Defaults of the ``status_path`` / ``status_fallback_path`` settings (see the module doc).
STATUS_PATH = "/api/v2/cashin/transaction"
STATUS_FALLBACK_PATH = "/api/v1/transaction/status"
# A missing route, not a missing payment, is what sends us to the fallback;
# the v2 doc also uses 404 for "not found", so the fallback may 404 as well.
FALLBACK_ON = (404, 405)
# The status endpoint's "not found" (``app/doc2.md`` "Erreurs"): also what it
# may answer to a pay_id written with the wrong padding (see Quirks).
NOT_FOUND = 404
# Which pay_id form last found a payment: "padded" or "unpadded" (see Quirks).
PAY_ID_FORM_KEY = "payments:lengopay:pay_id_form"
COUNTRY_CODE = "+224"
CURRENCY = "GNF"
STATUS_MAP = {
    "SUCCESS": Outcome.SUCCEEDED,
    "FAILED": Outcome.FAILED,
    "PENDING": Outcome.PENDING,
}
# Transaction history, for reconciliation (EVIDENCE §4: a copy of the vendor doc,
# Morymirco/admin.zalama ``app/doc3.md``: ``POST /api/v1/cashin/all-transactions``
# ``{websiteid}`` → a list of ``{pay_id, status, amount, …}``; M).
HISTORY_PATH = "/api/v1/cashin/all-transactions"
NO_STATUS_API = (
    "LengoPay status endpoint disabled (LENGOPAY_STATUS_PATH empty): the callback and the deadline "
    "decide"
)


def normalise_pay_id(value: str) -> str:
    """The pay_id as we store and match it: without base64 padding."""
    return value.strip().rstrip("=")


def padded_pay_id(value: str) -> str:
    return value + "=" * (-len(value) % 4)


def pay_id_forms(stored: str) -> dict[str, str]:
    """The two ways to write a stored (unpadded) pay_id, by name."""
    return {"unpadded": stored, "padded": padded_pay_id(stored)}


class LengopayProvider(Provider):
    code = "lengopay"
    name = "LengoPay"
    currencies = (CURRENCY,)
    countries = ("GN",)
    required_settings = ("license_key", "website_id")
    methods = (
        Method.wallet("lp-om-gn", _("Orange Money Guinée"), Flow.PUSH, "GN", "Orange Money"),
        Method.wallet("lp-momo-gn", _("MTN MoMo Guinée"), Flow.PUSH, "GN", "MTN MoMo"),
    )
    # Push flow: LengoPay never sends a shopper to a page of its own.
    redirect_hosts = ()
    # Its callback names only the pay_id, which we learn from the create
    # answer: a callback can arrive first (integrators lost some that way).
    callbacks_may_precede_reference = True

    @property
    def status_path(self) -> str:
        """The configured status path; "" only when explicitly configured empty."""
        return str(self.config.get("status_path", STATUS_PATH) or "")

    @property
    def status_fallback_path(self) -> str:
        return str(self.config.get("status_fallback_path", STATUS_FALLBACK_PATH) or "")

    @property
    def has_status_api(self) -> bool:  # type: ignore[override]
        """True unless the status path is configured empty (see the module doc)."""
        return bool(self.status_path)

    def auth_headers(self) -> dict[str, str]:
        # The license key as issued, not base64(user:pass) (vendor text "En-têtes").
        return {"Authorization": f"Basic {self.config['license_key']}"}

    def initiate(self, request: PaymentRequest) -> Initiation:
        method = self.method(request.method) or self.methods[0]
        payload = {
            "amount": str(request.amount),  # a numeric string (vendor text "Remarques")
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
            )
        if response.status_code >= 400:
            raise ProviderError(
                f"lengopay: cash-in refused (HTTP {response.status_code})",
                kind="rejected",
                status_code=response.status_code,
            )
        data = self.json_object(response)
        if data is None or not isinstance(data.get("status"), str):
            # 2xx without a readable answer: LengoPay may have sent the push.
            raise ProviderError(
                "lengopay: unreadable cash-in answer", kind="malformed", unknown=True
            )
        pay_id = data.get("pay_id")
        if (
            data["status"].lower() != "success"
            or not isinstance(pay_id, str)
            or not normalise_pay_id(pay_id)
        ):
            message = str(data.get("message") or "")[:120]
            raise ProviderError(
                f"lengopay: cash-in refused (status={data['status'][:20]!r}, message={message!r})",
                kind="rejected",
            )
        instructions = {"flow": method.flow.value, "method": method.code}
        return Initiation(
            provider_reference=normalise_pay_id(pay_id), instructions=instructions, raw=data
        )

    # --- status ------------------------------------------------------------------
    def fetch_status(self, payment: PaymentView) -> StatusResult:
        """Ask the status endpoint (v2, then the v1 fallback when the v2 route
        answers 404/405), each with the pay_id in the form last seen to work
        and, on "not found", once in the other (module doc, Quirks). Anything
        but a readable answer about this pay_id is ``UNKNOWN``; transport
        failures raise ``ProviderError``."""
        if not payment.provider_reference:
            return StatusResult(Outcome.UNKNOWN, message="no pay_id yet")
        if not self.has_status_api:
            return StatusResult(Outcome.PENDING, message=NO_STATUS_API)
        paths = [_path(self.status_path)]
        fallback = self.status_fallback_path
        if fallback and _path(fallback) not in paths:
            paths.append(_path(fallback))
        for path in paths:
            response, form = self._ask_status(path, payment.provider_reference)
            if response.status_code not in FALLBACK_ON:
                break
        data = self.json_object(response)
        if response.status_code >= 400 or data is None:
            return StatusResult(Outcome.UNKNOWN, message=f"HTTP {response.status_code}, no status")
        answered = data.get("pay_id")
        if (
            isinstance(answered, str)
            and answered
            and normalise_pay_id(answered) != payment.provider_reference
        ):
            return StatusResult(
                Outcome.UNKNOWN, message="status answer is about another pay_id", raw=data
            )
        _remember_pay_id_form(form)
        return read_status(data)

    def _ask_status(self, path: str, stored: str) -> tuple[requests.Response, str]:
        """POST ``{pay_id, websiteid}`` to ``path`` with the remembered pay_id
        form; on "not found", once with the other. Returns the last answer and
        the name of the form that got it."""
        forms = pay_id_forms(stored)
        first = _remembered_pay_id_form()
        other = "padded" if first == "unpadded" else "unpadded"
        response = self._post_status(path, forms[first])
        if response.status_code != NOT_FOUND:
            return response, first
        return self._post_status(path, forms[other]), other

    def _post_status(self, path: str, pay_id: str) -> requests.Response:
        body = {"pay_id": pay_id, "websiteid": self.config["website_id"]}
        return self.request("POST", path, json_body=body)

    # --- history (reconciliation) ----------------------------------------------------
    has_history = True

    def history(self) -> dict[str, StatusResult] | None:
        """Every cash-in of our site by normalised ``pay_id``, or None when the
        history endpoint does not answer usably (the caller then asks the
        status of each payment). The answer is a list, bare or under
        ``data`` / ``transactions`` (the doc copy shows a list; M)."""
        response = self.request(
            "POST", HISTORY_PATH, json_body={"websiteid": self.config["website_id"]}
        )
        try:
            data = response.json()
        except ValueError:
            return None
        if isinstance(data, dict):
            data = data.get("data", data.get("transactions"))
        if response.status_code >= 400 or not isinstance(data, list):
            return None
        found = {}
        for row in data:
            if (
                isinstance(row, dict)
                and isinstance(row.get("pay_id"), str)
                and normalise_pay_id(row["pay_id"])
            ):
                found[normalise_pay_id(row["pay_id"])] = read_status(row)
        return found

    # --- callback ------------------------------------------------------------------
    def parse_callback(self, body: bytes, headers: dict[str, str]) -> CallbackInfo:
        """The documented callback, unsigned (``authentic=None``): a trigger
        for a status check. Its ``provider_reference`` is normalised like the
        stored pay_id, so a callback that beats the create answer is linked
        later. It carries a ``result`` only when the status endpoint is
        disabled (then that result decides; see the module doc)."""
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
        result = None if self.has_status_api else read_status({**data, "pay_id": reference})
        return CallbackInfo(
            provider_reference=reference,
            event_id=f"{reference}:{status}"[:200],
            authentic=None,
            result=result,
        )


def read_status(data: dict) -> StatusResult:
    """A status answer (or, without a status endpoint, a callback) as a ``StatusResult``."""
    status = data.get("status")
    outcome = (
        STATUS_MAP.get(status.strip().upper(), Outcome.UNKNOWN)
        if isinstance(status, str)
        else Outcome.UNKNOWN
    )
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
    raise ProviderError("lengopay: the payer's number is not Guinean", kind="rejected")


def _path(configured: str) -> str:
    return "/" + configured.lstrip("/")


def _remembered_pay_id_form() -> str:
    """The pay_id form that last found a payment; the cash-in answer's
    ("unpadded") until one has. A cache that does not answer only costs the
    retry."""
    try:
        form = cache.get(PAY_ID_FORM_KEY)
    except Exception:
        return "unpadded"
    return form if form in ("padded", "unpadded") else "unpadded"


def _remember_pay_id_form(form: str) -> None:
    if form == _remembered_pay_id_form():
        return
    try:
        cache.set(PAY_ID_FORM_KEY, form, timeout=None)
    except Exception:
        pass  # the next check asks with the other form first again
