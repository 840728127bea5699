"""The claim: due runs of the worker's definitions, PENDING -> RUNNING,
leased to the worker (transitions.claim), in one operation.

Highest priority first, then due time, then age. Options:

* `limits`: concurrency and rate limits of some definitions (fair_claims.py,
  rate_limits.py): runs over a limit stay PENDING and are skipped.

Runs of a paused definition are never claimed (definition_pauses.py).
* `oldest_first`: the worker's periodic turn against starvation, the due
  runs created first whatever their priority (fair_claims.FIFO_EVERY).

Where it can, each database takes its own fast form: SQLite the adapter's
hand-shaped claim (sqlite/claim_sql.py), PostgreSQL the claim index's order
without a sort (postgres/planning.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Connection, any_, func, select
from sqlalchemy.engine import RowMapping

from taskloom.server.store import fair_claims, rate_limits
from taskloom.server.store.definition_pauses import not_paused
from taskloom.server.store.fair_claims import Limit
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import runs
from taskloom.server.store.postgres.planning import planned_without_sort
from taskloom.server.store.sqlite.claim_sql import claim_script, claimed_rows
from taskloom.server.store.sqlite.scripts import run_steps
from taskloom.server.store.transitions import CLAIMED, PENDING, claim


class Claim(WriteOp[list[RowMapping]]):
    """Takes up to `limit` due runs of `definitions` and leases them to
    `worker_id` until `lease_until`; returns their CLAIMED columns.

    With a `clock`, `now` and the lease are taken again when the claim is
    applied, after any wait for the write lock: a lease reckoned before a
    long wait would be committed already expired, and the run rescued while
    it runs."""

    urgent = True
    bounded = False

    def __init__(
        self,
        worker_id: str,
        limit: int,
        now: float,
        lease_until: float,
        definitions: list[str],
        limits: Mapping[str, Limit] | None = None,
        *,
        oldest_first: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.limit = limit
        self.now = now
        self.lease_until = lease_until
        self.definitions = definitions
        wanted = set(definitions)
        self.limits = {d: lim for d, lim in (limits or {}).items() if d in wanted}
        self.oldest_first = oldest_first
        self.clock = clock

    def retime(self) -> None:
        """`now` and the lease by the clock, when there is one."""
        if self.clock is not None:
            now = self.clock()
            self.lease_until += now - self.now
            self.now = now

    def apply(self, conn: Connection) -> list[RowMapping]:
        if self.limits and self.limit > 0 and self.definitions:
            # `now` once serialised: the starts a rate limit gives are
            # reckoned from it (rate_limits.py).
            fair_claims.serialise(conn)
        self.retime()
        if self.limit <= 0 or not self.definitions:
            return []
        if self.limits or (self.oldest_first and not fair_claims.one_priority(conn)):
            return self._fair(conn)
        # Every pending run has one priority: the claim index's own order
        # (priority, then due time) is already oldest first.
        if conn.dialect.name == "sqlite":
            # Plain dicts, read by key like RowMapping without its cost.
            script, reader = claim_script(
                conn.dialect,
                CLAIMED,
                worker_id=self.worker_id,
                limit=self.limit,
                now=self.now,
                lease_until=self.lease_until,
                definitions=self.definitions,
            )
            return cast(list[RowMapping], claimed_rows(reader, run_steps(conn, script.steps)))
        # `id = ANY(ARRAY(...))`, for `id IN` may join the chosen ids to a
        # scan of the table.
        due = (
            select(runs.c.id)
            .where(runs.c.status == PENDING, runs.c.run_at <= self.now)
            .where(runs.c.definition_id.in_(self.definitions), not_paused())
            .order_by(runs.c.priority.desc(), runs.c.run_at, runs.c.id)
            .limit(self.limit)
            .with_for_update(skip_locked=True)
        )
        with planned_without_sort(conn):
            leased = conn.execute(self._lease(runs.c.id == any_(func.array(due.scalar_subquery()))))
            return list(leased.mappings())

    def _fair(self, conn: Connection) -> list[RowMapping]:
        starts_at: dict[str, float] = {}
        chosen = fair_claims.choose(
            conn, self.definitions, self.limits, self.limit, self.now, self.oldest_first, starts_at
        )
        # One statement per start time: a rate limit may give a run the
        # time its slot frees, a moment from now (store/rate_limits.py).
        by_start: dict[float, list[str]] = {}
        for row in chosen:
            by_start.setdefault(starts_at.get(row["id"], self.now), []).append(row["id"])
        claimed: list[RowMapping] = []
        for at, ids in by_start.items():
            where = (runs.c.id.in_(ids), runs.c.status == PENDING)
            claimed += conn.execute(self._lease(*where, starts_at=at)).mappings()
        rate_limits.record_starts(
            conn, fair_claims.rate_limited_starts(claimed, self.limits, starts_at)
        )
        return claimed

    def _lease(self, *where: Any, starts_at: float | None = None) -> Any:
        return claim(
            *where,
            worker_id=self.worker_id,
            now=self.now,
            lease_until=self.lease_until,
            starts_at=starts_at,
        )
