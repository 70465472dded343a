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
SECRET_KEYS = {"otp", "password", "pin", "api_key", "apikey", "api-key", "token_secret", "license_key", "secret"}
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
    return data


def configured_secrets() -> list[str]:
    from django.conf import settings

    values = []
    for config in getattr(settings, "PAYMENT_PROVIDERS", {}).values():
        for key, value in config.items():
            if key == "base_url" or not value:
                continue
            values.extend(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and len(v) >= 6)
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
