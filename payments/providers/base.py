"""The provider contract and its shared plumbing.

A provider module knows one vendor's wire format and nothing else: it builds
requests, reads answers and callbacks, and maps the vendor's statuses to
ours. It never writes to the database — ``payments.services`` applies what a
provider reports (django-getpaid's rule: processors never write status).

What every provider can rely on from here:

* ``self.request()``: one ``requests.Session`` per provider instance, every
  call with ``settings.PAYMENT_HTTP_TIMEOUT`` (connect, read), every failure
  turned into one ``ProviderError``, every exchange appended to
  ``self.exchanges`` with secrets removed (the services store them as
  ``PaymentEvent`` rows).
* ``parse_amount()``: the one place an amount from a vendor becomes an int.

What the services rely on from a provider: ``initiate()`` returns an
``Initiation`` or raises ``ProviderError``; ``fetch_status()`` returns a
``StatusResult`` and maps anything it does not understand to ``UNKNOWN``
(never to success); ``parse_callback()`` returns a ``CallbackInfo`` or raises
``CallbackRejected``.
"""

from __future__ import annotations

import http.cookiejar
import json
import math
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from payments.redaction import credentials_of, redact, redact_headers, scrub

_sessions = threading.local()

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# A provider answer larger than this is journalled truncated.
JOURNAL_MAX_BYTES = 64 * 1024


class Outcome(StrEnum):
    """A provider's answer normalised to the shop's words."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class Flow(StrEnum):
    REDIRECT = "redirect"  # hosted page on the provider's site
    PUSH = "push"  # the shopper approves on the phone; our page waits
    OTP = "otp"  # the shopper dials a USSD code and types the OTP on our page


@dataclass(frozen=True)
class Method:
    """One way to pay with a provider, as offered at checkout."""

    code: str
    label: Any
    flow: Flow
    needs_phone: bool = False
    # USSD code shown to the shopper before the OTP form; "{amount}" is filled in.
    ussd: str = ""
    countries: tuple[str, ...] = ()
    # The wallets a shopper can pay with this way, named the way people say
    # them ("Orange Money", "Moov Money", "Wave", "MTN MoMo", "Carte bancaire");
    # payments.offers keeps those that serve the shopper's country.
    wallets: tuple[str, ...] = ()

    @classmethod
    def hosted(cls, label: Any, *wallets: str) -> Method:
        """The provider's own payment page (code ``hosted``)."""
        return cls("hosted", label, Flow.REDIRECT, wallets=wallets)

    @classmethod
    def wallet(cls, code: str, label: Any, flow: Flow, country: str, wallet: str, **more) -> Method:
        """One wallet of one country, paid from the shopper's phone."""
        return cls(
            code, label, flow, needs_phone=True, countries=(country,), wallets=(wallet,), **more
        )


@dataclass(frozen=True)
class PaymentRequest:
    reference: str
    amount: int
    currency: str
    description: str
    items: tuple[dict, ...]
    customer_name: str
    customer_email: str
    customer_phone: str  # E.164
    country: str
    method: str
    return_url: str
    cancel_url: str
    callback_url: str
    otp: str = ""
    payer_phone: str = ""  # E.164 of the wallet to debit, when the method needs one


@dataclass(frozen=True)
class Initiation:
    provider_reference: str
    redirect_url: str = ""
    instructions: dict = field(default_factory=dict)
    outcome: Outcome = Outcome.PENDING
    raw: Any = None


@dataclass(frozen=True)
class StatusResult:
    outcome: Outcome
    amount: int | None = None
    currency: str | None = None
    provider_reference: str = ""
    message: str = ""
    raw: Any = None
    # Set by providers that can say "ask again later, not before" (429).
    retry_after: float | None = None
    # The wallet or account that paid, as the vendor reported it (refunds go there).
    payer: str = ""


@dataclass(frozen=True)
class PaymentView:
    """What a provider may know of a stored payment (no ORM object crosses)."""

    reference: str
    provider_reference: str
    amount: int
    currency: str
    method: str = ""


@dataclass(frozen=True)
class CallbackInfo:
    reference: str = ""  # ours, when the vendor echoes it
    provider_reference: str = ""
    event_id: str = ""  # what makes this delivery unique
    authentic: bool | None = None  # None: the vendor does not sign
    # Only for LengoPay with its status endpoint configured off
    # (LENGOPAY_STATUS_PATH empty): the result the callback carries.
    # Otherwise every provider re-asks its status API.
    result: StatusResult | None = None


