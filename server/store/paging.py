"""Opaque cursors and the filters lists accept."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from definitions.errors import InvalidInput

MAX_PAGE = 500
DEFAULT_PAGE = 50


# One encoder for all cursors (json.dumps with options builds one per call).
_compact = json.JSONEncoder(separators=(",", ":")).encode


def encode_cursor(values: list[Any]) -> str:
    raw = _compact(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


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
