"""Stored times to datetimes: the store keeps instants as epoch seconds
(floats), the read models show them as UTC datetimes."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(value: float | None) -> datetime | None:
    """Truncated (not rounded) to the microsecond, so a time read back from
    a run works as an inclusive lower / exclusive upper filter bound."""
    return None if value is None else exact_datetime(value)


def exact_datetime(value: float) -> datetime:
    """`to_datetime` of a time that is never None."""
    micros = math.floor(value * 1e6)
    # value * 1e6 may round up to the next whole microsecond; the datetime
    # must not be later than `value`, or it would not work as a bound.
    if micros / 1_000_000 > value:
        micros -= 1
    return _EPOCH + timedelta(microseconds=micros)


def datetimes(*values: float | None) -> list[Any]:
    """`to_datetime` of each value, converting equal ones once: a run's
    created, scheduled and due times are usually one instant, and so are its
    finished and updated times (datetimes are immutable, so sharing is safe)."""
    converted: dict[float, datetime] = {}
    out: list[datetime | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        found = converted.get(value)
        if found is None:
            found = converted[value] = exact_datetime(value)
        out.append(found)
    return out