class ProviderError(Exception):
    """A call that did not give a usable answer.

    ``retryable`` is True for timeouts, connection errors, 5xx and 429;
    ``unknown`` is True when the provider may have acted anyway (timeout
    after sending), so the attempt's outcome is unknown; ``reached`` is
    False only when no connection to the vendor was ever made (refused,
    DNS, connect timeout): the request cannot have been received.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "error",
        status_code: int | None = None,
        retryable: bool = False,
        unknown: bool = False,
        retry_after: float | None = None,
        reached: bool = True,
    ):
        super().__init__(message)
        self.reached = reached
        self.kind = kind
        self.status_code = status_code
        self.retryable = retryable
        self.unknown = unknown
        self.retry_after = retry_after


class CallbackRejected(Exception):
    """A callback that must not be acted on: answered with ``status_code``."""

    def __init__(self, reason: str, status_code: int = 400):
        super().__init__(reason)
        self.status_code = status_code


class InvalidAmount(ValueError):
    pass


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the connection itself failed (refused, DNS, connect
    timeout): nothing was sent. A reset after sending is not this."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def parse_amount(value: Any) -> int | None:
    """An amount from a vendor as a whole number, or None when unusable.

    Accepts ints, integral floats and numeric strings ("100", "153.00");
    refuses NaN, infinities, negatives, fractions and garbage.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    # "1e400000" is a valid Decimal whose int() takes minutes: no real amount
    # has more than 15 digits.
    if (
        not number.is_finite()
        or number < 0
        or number.adjusted() > 15
        or number != number.to_integral_value()
    ):
        return None
    return int(number)


def check_amount(value: Any) -> int:
    """Raise before any provider call unless ``value`` is a positive int."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer() and value > 0:
            return int(value)
        raise InvalidAmount(f"amount must be a positive integer, got {value!r}")
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise InvalidAmount(f"amount must be a positive integer, got {value!r}")
        value = int(value)
    if value <= 0:
        raise InvalidAmount(f"amount must be a positive integer, got {value!r}")
    return value


class RefundConfidence(StrEnum):
    """How sure we are of a vendor's refund API (``shared/providers/EVIDENCE.md``)."""

    CONFIRMED = "confirmed"  # request and answer published by the vendor
    # Endpoint known, body or answer not published: it never moves money by
    # default; the provider's ``refunds_enabled`` setting turns it on.
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class RefundSupport:
    """What a provider can do about refunds, declared once on its class."""

    supported: bool = False  # ``refund`` and ``refund_status`` are implemented
    minimum: int = 1  # the vendor refuses less (whole units of the currency)
    # The refund call carries an idempotency key: a call whose answer was lost
    # may be sent again (the vendor replays it). Without one it is never resent.
    idempotent: bool = False
    confidence: RefundConfidence = RefundConfidence.CONFIRMED


