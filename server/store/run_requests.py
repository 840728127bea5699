"""What callers ask of a run: abort, pause, resume, retry, a new priority.

Each checks the run's current state inside the writer's transaction, so it
cannot race a claim or an outcome, answers a refusal with Conflict, and
changes the status through its transition (transitions.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import Conflict
from taskloom.server.store import transitions
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.history import store_last_attempt
from taskloom.server.store.models import dependencies, results, runs
from taskloom.server.store.run_dependencies import dependencies_of
from taskloom.server.store.run_logs import log_line
from taskloom.server.store.run_rows import load_run
from taskloom.server.store.transitions import (
    ABORTED,
    FAILED,
    FINISHED,
    PAUSED,
    PENDING,
    RUNNING,
)

ABORT_REQUEST = "ABORT"
PAUSE_REQUEST = "PAUSE"


@dataclass(frozen=True)
class Aborted:
    """What an abort did to one run: "aborted" (at once) or "requested"
    (honoured after its iteration), and the run as it is now."""

    action: str
    row: RowMapping


class Abort(WriteOp[list[Aborted]]):
    """PENDING or PAUSED: ABORTED at once ("aborted"). RUNNING: the abort is
    requested and honoured after the iteration ("requested"). Refused for a
    run of a definition that is not `abortable` (a callable of the
    definition id).

    With `cascade` (the default), the run's unfinished children and the
    runs triggered `after` it go the same way, and theirs in turn (but for
    runs of definitions that are not abortable, which run on); each records
    `by` and why. `owner`, when set, limits the cascade to the runs it
    created (a caller who may not control the others): the rest of the
    dependents then fail DEPENDENCY_FAILED (store/waits.py). Returns the run
    first, then each run the abort reached."""

    urgent = True

    def __init__(
        self,
        run_id: str,
        message: str | None,
        now: float,
        *,
        by: str | None = None,
        cascade: bool = True,
        owner: str | None = None,
        abortable: Callable[[str], bool] = lambda _definition_id: True,
    ) -> None:
        self.run_id = run_id
        self.message = message
        self.now = now
        self.by = by
        self.cascade = cascade
        self.owner = owner
        self.abortable = abortable

    def apply(self, conn: Connection) -> list[Aborted]:
        row = load_run(conn, self.run_id)
        if row["status"] not in (PENDING, PAUSED, RUNNING):
            raise Conflict(f"cannot abort a run that is already {row['status']}")
        if not self.abortable(row["definition_id"]):
            raise Conflict(f"runs of {row['definition_id']!r} cannot be aborted")
        done = [self._abort(conn, row, self.message)]
        if not self.cascade:
            return done
        frontier = [self.run_id]
        seen = {self.run_id}
        while frontier:
            reached = self._reached(conn, frontier, seen)
            frontier = []
            for run_id, why in reached:
                seen.add(run_id)
                frontier.append(run_id)
                found = load_run(conn, run_id)
                if not self.abortable(found["definition_id"]):
                    continue
                reason = f"{why}: {self.message}" if self.message else why
                done.append(self._abort(conn, found, reason))
        return done

    def _reached(
        self, conn: Connection, frontier: list[str], seen: set[str]
    ) -> list[tuple[str, str]]:
        """The unfinished children and dependents of the `frontier` runs not
        yet aborted, each with why the abort reaches it."""
        c = runs.c
        unfinished = [c.status.not_in(FINISHED)]
        if self.owner is not None:
            unfinished.append(c.created_by == self.owner)
        children = select(c.id, c.parent_id).where(c.parent_id.in_(frontier), *unfinished)
        dependents = (
            select(c.id, dependencies.c.depends_on)
            .join(dependencies, dependencies.c.run_id == c.id)
            .where(dependencies.c.depends_on.in_(frontier), *unfinished)
        )
        found: dict[str, str] = {}
        for run_id, parent_id in conn.execute(children.order_by(c.created_at, c.id)):
            found.setdefault(run_id, f"its parent run {parent_id} was aborted")
        for run_id, depends_on in conn.execute(dependents.order_by(c.created_at, c.id)):
            found.setdefault(run_id, f"run {depends_on}, which it runs after, was aborted")
        return [(run_id, why) for run_id, why in found.items() if run_id not in seen]

    def _by(self) -> str:
        return "" if self.by is None else f" by {self.by}"

    def _abort(self, conn: Connection, row: RowMapping, reason: str | None) -> Aborted:
        run_id = row["id"]
        if row["status"] in (PENDING, PAUSED):
            message = reason or "aborted before it ran"
            conn.execute(transitions.abort(run_id, message, self.by, self.now))
            conn.execute(
                insert(results).values(
                    run_id=run_id,
                    attempt=row["attempt"],
                    status=ABORTED,
                    started_at=row["attempt_started_at"],
                    finished_at=self.now,
                    error_message=message,
                    error_code=ABORTED,
                )
            )
            log_line(conn, row, self.now, f"aborted{self._by()}: {message}")
            return Aborted("aborted", load_run(conn, run_id))
        if row["requested"] != ABORT_REQUEST:
            conn.execute(
                transitions.request(run_id, ABORT_REQUEST, self.now, by=self.by, reason=reason)
            )
            why = reason or "no reason given"
            log_line(conn, row, self.now, f"abort requested{self._by()}: {why}")
        return Aborted("requested", load_run(conn, run_id))


class Pause(WriteOp[tuple[str, RowMapping]]):
    """PENDING: PAUSED at once ("paused"). RUNNING: the pause is requested
    and honoured after the iteration ("requested")."""

    urgent = True

    def __init__(self, run_id: str, now: float, *, pausable: bool = True) -> None:
        self.run_id = run_id
        self.now = now
        self.pausable = pausable

    def apply(self, conn: Connection) -> tuple[str, RowMapping]:
        row = load_run(conn, self.run_id)
        status, requested = row["status"], row["requested"]
        if status in (PENDING, RUNNING) and not self.pausable:
            raise Conflict(f"runs of {row['definition_id']!r} cannot be paused")
        if status == PENDING:
            conn.execute(transitions.pause(self.run_id, self.now))
            log_line(conn, row, self.now, "paused")
            return "paused", load_run(conn, self.run_id)
        if status == RUNNING and requested is None:
            conn.execute(transitions.request(self.run_id, PAUSE_REQUEST, self.now))
            log_line(conn, row, self.now, "pause requested")
            return "requested", load_run(conn, self.run_id)
        if status == RUNNING:
            raise Conflict(f"the run already has a {requested} request")
        raise Conflict(f"cannot pause a run that is {status}")


class Resume(WriteOp[RowMapping]):
    """PAUSED: PENDING again, due now (or at its later due time)."""

    urgent = True

    def __init__(self, run_id: str, now: float) -> None:
        self.run_id = run_id
        self.now = now

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] != PAUSED:
            raise Conflict(f"cannot resume a run that is {row['status']}")
        run_at = self.now if row["waiting"] else max(self.now, float(row["run_at"]))
        conn.execute(transitions.resume(self.run_id, run_at, self.now))
        log_line(conn, row, self.now, "resumed")
        return load_run(conn, self.run_id)


class RetryByRequest(WriteOp[RowMapping]):
    """FAILED or ABORTED: PENDING again as the next attempt; state, history
    and logs are kept. `new_input` (from `on_retry`) replaces the input."""

    urgent = True

    def __init__(self, run_id: str, now: float, new_input: dict[str, Any] | None = None) -> None:
        self.run_id = run_id
        self.now = now
        self.new_input = new_input

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] not in (FAILED, ABORTED):
            raise Conflict(f"only FAILED or ABORTED runs can be retried, not {row['status']}")
        store_last_attempt(conn, row)  # the run row is about to start over
        attempt = row["attempt"] + 1
        retry = transitions.retry_by_request(
            self.run_id,
            attempt,
            self.now,
            self.new_input,
            has_dependencies=bool(dependencies_of(conn, self.run_id)),
        )
        conn.execute(retry)
        log_line(conn, row, self.now, f"retried by request as attempt {attempt}")
        return load_run(conn, self.run_id)


class SetPriority(WriteOp[RowMapping]):
    """A run that has not finished gets a new priority (its status stays)."""

    urgent = True

    def __init__(self, run_id: str, priority: int, now: float) -> None:
        self.run_id = run_id
        self.priority = priority
        self.now = now

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] in FINISHED:
            raise Conflict(f"cannot change the priority of a run that is {row['status']}")
        conn.execute(
            update(runs)
            .where(runs.c.id == self.run_id)
            .values(priority=self.priority, updated_at=self.now)
        )
        return load_run(conn, self.run_id)
