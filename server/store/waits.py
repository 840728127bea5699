"""Settling what runs wait for: the one write that ends a wait.

A run waits, PENDING and not due (transitions.WAITING_RUN_AT), for its
children (`wait_for_children`) or its dependencies (`trigger(after=...)`).
`SettleWaits` wakes those whose children have all ended or whose
dependencies have all SUCCEEDED (transitions.wake), and fails, without
another iteration (transitions.fail_unstarted):

* DEPENDENCY_FAILED: a dependency ended otherwise (or is gone), named;
* EXPIRED: a run never started whose `expires_at` passed;
* DEADLINE: a started run, between iterations, past its `deadline_seconds`.

A failure can settle more (a parent's last child, a dependent's
dependency), so it goes round until nothing changes. Workers run it after
saving outcomes that may end a wait, and every second as a safety net
(engine/lease_keeper.py); `needs_settling` is the read that spares the
write when nothing is to be done. Every state it reads is in the database,
so a wait survives restarts; each wake is one guarded UPDATE, so no run
wakes twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, exists, or_, select

from taskloom.server.store import transitions
from taskloom.server.store.committed import RunsMoved
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import dependencies, runs
from taskloom.server.store.run_logs import log_line
from taskloom.server.store.run_rows import load_run
from taskloom.server.store.transitions import (
    ABORTED,
    CHILDREN,
    DEPENDENCIES,
    FAILED,
    PAUSED,
    PENDING,
)

WAITING = (PENDING, PAUSED)
_ROUNDS = 20
EXPIRED_MESSAGE = "expired before it started"


def deadline_of(row: Mapping[Any, Any]) -> float | None:
    """When the run must have ended: `deadline_seconds` after its first start."""
    seconds = row["deadline_seconds"]
    if seconds is None or row["started_at"] is None:
        return None
    return float(row["started_at"]) + float(seconds)


def deadline_message(row: Mapping[Any, Any]) -> str:
    return f"the run passed its deadline of {row['deadline_seconds']:g} s"


def _failed_dependencies_query() -> Any:
    """(waiting run, a dependency of it that will not succeed, that run's
    status or None when it is gone)."""
    dependency = runs.alias("dependency")
    waiter = runs.alias("waiter")
    return (
        select(dependencies.c.run_id, dependencies.c.depends_on, dependency.c.status)
        .join(waiter, waiter.c.id == dependencies.c.run_id)
        .outerjoin(dependency, dependency.c.id == dependencies.c.depends_on)
        .where(
            waiter.c.waiting == DEPENDENCIES,
            waiter.c.status.in_(WAITING),
            or_(dependency.c.id.is_(None), dependency.c.status.in_((FAILED, ABORTED))),
        )
    )


def _failed_dependencies(conn: Connection) -> dict[str, tuple[str, str | None]]:
    """{waiting run: (its first dependency that will not succeed, that
    run's status or None when it is gone)}."""
    query = _failed_dependencies_query().order_by(dependencies.c.run_id, dependencies.c.depends_on)
    found: dict[str, tuple[str, str | None]] = {}
    for run_id, depends_on, status in conn.execute(query):
        found.setdefault(run_id, (depends_on, status))
    return found


def _expired(conn: Connection, now: float) -> list[str]:
    c = runs.c
    query = select(c.id).where(c.expires_at <= now, c.status.in_(WAITING), c.started_at.is_(None))
    return list(conn.execute(query).scalars())


def _past_deadline(conn: Connection, now: float) -> list[Any]:
    c = runs.c
    query = select(c.id, c.deadline_seconds, c.started_at).where(
        c.deadline_seconds.is_not(None),
        c.started_at.is_not(None),
        c.started_at + c.deadline_seconds <= now,
        c.status.in_(WAITING),
    )
    return list(conn.execute(query).mappings())


def needs_settling(conn: Connection, now: float) -> bool:
    """Whether `SettleWaits` would change anything (a read, no lock). Each
    probe is one EXISTS that a partial index answers (migration 0012): an
    OR of them scanned every run, every second, in every worker."""
    c = runs.c
    checks = [
        exists().where(c.expires_at <= now, c.started_at.is_(None), c.status.in_(WAITING)),
        exists().where(
            c.deadline_seconds.is_not(None),
            c.started_at + c.deadline_seconds <= now,
            c.status.in_(WAITING),
        ),
        exists().where(transitions.wait_over(CHILDREN)),
        exists().where(transitions.wait_over(DEPENDENCIES)),
        exists(_failed_dependencies_query()),
    ]
    return any(conn.execute(select(check)).scalar() for check in checks)


class SettleWaits(WriteOp[list[tuple[str, str]]]):
    """Wakes or fails the runs whose wait is over; returns (run id, new
    status) of each."""

    def __init__(self, now: float) -> None:
        self.now = now

    def apply(self, conn: Connection) -> list[tuple[str, str]]:
        changed: list[tuple[str, str]] = []
        for _ in range(_ROUNDS):
            failed = self._fail(conn)
            changed += failed
            for reason in (CHILDREN, DEPENDENCIES):
                changed += [
                    (run_id, status)
                    for run_id, status in conn.execute(transitions.wake(reason, self.now))
                ]
            if not failed:
                break
        return changed

    def _fail(self, conn: Connection) -> list[tuple[str, str]]:
        endings: dict[str, tuple[str, str]] = {}
        for run_id, (depends_on, status) in _failed_dependencies(conn).items():
            how = f"ended {status}" if status else "no longer exists"
            endings[run_id] = ("DEPENDENCY_FAILED", f"dependency {depends_on} {how}")
        for run_id in _expired(conn, self.now):
            endings.setdefault(run_id, ("EXPIRED", EXPIRED_MESSAGE))
        for row in _past_deadline(conn, self.now):
            endings.setdefault(row["id"], ("DEADLINE", deadline_message(row)))
        failed = []
        for run_id, (code, message) in endings.items():
            step = transitions.fail_unstarted(run_id, code, message, self.now)
            if conn.execute(step).rowcount:
                log_line(conn, load_run(conn, run_id), self.now, message, "ERROR")
                failed.append((run_id, FAILED))
        return failed

    def committed(self, result: list[tuple[str, str]]) -> RunsMoved | None:
        if not result:
            return None
        return RunsMoved(result, due=any(status != FAILED for _id, status in result))
