"""How a claim chooses its runs under concurrency limits, and on its turns
against starvation (claims.Claim's `limits` and `oldest_first`).

* `concurrency = N`: at most N RUNNING runs of the definition.
* `concurrency_per_key = N`: at most N RUNNING runs per `concurrency_key`
  (computed from the input at trigger time and stored on the run).
* `rate_limit = "N/period"`: at most N starts within any period, per
  concurrency key with `rate_limit_key` (store/rate_limits.py).
* Runs of a paused definition are not claimed (store/definition_pauses.py).
* Runs over a limit stay PENDING and are skipped, so they never block other
  definitions' runs or other keys.
* Starvation: claims take the highest priority first, but every
  `FIFO_EVERY`-th claim of a worker takes due runs oldest-due-first whatever
  their priority: creation order, which no caller can set (a `runAt` in the
  past is taken as now, new_runs.due_after). A due run therefore waits at
  most for the due runs created before it, at a rate of at least one
  oldest-first claim in `FIFO_EVERY`, however many higher-priority runs keep
  arriving.

Counting and claiming happen in one transaction. SQLite serialises it with
`BEGIN IMMEDIATE`; on PostgreSQL a transaction-scoped advisory lock
serialises the limited claims of every process (unlimited claims don't take
it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import RowMapping

from taskloom.definitions.rate_limit import RateLimit
from taskloom.server.store import rate_limits
from taskloom.server.store.definition_pauses import not_paused
from taskloom.server.store.models import has_status, runs
from taskloom.server.store.postgres.planning import planned_without_sort
from taskloom.server.store.transitions import PENDING, RUNNING

FIFO_EVERY = 10
SCAN_PER_KEY = 500
ADVISORY_LOCK = 0x7A5C_100F


@dataclass(frozen=True)
class Limit:
    concurrency: int | None = None
    per_key: int | None = None
    # A rate limit on starts (store/rate_limits.py), per concurrency key
    # when `rate_per_key`.
    rate: RateLimit | None = None
    rate_per_key: bool = False


def limits_of(definitions: Any) -> dict[str, Limit]:
    """The limits declared by the given definitions (ids without limits are left out)."""
    found: dict[str, Limit] = {}
    for definition in definitions:
        concurrency = getattr(definition, "concurrency", None)
        per_key = getattr(definition, "concurrency_per_key", None)
        spec = getattr(definition, "rate_limit", None)
        rate = None if spec is None else RateLimit.parse(spec)
        if concurrency is not None or per_key is not None or rate is not None:
            rate_per_key = bool(getattr(definition, "rate_limit_key", False))
            found[definition.id] = Limit(concurrency, per_key, rate, rate_per_key)
    return found


def one_priority(conn: Connection) -> bool:
    """Whether all PENDING runs share one priority: two index probes."""
    pending = select(runs.c.priority).where(has_status(PENDING)).limit(1)
    highest = conn.execute(pending.order_by(runs.c.priority.desc())).scalar()
    lowest = conn.execute(pending.order_by(runs.c.priority)).scalar()
    return highest == lowest


def due_runs(
    conn: Connection,
    definitions: list[str],
    limit: int,
    now: float,
    oldest_first: bool,
    started_only: bool = False,
) -> list[RowMapping]:
    """Due runs of unpaused `definitions` in the claim's order (`started_only`:
    only runs whose attempt has started, which no rate limit holds back)."""
    if oldest_first:
        order = [runs.c.created_at, runs.c.id]
    else:
        order = [runs.c.priority.desc(), runs.c.run_at, runs.c.id]
    query = (
        select(
            runs.c.id,
            runs.c.priority,
            runs.c.run_at,
            runs.c.created_at,
            runs.c.definition_id,
            runs.c.concurrency_key,
            runs.c.attempt_started_at,
        )
        .where(has_status(PENDING), runs.c.run_at <= now, not_paused())
        .where(runs.c.definition_id.in_(definitions))
        .order_by(*order)
        .limit(limit)
    )
    if started_only:
        query = query.where(runs.c.attempt_started_at.is_not(None))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    # The oldest-first turn's order is in no index: that one sorts.
    with nullcontext() if oldest_first else planned_without_sort(conn):
        return list(conn.execute(query).mappings())


def admitted(
    conn: Connection,
    definition_id: str,
    limit: Limit,
    wanted: int,
    now: float,
    oldest_first: bool,
    starts_at: dict[str, float],
) -> list[RowMapping]:
    """The definition's due runs its limits admit; each run that starts
    under its rate limit gets its start's time in `starts_at`."""
    per_key: Counter[str | None] = Counter()
    if limit.concurrency is not None or limit.per_key is not None:
        running = conn.execute(
            select(runs.c.concurrency_key, func.count())
            .where(has_status(RUNNING), runs.c.definition_id == definition_id)
            .group_by(runs.c.concurrency_key)
        ).all()
        per_key.update({key: int(n) for key, n in running})
    free = wanted
    if limit.concurrency is not None:
        free = min(free, limit.concurrency - sum(per_key.values()))
    if free <= 0:
        return []
    rate = limit.rate
    slots = None if rate is None else rate_limits.slots(conn, definition_id, rate, now)
    # A window with no start left admits only runs already started.
    started_only = slots is not None and not limit.rate_per_key and slots.next("") is None
    by_key = limit.per_key is not None or (rate is not None and limit.rate_per_key)
    scan = max(free, SCAN_PER_KEY) if by_key else free
    chosen: list[RowMapping] = []
    for row in due_runs(conn, [definition_id], scan, now, oldest_first, started_only):
        key = row["concurrency_key"]
        if limit.per_key is not None and key is not None and per_key[key] >= limit.per_key:
            continue
        if slots is not None and row["attempt_started_at"] is None:
            at = slots.take(rate_limits.limit_key(limit.rate_per_key, key))
            if at is None:
                continue
            starts_at[row["id"]] = at
        if limit.per_key is not None and key is not None:
            per_key[key] += 1
        chosen.append(row)
        if len(chosen) >= free:
            break
    return chosen


