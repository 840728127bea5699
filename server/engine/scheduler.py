"""The scheduler: triggers one run per due tick of each definition that
declares `schedule = "<cron>"` (with `schedule_timezone`, default UTC), and
of each schedule made through the API (`createSchedule`, read from the
database every round, so one made by another process fires too).

* Exactly once per tick, even with several workers: the run's idempotency
  key is `schedule:<tick in ISO 8601>` (an API schedule's
  `schedule:<its id>:<tick>`) and (definition, key) is unique.
* After downtime, missed ticks are skipped except the latest: a due
  schedule fires the latest tick at or before now, then moves to the first
  tick after now.
* Disabled schedules (`setScheduleEnabled`) don't fire; enabling one starts
  from its next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taskloom.server.engine.outage import OutageLog
from taskloom.server.store.api_schedules import due_api_schedules, next_api_tick
from taskloom.server.store.new_runs import (
    TICK_KEY_PREFIX,
    concurrency_key_of,
    life_bounds,
    new_run_row,
)
from taskloom.server.store.schedules import (
    FireTick,
    ScheduleKey,
    SkipTick,
    SyncSchedules,
    due_schedules,
)

if TYPE_CHECKING:
    from croniter import croniter

    from taskloom.definitions.definition import TaskDefinition
    from taskloom.definitions.registry import Registry
    from taskloom.server.store.database import Database

log = logging.getLogger("taskloom.scheduler")
MAX_SLEEP = 5.0

# The service's input preparation (checks and `on_before_trigger`): what a
# tick's run gets as input, as a trigger would.
PrepareInput = Callable[[Any, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class DueTick:
    """A due schedule, a definition's own or one made through the API, as
    firing it needs it."""

    key: ScheduleKey
    definition_id: str
    expression: str
    timezone: str
    next_run_at: float
    key_prefix: str  # the run's idempotency key, before the tick's time
    label: str  # for the log
    input: Any = None  # an API schedule's (a definition's: `schedule_input`)
    created_by: str | None = None


def _api_tick(row: Any) -> DueTick:
    return DueTick(
        ScheduleKey(row["id"], api=True),
        row["definition_id"],
        row["expression"],
        row["timezone"],
        float(row["next_run_at"]),
        f"{TICK_KEY_PREFIX}{row['id']}:",
        f"schedule {row['id']} of {row['definition_id']}",
        row["input"],
        row["created_by"],
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _croniter() -> type[croniter]:
    # Imported on first use: most workers have no schedule to read.
    from croniter import croniter

    return croniter


def check_expression(expression: str, timezone: str) -> None:
    if not _croniter().is_valid(expression):
        raise ValueError(f"invalid cron expression {expression!r}")
    zone(timezone)


def next_tick(expression: str, timezone: str, after: float) -> float:
    """The first tick strictly after `after` (epoch seconds)."""
    start = datetime.fromtimestamp(after, zone(timezone))
    value: datetime = _croniter()(expression, start).get_next(datetime)
    return value.timestamp()


def latest_tick(expression: str, timezone: str, now: float) -> float:
    """The latest tick at or before `now`."""
    start = datetime.fromtimestamp(now + 1e-3, zone(timezone))
    value: datetime = _croniter()(expression, start).get_prev(datetime)
    return value.timestamp()


def scheduled(definitions: Any) -> dict[str, tuple[str, str]]:
    """definition id -> (expression, timezone) of the scheduled definitions."""
    found: dict[str, tuple[str, str]] = {}
    for definition in definitions:
        expression = getattr(definition, "schedule", None)
        if expression:
            timezone = str(getattr(definition, "schedule_timezone", "UTC") or "UTC")
            check_expression(expression, timezone)
            found[definition.id] = (expression, timezone)
    return found


class Scheduler:
    def __init__(
        self,
        database: Database,
        registry: Registry,
        prepare_input: PrepareInput,
        clock: Callable[[], float],
    ) -> None:
        self.database = database
        self.registry = registry
        self.prepare_input = prepare_input
        self.clock = clock
        self.schedules = scheduled(registry)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage = OutageLog(log)

    async def start(self) -> None:
        if self.schedules:
            now = self.clock()
            wanted = {
                ident: (expression, timezone, next_tick(expression, timezone, now))
                for ident, (expression, timezone) in self.schedules.items()
            }
            await self.database.run_write(SyncSchedules(wanted, now))
        self._task = asyncio.create_task(self._loop(), name="taskloom-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.fire_due()
            except Exception as exc:
                self._outage.failed("a scheduler round", exc)
            else:
                self._outage.worked()
            self._wake.clear()
            try:
                sleep = await self._sleep_seconds()
            except Exception:
                sleep = MAX_SLEEP  # the database is away: the next round reports it
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a
            # cancellation (stop()) that comes as the wake-up does.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(sleep):
                    await self._wake.wait()

    async def _sleep_seconds(self) -> float:
        now = self.clock()
        upcoming = [next_tick(e, tz, now) for e, tz in self.schedules.values()]
        known = [definition.id for definition in self.registry]
        api_tick = await self.database.read(lambda c: next_api_tick(c, known))
        if api_tick is not None:
            upcoming.append(api_tick)
        return max(0.05, min([MAX_SLEEP, *(t - now for t in upcoming)]))

    async def fire_due(self) -> list[str]:
        """Fires every due schedule once; returns the ids of runs created."""
        now = self.clock()
        database = self.database
        known = [definition.id for definition in self.registry]
        due = [
            self._class_tick(row)
            for row in await database.read(lambda c: due_schedules(c, now, list(self.schedules)))
        ]
        due += map(_api_tick, await database.read(lambda c: due_api_schedules(c, now, known)))
        created: list[str] = []
        for tick in due:
            following = next_tick(tick.expression, tick.timezone, now)
            try:
                run_id = await self._fire(tick, now, following)
            except Exception:
                # A tick that cannot be triggered (e.g. its input is refused)
                # is skipped, so it neither repeats nor holds up the others.
                log.exception("%s: the tick could not be triggered", tick.label)
                await database.run_write(SkipTick(tick.key, following, now))
                continue
            if run_id is not None:
                created.append(run_id)
        return created

    def _class_tick(self, row: Any) -> DueTick:
        ident = row["definition_id"]
        expression, timezone = self.schedules[ident]
        return DueTick(
            ScheduleKey(ident),
            ident,
            expression,
            timezone,
            float(row["next_run_at"]),
            TICK_KEY_PREFIX,
            f"schedule of {ident}",
        )

    async def _fire(self, due: DueTick, now: float, following: float) -> str | None:
        """Triggers the latest due tick of one schedule; the run's id if this
        call created it (None: another worker already had)."""
        tick = min(max(latest_tick(due.expression, due.timezone, now), due.next_run_at), now)
        definition: type[TaskDefinition[Any]] = self.registry.get(due.definition_id)
        raw = due.input if due.key.api else definition.schedule_input
        data = await self.prepare_input(definition, raw)
        at = datetime.fromtimestamp(tick, zone("UTC")).isoformat()
        local = datetime.fromtimestamp(tick, zone(due.timezone)).isoformat()
        deadline_seconds, expires_at = life_bounds(definition, now)
        run = new_run_row(
            definition_id=definition.id,
            input=data,
            now=now,
            run_at=now,
            name=f"{definition.id} @ {local}",
            idempotency_key=due.key_prefix + at,
            concurrency_key=concurrency_key_of(definition, data),
            deadline_seconds=deadline_seconds,
            expires_at=expires_at,
            created_by=due.created_by,
        )
        # Announced by its commit.
        fire = FireTick(due.key, tick, following, run, now)
        created, saved = await self.database.run_write(fire)
        return str(saved["id"]) if created else None
