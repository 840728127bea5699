from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taskloom.definitions import InvalidInput
from taskloom.server.period import parse_duration, resolve_period

NOW = datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 11, 23, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15m", 900),
        ("2h 30m", 9_000),
        ("2h30m", 9_000),
        (" 1d 2h ", 93_600),
        ("90s", 90),
        ("1w", 604_800),
        ("1.5h", 5_400),
        ("2H 5M", 7_500),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert resolve_period(text, NOW) == (NOW - seconds, None)


def test_today_and_yesterday_are_utc_calendar_days() -> None:
    assert resolve_period("today", NOW) == (MIDNIGHT, None)
    assert resolve_period("Yesterday", NOW) == (MIDNIGHT - 86_400, MIDNIGHT)


@pytest.mark.parametrize(
    "text", ["", "   ", "15", "m", "15x", "2h foo", "abc", "2h 2h", "0m", "-5m", "5m,", "tomorrow"]
)
def test_malformed_periods_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_period(text, NOW)
    assert caught.value.code == "BAD_USER_INPUT"
    assert caught.value.errors[0]["loc"] == ["period"]