class Provider(ABC):
    """Base class of every provider. Subclasses set the class attributes and
    implement ``initiate``, ``fetch_status`` and ``parse_callback``; those
    that declare ``refunds.supported`` implement ``refund`` and
    ``refund_status``, and those with ``has_history`` implement ``history``
    (``payments.checks`` holds them to it)."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    currencies: ClassVar[tuple[str, ...]] = ()
    countries: ClassVar[tuple[str, ...]] = ()
    methods: ClassVar[tuple[Method, ...]] = ()
    required_settings: ClassVar[tuple[str, ...]] = ()
    has_status_api: ClassVar[bool] = True
    # Providers that document a minimum polling interval (Novasend: 5–10 s).
    min_poll_interval: ClassVar[int] = 5
    # Lifetime of one attempt at the provider (seconds); None → PAYMENT_TTL.
    payment_ttl: ClassVar[int | None] = None
    minimum_amount: ClassVar[int] = 1
    # How long after our deadline the vendor may still take money on an
    # attempt we ended (its link or push still open): we keep checking that
    # long. Config key ``late_payment_window`` overrides it.
    late_payment_window: ClassVar[int] = 24 * 3600
    # True when the vendor's callbacks name only its own reference (LengoPay's
    # pay_id): one can then arrive before the create answer is stored, and is
    # linked when it is. Callbacks that carry our reference always find it.
    callbacks_may_precede_reference: ClassVar[bool] = False
    # Body encodings the vendor's callbacks use; any other gets a 415.
    callback_content_types: ClassVar[tuple[str, ...]] = (JSON,)
    # Hosts the vendor sends shoppers to (its payment pages), from its docs;
    # ``<PROVIDER>_REDIRECT_HOSTS`` replaces the list. Nothing else is followed.
    redirect_hosts: ClassVar[tuple[str, ...]] = ()
    # Refunds through the vendor's API; none by default (staff refund outside
    # the shop and record it).
    refunds: ClassVar[RefundSupport] = RefundSupport()
    # The vendor lists many transactions in one call (reconciliation).
    has_history: ClassVar[bool] = False

    def __init__(self, config: dict | None = None, timeout: tuple[float, float] | None = None):
        self.config = dict(
            config if config is not None else settings.PAYMENT_PROVIDERS.get(self.code, {})
        )
        self.base_url = self.config.get("base_url", "").rstrip("/")
        self.timeout = timeout or settings.PAYMENT_HTTP_TIMEOUT
        self._session: requests.Session | None = None
        self.exchanges: list[dict] = []

    @property
    def session(self) -> requests.Session:
        """One ``requests.Session`` per provider and thread, kept between
        calls so the TLS connection to the vendor is reused (keep-alive), and
        created on first use: listing the offers at checkout builds every
        provider without opening anything."""
        if self._session is None:
            sessions = _sessions.__dict__.setdefault("by_provider", {})
            if self.code not in sessions:
                session = requests.Session()
                # Shared by every payment of this thread: no cookie may carry over.
                session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
                sessions[self.code] = session
            self._session = sessions[self.code]
        return self._session

    # --- what checkout needs -------------------------------------------------
    def is_configured(self) -> bool:
        return bool(self.base_url) and all(self.config.get(key) for key in self.required_settings)

    def supports(self, currency: str) -> bool:
        return currency in self.currencies

    def method(self, code: str) -> Method | None:
        return next((m for m in self.methods if m.code == code), None)

    def allowed_redirect(self, url: str) -> bool:
        """True when ``url`` may be shown to a shopper as this provider's page:
        ``https`` (plain ``http`` only with the sandbox or ``DEBUG``) on a host
        of ``redirect_hosts`` (configured, else the module's), or the shop's
        own host while the sandbox stands in for the vendors."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        if parts.username or parts.password or not host:
            return False
        relaxed = bool(settings.PAYMENTS_SANDBOX or settings.DEBUG)
        if parts.scheme != "https" and not (relaxed and parts.scheme == "http"):
            return False
        allowed = {
            h.strip().lower()
            for h in (self.config.get("redirect_hosts") or self.redirect_hosts)
            if h and h.strip()
        }
        if settings.PAYMENTS_SANDBOX:
            allowed.add((urlsplit(settings.SITE_URL).hostname or "").lower())
        return host in allowed

    # --- the contract ----------------------------------------------------------
    @abstractmethod
    def initiate(self, request: PaymentRequest) -> Initiation: ...

    @abstractmethod
    def fetch_status(self, payment: PaymentView) -> StatusResult: ...

    @abstractmethod
    def parse_callback(self, body: bytes, headers: dict[str, str]) -> CallbackInfo: ...

    # --- optional capabilities (declared by ``refunds`` / ``has_history``) -------
    def refunds_enabled(self) -> bool:
        """True when a refund may be sent through this vendor's API: declared
        supported and, for an API we could not confirm, switched on by its
        ``<PROVIDER>_REFUNDS_ENABLED`` setting."""
        if not self.refunds.supported:
            return False
        if self.refunds.confidence == RefundConfidence.CONFIRMED:
            return True
        return str(self.config.get("refunds_enabled") or "").strip().lower() in TRUE_WORDS

    def refund(
        self, reference: str, payment: PaymentView, amount: int, payee: str, reason: str
    ) -> StatusResult:
        """Ask the vendor to give ``amount`` of ``payment`` back to ``payee``
        (``reference`` is ours, the idempotency key where the vendor has one).
        A refund is "succeeded" only on an answer naming a refund reference of
        its own, not the payin's."""
        raise NotImplementedError(f"{self.code} declares no refund API")

    def refund_status(
        self, reference: str, provider_reference: str, payment: PaymentView
    ) -> StatusResult:
        raise NotImplementedError(f"{self.code} declares no refund API")

    def history(self) -> dict[str, StatusResult] | None:
        """Recent transactions by the vendor's reference (reconciliation)."""
        return None

    # --- plumbing --------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        return {}

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict | None = None,
        params: dict | None = None,
    ) -> requests.Response:
        """One HTTP call with timeouts; returns the response for any status
        below 500 except 429, raises ``ProviderError`` otherwise."""
        url = self.base_url + path
        all_headers = {"Accept": "application/json", **self.auth_headers(), **(headers or {})}
        record: dict[str, Any] = {
            "method": method,
            "url": url,
            "headers": redact_headers(all_headers),
            "params": redact(params) if params else None,
            "body": redact(json_body) if json_body is not None else None,
        }
        self.exchanges.append(record)  # completed below; scrubbed in ``exchanges_for_journal``
        started = time.monotonic()
        try:
            # Never follow a redirect: requests would forward credential headers
            # (Apikey, api-key) to whatever host the Location names.
            response = self.session.request(
                method,
                url,
                json=json_body,
                headers=all_headers,
                params=params,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            record.update(error="timeout", elapsed_ms=int((time.monotonic() - started) * 1000))
            # A read timeout after sending: the provider may have acted.
            raise ProviderError(
                f"{self.code}: timeout",
                kind="timeout",
                retryable=True,
                unknown=not isinstance(exc, requests.ConnectTimeout),
                reached=not isinstance(exc, requests.ConnectTimeout),
            ) from exc
        except requests.RequestException as exc:
            record.update(
                error=f"connection: {type(exc).__name__}",
                elapsed_ms=int((time.monotonic() - started) * 1000),
            )
            raise ProviderError(
                f"{self.code}: connection error {type(exc).__name__}",
                kind="connection",
                retryable=True,
                reached=not _never_connected(exc),
            ) from exc
        record.update(
            status=response.status_code,
            elapsed_ms=int((time.monotonic() - started) * 1000),
            response=self._journal_body(response),
        )
        if 300 <= response.status_code < 400:
            raise ProviderError(
                f"{self.code}: HTTP {response.status_code} redirect not followed",
                kind="redirect",
                status_code=response.status_code,
            )
        if response.status_code == 429:
            raise ProviderError(
                f"{self.code}: rate limited",
                kind="rate_limited",
                status_code=429,
                retryable=True,
                retry_after=_retry_after(response),
            )
        if response.status_code >= 500:
            raise ProviderError(
                f"{self.code}: HTTP {response.status_code}",
                kind="http",
                status_code=response.status_code,
                retryable=True,
            )
        return response

    def exchanges_for_journal(self) -> list[dict]:
        """The recorded exchanges with every configured credential masked,
        whatever key it travelled under."""
        return [scrub(record, credentials_of(self.config)) for record in self.exchanges]

    @staticmethod
    def _journal_body(response: requests.Response) -> Any:
        """The answer as journalled: redacted JSON, or its first bytes when it
        is not JSON, too deep, or larger than ``JOURNAL_MAX_BYTES``."""
        content = response.content
        if not content:
            return None
        if len(content) > JOURNAL_MAX_BYTES:
            return {
                "truncated_body": content[:2000].decode("utf-8", "replace"),
                "size": len(content),
            }
        try:
            return redact(response.json())
        except (ValueError, RecursionError):
            return {"non_json_body": response.text[:500]}

    @staticmethod
    def json_object(response: requests.Response) -> dict | None:
        """The body as a JSON object, or None (HTML error page, truncated JSON, a list)."""
        try:
            data = response.json()
        except (ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None

    @classmethod
    def load_callback_fields(cls, body: bytes, headers: dict[str, str]) -> dict:
        """A callback body as a dict, JSON or form-encoded by its
        ``Content-Type``; form values are strings (the last of a repeated key).
        Anything else, or a NUL anywhere, is ``CallbackRejected``."""
        if content_type(headers) == FORM:
            try:
                text = body.decode("utf-8")
                pairs = parse_qsl(
                    text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=200
                )
            except (UnicodeDecodeError, ValueError) as exc:
                raise CallbackRejected("malformed form body") from exc
            data = dict(pairs)
            if _has_nul(data):
                raise CallbackRejected("NUL character in the body")
            return data
        return cls.load_json_object(body)

    @staticmethod
    def load_json_object(body: bytes) -> dict:
        """A callback body as a JSON object, or ``CallbackRejected``."""
        try:
            data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise CallbackRejected("malformed JSON body") from exc
        if not isinstance(data, dict):
            raise CallbackRejected("JSON body is not an object")
        try:
            if _has_nul(data):
                raise CallbackRejected("NUL character in the body")
        except RecursionError as exc:
            raise CallbackRejected("JSON body nested too deeply") from exc
        return data


def header(headers: dict[str, str], name: str) -> str | None:
    """A request header by name, whatever its case."""
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), None)


def content_type(headers: dict[str, str]) -> str:
    """The media type of a request, lower case, without its parameters."""
    return (header(headers, "Content-Type") or "").split(";", 1)[0].strip().lower()


def _has_nul(data: Any) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_has_nul(item) for item in data)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON here")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
