"""Keep secrets and personal numbers out of PaymentEvent rows and logs.

Credentials never leave ``settings.PAYMENT_PROVIDERS``: headers that carry
them are replaced, OTPs are dropped, phone numbers keep their last 2 digits.
The logging filter also scrubs every configured credential value from any
log message, as a last line of defence.
"""

import logging
import re
from collections.abc import Mapping
from typing import Any

SECRET_HEADERS = {
    "authorization",
    "apikey",
    "api-key",
    "x-api-key",
    "cookie",
    "x-novasend-signature",
    "x-signature",
    "x-signature-value",
}
SECRET_KEYS = {
    "otp",
    "password",
    "pin",
    "api_key",
    "apikey",
    "api-key",
    "token_secret",
    "license_key",
    "secret",
    "websiteid",
    "accountid",
}
# Every key a vendor puts a wallet number under (lower case): Ligdicash
# ``customer``, Novasend ``recipient``/``phoneNumber``, DEXCHANGE ``Number`` /
# ``PHONE_NUMBER``, LengoPay ``account`` (v2) / ``Client`` (v1), Lygos ``phone``.
PHONE_KEYS = {
    "msisdn",
    "phone",
    "phonenumber",
    "phone_number",
    "number",
    "recipient",
    "customer",
    "account",
    "client",
    "clientphone",
    "customer_phone",
    "payer_phone",
    "payer",
    "mobile",
    "telephone",
}
MASK = "***"


def mask_phone(value: Any) -> Any:
    text = str(value)
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6:
        return value
    return MASK + digits[-2:]


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def mask_phones_in_body(body: bytes) -> bytes:
    """A raw callback body with the value of every phone key masked in place
    (JSON ``"key": "value"`` / ``"key": 123`` and form ``key=value``); every
    other byte is kept, so the body still parses as it came."""
    if not body:
        return body
    text = body.decode("utf-8", "replace")
    text = _JSON_PHONE.sub(lambda m: m.group(1) + _masked_literal(m.group(2)), text)
    text = _FORM_PHONE.sub(lambda m: m.group(1) + _masked_form(m.group(2)), text)
    return text.encode("utf-8")


def _masked_literal(literal: str) -> str:
    if literal.startswith('"'):
        inner = literal[1:-1]
        masked = mask_phone(inner)
        return f'"{masked}"' if masked != inner else literal
    masked = mask_phone(literal)
    return f'"{masked}"' if masked != literal else literal


def _masked_form(value: str) -> str:
    masked = mask_phone(value)
    return masked.replace("*", "%2A") if masked != value else value


_KEYS = "|".join(sorted((re.escape(k) for k in PHONE_KEYS), key=len, reverse=True))
_JSON_PHONE = re.compile(r'("(?i:' + _KEYS + r')"\s*:\s*)("[^"\\]*"|\d+)')
_FORM_PHONE = re.compile(r"((?:^|&)(?i:" + _KEYS + r")=)([^&]*)")


def redact(data: Any, _depth: int = 0) -> Any:
    """A copy of a JSON-like structure with secrets removed (NUL characters
    replaced in keys and values: PostgreSQL refuses them in text)."""
    if _depth > 50:
        return "[nested too deeply]"
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            if isinstance(key, str) and "\x00" in key:
                key = key.replace("\x00", "\ufffd")
            lowered = str(key).lower()
            if lowered in SECRET_KEYS:
                out[key] = MASK if value else value
            elif lowered in PHONE_KEYS and isinstance(value, (str, int)) and value:
                out[key] = mask_phone(value)
            else:
                out[key] = redact(value, _depth + 1)
        return out
    if isinstance(data, list):
        return [redact(item, _depth + 1) for item in data]
    if isinstance(data, str) and "\x00" in data:
        return data.replace("\x00", "\ufffd")  # PostgreSQL refuses NUL in text
    return data


def scrub(data: Any, secrets: list[str]) -> Any:
    """A copy of ``data`` where every string containing one of ``secrets``
    (a provider's configured credentials) has it replaced by the mask."""
    if isinstance(data, Mapping):
        return {key: scrub(value, secrets) for key, value in data.items()}
    if isinstance(data, list):
        return [scrub(item, secrets) for item in data]
    if isinstance(data, str):
        for secret in secrets:
            if secret and secret in data:
                data = data.replace(secret, MASK)
    return data


def credentials_of(config: Mapping[str, Any]) -> list[str]:
    """The credential strings of one provider's settings (not its base URL)."""
    values: list[str] = []
    for key, value in config.items():
        if key in ("base_url", "status_path"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and len(item) >= 4:
                values.append(item)
    return values


def configured_secrets() -> list[str]:
    from django.conf import settings

    values: list[str] = []
    for config in getattr(settings, "PAYMENT_PROVIDERS", {}).values():
        values.extend(credentials_of(config))
    return values


class RedactingFilter(logging.Filter):
    """Replaces any configured credential that slipped into a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            return True
        cleaned = message
        for secret in configured_secrets():
            if secret in cleaned:
                cleaned = cleaned.replace(secret, MASK)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_record_factory() -> None:
    """Redact every log record at creation, whatever handler or library
    (Celery replaces handlers) formats it later. Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return
    redactor = RedactingFilter()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        redactor.filter(record)
        return record

    factory.redacting = True
    logging.setLogRecordFactory(factory)
