"""Rate limits in the claim: each start of a rate-limited run is recorded
in `rate_limit_starts`, and a claim admits a start only while fewer than
the limit's count were recorded within its period (a sliding window).

A start is a run's first claim or the first claim of a new attempt (its
`attempt_started_at` is not set yet); the further iterations of a started
attempt are never held back, so a limit never stalls a run midway. The
counting, the claim and the recording happen in the claim's transaction,
serialised as fair_claims.py says, so every worker of every process sees
one window."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, delete, func, insert, select

from taskloom.definitions.rate_limit import RateLimit
from taskloom.server.store import queries
from taskloom.server.store.models import rate_limit_starts as starts

NO_KEY = ""


def limit_key(per_key: bool, concurrency_key: str | None) -> str:
    """The window a run counts in: its concurrency key when the limit holds
    per key (runs without one share the NO_KEY window), else NO_KEY."""
    return (concurrency_key or NO_KEY) if per_key else NO_KEY


def window_counts(
    conn: Connection, definition_id: str, rate: RateLimit, now: float
) -> Counter[str]:
    """Starts of the definition within the period ending now, by limit key;
    older ones are deleted first."""
    since = now - rate.period
    conn.execute(
        delete(starts).where(starts.c.definition_id == definition_id, starts.c.started_at <= since)
    )
    found = conn.execute(
        select(starts.c.limit_key, func.count())
        .where(starts.c.definition_id == definition_id, starts.c.started_at > since)
        .group_by(starts.c.limit_key)
    ).all()
    return Counter({key: int(n) for key, n in found})


def record_starts(conn: Connection, started: Iterable[tuple[str, str]], now: float) -> None:
    """Records the starts (definition id, limit key) a claim just made."""
    rows = [{"definition_id": d, "limit_key": k, "started_at": now} for d, k in started]
    if rows:
        conn.execute(insert(starts), rows)


def next_free_at(conn: Connection, rates: Mapping[str, RateLimit], now: float) -> float | None:
    """When the earliest start within any of these definitions' windows
    leaves its window: the soonest a held-back start may be admitted."""
    soonest = None
    for definition_id, rate in rates.items():
        oldest = conn.execute(
            select(func.min(starts.c.started_at)).where(
                starts.c.definition_id == definition_id, starts.c.started_at > now - rate.period
            )
        ).scalar()
        if oldest is not None:
            free_at = float(oldest) + rate.period
            soonest = free_at if soonest is None else min(soonest, free_at)
    return soonest


def next_claim_at(
    conn: Connection, definitions: list[str], rates: Mapping[str, RateLimit], now: float
) -> float | None:
    """When an idle worker should claim again: the next due run of
    `definitions` (those without limits), or the soonest a rate-limited
    start may be admitted."""
    times = [queries.next_due_at(conn, definitions)]
    if rates:
        times.append(next_free_at(conn, rates, now))
    return min((t for t in times if t is not None), default=None)


def exhausted(
    conn: Connection,
    wanted: Iterable[tuple[str, str | None]],
    rates: Mapping[str, tuple[RateLimit, bool]],
    now: float,
) -> set[tuple[str, str | None]]:
    """Which (definition id, concurrency key) pairs have no start left in
    their window now: a due run of one is held back by its rate limit."""
    held = set()
    for definition_id, key in set(wanted):
        if definition_id not in rates:
            continue
        rate, per_key = rates[definition_id]
        count = conn.execute(
            select(func.count()).where(
                starts.c.definition_id == definition_id,
                starts.c.limit_key == limit_key(per_key, key),
                starts.c.started_at > now - rate.period,
            )
        ).scalar()
        if int(count or 0) >= rate.count:
            held.add((definition_id, key))
    return held
