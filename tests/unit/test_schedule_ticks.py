from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from taskloom.server.engine.scheduler import latest_tick, next_tick, scheduled

NOW = datetime(2026, 11, 23, 10, 7, 30, tzinfo=UTC).timestamp()


def at(year: int, month: int, day: int, hour: int, minute: int, tz: str = "UTC") -> float:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz)).timestamp()


def test_next_and_latest_ticks() -> None:
    assert next_tick("*/5 * * * *", "UTC", NOW) == at(2026, 11, 23, 10, 10)
    assert latest_tick("*/5 * * * *", "UTC", NOW) == at(2026, 11, 23, 10, 5)
    on_tick = at(2026, 11, 23, 10, 5)
    assert latest_tick("*/5 * * * *", "UTC", on_tick) == on_tick
    assert next_tick("*/5 * * * *", "UTC", on_tick) == at(2026, 11, 23, 10, 10)


def test_ticks_follow_the_time_zone() -> None:
    tick = next_tick("0 9 * * *", "Europe/Paris", NOW)
    assert tick == at(2026, 11, 24, 9, 0, tz="Europe/Paris")
    assert datetime.fromtimestamp(tick, UTC).hour == 8


class Bad:
    id = "bad"
    schedule = "every five minutes"


class BadZone:
    id = "bad-zone"
    schedule = "* * * * *"
    schedule_timezone = "Mars/Olympus"


class Good:
    id = "good"
    schedule = "*/5 * * * *"


@pytest.mark.parametrize("definition", [Bad, BadZone])
def test_invalid_schedules_fail_fast(definition: Any) -> None:
    with pytest.raises(ValueError):
        scheduled([definition])


def test_scheduled_lists_only_scheduled_definitions() -> None:
    assert scheduled([Good, object]) == {"good": ("*/5 * * * *", "UTC")}