def serialise(conn: Connection) -> None:
    """Waits for the limited claims of other transactions (PostgreSQL's
    advisory lock; SQLite's `BEGIN IMMEDIATE` has done it already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})


def choose(
    conn: Connection,
    definitions: list[str],
    limits: Mapping[str, Limit],
    wanted: int,
    now: float,
    oldest_first: bool,
    starts_at: dict[str, float],
) -> list[RowMapping]:
    """Up to `wanted` due runs to claim, within `limits`, in the claim's
    order (or oldest first), once `serialise`d; a run that starts under a rate limit gets its
    start's time in `starts_at` (now, or when its slot frees:
    store/rate_limits.py)."""
    free_running = [d for d in definitions if d not in limits]
    candidates = due_runs(conn, free_running, wanted, now, oldest_first) if free_running else []
    for definition_id, limit in limits.items():
        candidates.extend(
            admitted(conn, definition_id, limit, wanted, now, oldest_first, starts_at)
        )
    if oldest_first:
        candidates.sort(key=lambda r: (r["created_at"], r["id"]))
    else:
        candidates.sort(key=lambda r: (-r["priority"], r["run_at"], r["id"]))
    return candidates[:wanted]


def rate_limited_starts(
    claimed: list[RowMapping], limits: Mapping[str, Limit], starts_at: Mapping[str, float]
) -> list[tuple[str, str, float]]:
    """The (definition id, limit key, time) of each claimed run that starts
    an attempt under a rate limit: what the claim records."""
    found = []
    for row in claimed:
        at = starts_at.get(row["id"])
        limit = limits.get(row["definition_id"])
        if at is not None and limit is not None:
            key = rate_limits.limit_key(limit.rate_per_key, row["concurrency_key"])
            found.append((row["definition_id"], key, at))
    return found
