"""Opaque cursors and the filters lists accept."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

from definitions.errors import InvalidInput

MAX_PAGE = 500
DEFAULT_PAGE = 50


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


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise InvalidInput(
            "`first` must not be negative", errors=[{"loc": ["first"], "message": "must be >= 0"}]
        )
    return min(first, MAX_PAGE)


@dataclass(frozen=True)
class RunFilter:
    definition_id: str | None = None
    statuses: tuple[str, ...] | None = None
    parent_id: str | None = None
    name_contains: str | None = None
    has_errors: bool | None = None
    created_after: float | None = None
    created_before: float | None = None
    started_after: float | None = None
    started_before: float | None = None
    finished_after: float | None = None
    finished_before: float | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class LogFilter:
    run_id: str | None = None
    levels: tuple[str, ...] | None = None
    message_contains: str | None = None
    since: float | None = None
    until: float | None = None
    created_by: str | None = None
    # "today", "yesterday" or a duration back from now ("2h 30m", "15m");
    # combines with since/until (server/period.py).
    period: str | None = None


@dataclass(frozen=True)
class PageSlice:
    rows: list[Any]
    has_next: bool
