"""Reading the vendor samples (tests/payments/vendor_samples/<provider>) and
comparing their shape with what the code and the sandbox send."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def sample_files(folder: Path) -> tuple[Callable[[str], bytes], Callable[[str], Any]]:
    """``raw(name)``, a sample's bytes, and ``load(name)``, it read as JSON."""

    def raw(name: str) -> bytes:
        return (folder / name).read_bytes()

    def load(name: str) -> Any:
        return json.loads(raw(name))

    return raw, load


def type_name(value: Any) -> str:
    return type(value).__name__


def shape(
    value: Any,
    *,
    lists: str = "first",
    depth: int | None = None,
    name: Callable[[Any], str] = type_name,
) -> Any:
    """Keys and value types, recursively: what the sandbox must share with a sample.

    ``lists``: "first" (the shape of the first item), "each" (of every item) or
    "leaf" (a list is a value); ``depth``: how many levels of objects are opened
    (None: all); ``name``: the name of a value's type."""
    if isinstance(value, dict) and depth != 0:
        inner = None if depth is None else depth - 1
        return {
            key: shape(item, lists=lists, depth=inner, name=name) for key, item in value.items()
        }
    if isinstance(value, list) and lists != "leaf":
        items = value[:1] if lists == "first" else value
        return [shape(item, lists=lists, depth=depth, name=name) for item in items]
    return name(value)
