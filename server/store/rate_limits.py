"""Rate limits in the claim: each start of a rate-limited run is recorded
in `rate_limit_starts`, and a claim admits a start only while fewer than
the limit's count are recorded after `start - period` (a sliding window:
no window of the period holds more starts than the count).

A start is a run's first claim or the first claim of a new attempt (its
`attempt_started_at` is not set yet); the further iterations of a started
attempt are never held back, so a limit never stalls a run midway. The
counting, the claim and the recording happen in the claim's transaction,
serialised as fair_claims.py says, so every worker of every process sees
one window.

A start is recorded at the time its slot frees, not at the time of the
claim that takes it: a claim may take a start whose slot frees within the
limit's `lookahead` and gives the run that time as its `started_at`; its
worker calls `run()` no earlier (engine/worker.py). So a drain sustains
the limit, not only never exceeds it: were each start recorded when the
claim that took it ran, every generation of starts would come later by
the claim's latency (wake-up, queueing, the transaction), and a drain
would use less of the limit the busier the machine. A run so claimed
reads RUNNING, its `startedAt` at most the lookahead ahead. An idle worker
claims again when the next slot comes within the lookahead
(`next_claim_at`)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, delete, func, insert, null, select, union_all

from taskloom.definitions.rate_limit import RateLimit
from taskloom.server.store import queries
from taskloom.server.store.models import rate_limit_starts as starts

NO_KEY = ""
# How far ahead of its slot a start may be claimed: a fifth of the period,
# at most MAX_LOOKAHEAD seconds (a claimed run holds its worker's slot
# meanwhile).
LOOKAHEAD_SHARE = 0.2
MAX_LOOKAHEAD = 0.25


def limit_key(per_key: bool, concurrency_key: str | None) -> str:
    """The window a run counts in: its concurrency key when the limit holds
    per key (runs without one share the NO_KEY window), else NO_KEY."""
    return (concurrency_key or NO_KEY) if per_key else NO_KEY


def lookahead(rate: RateLimit) -> float:
    return min(rate.period * LOOKAHEAD_SHARE, MAX_LOOKAHEAD)


class Slots:
    """The start times a claim may give, window by window (limit key): now
    while the window holds fewer than the count, then the times at which
    its oldest starts leave it, within the lookahead; read in the claim's
    transaction (`slots`)."""

    def __init__(
        self, rate: RateLimit, now: float, counts: Counter[str], leaving: Mapping[str, list[float]]
    ) -> None:
        self.rate = rate
        self.now = now
        self.counts = counts
        self.leaving = leaving
        self.taken = Counter[str]()

    def next(self, key: str) -> float | None:
        """When the window's next start may be, or None: not within the lookahead."""
        # The start whose leaving frees the slot: the count-th newest,
        # counting the starts this claim has given.
        index = self.counts[key] - self.rate.count + self.taken[key]
        if index < 0:
            return self.now
        leaving = self.leaving.get(key, ())
        return leaving[index] + self.rate.period if index < len(leaving) else None

    def take(self, key: str) -> float | None:
        """The next start's time, given to a run; None: none is left."""
        at = self.next(key)
        if at is not None:
            self.taken[key] += 1
        return at


def slots(conn: Connection, definition_id: str, rate: RateLimit, now: float) -> Slots:
    """The definition's windows now, in one query (a claim's statements are
    its latency): the starts within the period ending now, counted by limit
    key, and, oldest first, those that leave it within the lookahead."""
    since = now - rate.period
    _forget_old(conn, definition_id, since, rate)
    mine = (starts.c.definition_id == definition_id, starts.c.started_at > since)
    counted = select(starts.c.limit_key, func.count(), null()).where(*mine)
    soon = select(starts.c.limit_key, null(), starts.c.started_at).where(
        *mine, starts.c.started_at <= since + lookahead(rate)
    )
    counts, leaving = Counter[str](), defaultdict[str, list[float]](list)
    for key, count, at in conn.execute(union_all(counted.group_by(starts.c.limit_key), soon)):
        if count is not None:
            counts[key] = int(count)
        else:
            leaving[key].append(float(at))
    for times in leaving.values():
        times.sort()
    return Slots(rate, now, counts, leaving)


# When each definition's starts were last cleared of those out of the
# window, by this process: at most twice a period (the window's reads skip
# them meanwhile).
_cleared: dict[str, float] = {}


def _forget_old(conn: Connection, definition_id: str, since: float, rate: RateLimit) -> None:
    if _cleared.get(definition_id, -math.inf) > since - rate.period / 2:
        return
    conn.execute(
        delete(starts).where(starts.c.definition_id == definition_id, starts.c.started_at <= since)
    )
    _cleared[definition_id] = since


def record_starts(conn: Connection, started: Iterable[tuple[str, str, float]]) -> None:
    """Records the starts (definition id, limit key, time) a claim just gave."""
    rows = [{"definition_id": d, "limit_key": k, "started_at": at} for d, k, at in started]
    if rows:
        conn.execute(insert(starts), rows)


def next_free_at(
    conn: Connection, rates: Mapping[str, RateLimit], now: float, claimed_at: float
) -> float | None:
    """When a claim should next look for a held-back start: when the next
    slot of these definitions' windows comes within the lookahead (perhaps
    already). A window frees a slot when its count-th newest start leaves
    it. A slot within the lookahead of the worker's last claim, at
    `claimed_at`, was offered to that claim and left untaken, no due run
    wanting it: it is no reason to claim again (a new run wakes the worker)."""
    soonest = None
    for definition_id, rate in rates.items():
        ahead = lookahead(rate)
        newer = func.row_number().over(
            partition_by=starts.c.limit_key, order_by=starts.c.started_at.desc()
        )
        window = (
            select(starts.c.started_at, newer.label("newer"))
            .where(starts.c.definition_id == definition_id)
            .where(starts.c.started_at > now - rate.period)
            .subquery()
        )
        leaving = conn.execute(
            select(func.min(window.c.started_at)).where(
                window.c.newer == rate.count,
                window.c.started_at > claimed_at + ahead - rate.period,
            )
        ).scalar()
        if leaving is not None:
            claim_at = float(leaving) + rate.period - ahead
            soonest = claim_at if soonest is None else min(soonest, claim_at)
    return soonest


def next_claim_at(
    conn: Connection,
    definitions: list[str],
    rates: Mapping[str, RateLimit],
    now: float,
    claimed_at: float,
) -> float | None:
    """When an idle worker, whose last claim was at `claimed_at`, should
    claim again: the next due run of `definitions` (those without limits),
    or the soonest a rate-limited start may be claimed."""
    times = [queries.next_due_at(conn, definitions)]
    if rates:
        times.append(next_free_at(conn, rates, now, claimed_at))
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
