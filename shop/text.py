"""Free text typed by a shopper, made safe to store and compare."""

from __future__ import annotations

import re
import unicodedata

# Bidi overrides/isolates and zero-width characters: invisible, and used to
# disguise text. Removed from every free-text field.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def clean_text(value: str) -> str:
    """NFC, without invisible characters, stripped."""
    value = unicodedata.normalize("NFC", value or "")
    return INVISIBLE.sub("", value).strip()
