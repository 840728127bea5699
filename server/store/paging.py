"""Opaque cursors, and the slice of rows a page query returns."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

from taskloom.definitions.errors import InvalidInput

# One encoder for all cursors (json.dumps with options builds one per call).
_compact = json.JSONEncoder(separators=(",", ":")).encode
_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _json(value: Any) -> str:
    """`_compact(value)`, written directly for what cursors hold (a run's id,
    priority, finish time): a page encodes 50 cursors, and the encoder's
    set-up per call cost more than the encoding."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    return _compact(value)


def encode_cursor(values: list[Any]) -> str:
    raw = ("[" + ",".join(map(_json, values)) + "]").encode()
    return binascii.b2a_base64(raw, newline=False).translate(_URL_SAFE).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise InvalidInput(
            "malformed cursor", errors=[{"loc": ["after"], "message": "malformed cursor"}]
        ) from None
    if not isinstance(values, list) or len(values) != size:
        raise InvalidInput(
            "malformed cursor", errors=[{"loc": ["after"], "message": "malformed cursor"}]
        )
    return values


@dataclass(frozen=True)
class PageSlice:
    rows: list[Any]
    has_next: bool
