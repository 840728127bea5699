"""`period` strings for log filters: "today", "yesterday", or a duration
back from now such as "15m", "2h 30m", "1d 12h", "90s", "1w".

Days are calendar days in UTC. A malformed period is `InvalidInput`
(GraphQL: BAD_USER_INPUT). Pure: the caller passes the clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from taskloom.definitions.errors import InvalidInput

UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_TOKEN = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
MAX_SECONDS = 366 * 86_400 * 10


def _invalid(period: str, why: str, field: str = "period") -> InvalidInput:
    return InvalidInput(
        f"{field}: {why}: {period!r}",
        errors=[{"loc": [field], "message": why}],
    )


def parse_duration(text: str, field: str = "period") -> float:
    """Seconds in a duration like "2h 30m" (units s, m, h, d, w); a refusal
    is located at `field`."""
    compact = text.strip().lower()
    if not compact:
        raise _invalid(text, "empty period", field)
    position, total = 0, 0.0
    seen: set[str] = set()
    for match in _TOKEN.finditer(compact):
        between = compact[position : match.start()]
        if between.strip():
            raise _invalid(text, "expected numbers with units s, m, h, d or w", field)
        unit = match.group(2)
        if unit in seen:
            raise _invalid(text, f"unit {unit!r} given twice", field)
        seen.add(unit)
        total += float(match.group(1)) * UNITS[unit]
        position = match.end()
    if position == 0 or compact[position:].strip():
        words = "'today', 'yesterday' or " if field == "period" else ""
        raise _invalid(text, f"expected {words}a duration such as '2h 30m'", field)
    if total <= 0 or total > MAX_SECONDS:
        raise _invalid(text, "duration out of range", field)
    return total


def resolve_period(period: str, now: float) -> tuple[float, float | None]:
    """The [since, until) range, in epoch seconds, a period stands for."""
    word = period.strip().lower()
    if word in ("today", "yesterday"):
        midnight = datetime.fromtimestamp(now, UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        if word == "today":
            return midnight.timestamp(), None
        return (midnight - timedelta(days=1)).timestamp(), midnight.timestamp()
    return now - parse_duration(period), None
