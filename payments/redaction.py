"""Keep secrets and personal numbers out of PaymentEvent rows and logs (S-8).

Credentials never leave ``settings.PAYMENT_PROVIDERS``: headers that carry
them are replaced, OTPs are dropped, phone numbers keep their last 2 digits.
The logging filter also scrubs every configured credential value from any
log message, as a last line of defence.
"""

import logging
import re
from collections.abc import Mapping
from typing import Any

SECRET_HEADERS = {"authorization", "apikey", "api-key", "x-api-key", "cookie", "x-novasend-signature", "x-signature"}
SECRET_KEYS = {"otp", "password", "pin", "api_key", "apikey", "api-key", "token_secret", "license_key", "secret", "websiteid", "accountid"}
PHONE_KEYS = {"msisdn", "phone", "phonenumber", "customer", "account", "clientphone", "customer_phone", "payer_phone"}
MASK = "***"


def mask_phone(value: Any) -> Any:
    text = str(value)
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6:
        return value
    return MASK + digits[-2:]


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def redact(data: Any) -> Any:
    """A copy of a JSON-like structure with secrets removed."""
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            lowered = str(key).lower()
            if lowered in SECRET_KEYS:
                out[key] = MASK if value else value
            elif lowered in PHONE_KEYS and isinstance(value, (str, int)) and value:
                out[key] = mask_phone(value)
            else:
                out[key] = redact(value)
        return out
    if isinstance(data, list):
        return [redact(item) for item in data]
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
