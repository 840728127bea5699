"""Writes the outcomes of finished iterations, many per transaction.

An iteration hands its outcome over and its task ends; one flusher task
writes whatever has gathered as a single `FinishIterations` and, once it
is committed, announces each outcome and frees its slot (the children
they triggered are announced by the commit itself: store/committed.py). Iterations that end
while a write is in flight go into the next one (group commit without a
future, a queue entry and a task wake-up per run).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

from taskloom.definitions.errors import Unavailable
from taskloom.server.engine.lifecycle import FAILED, PENDING
from taskloom.server.engine.outage import OutageLog
from taskloom.server.engine.unsaveable import failed_for_good, with_storable_text
from taskloom.server.events.hub import Event, EventHub
from taskloom.server.store.database import Database
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.outcomes import FinishIterations
from taskloom.server.store.storable import cannot_store
from taskloom.server.store.waits import SettleWaits

log = logging.getLogger("taskloom.worker")
# How long outcomes the database cannot take now are tried again.
UNAVAILABLE_RETRY_SECONDS = 60.0

Finished = tuple[
    Mapping[Any, Any], IterationOutcome, float
]  # the claimed row, its outcome, seconds


class OutcomeSaver:
    def __init__(
        self,
        database: Database,
        hub: EventHub,
        on_done: Callable[[Mapping[Any, Any]], None],
        outage: OutageLog | None = None,
    ) -> None:
        self.outage = outage or OutageLog(log)
        self.database = database
        self.hub = hub
        self.on_done = on_done
        self._pending: list[Finished] = []
        self._flusher: asyncio.Task[None] | None = None
        # A saved outcome failed a run that others, perhaps triggered after
        # it was claimed, wait on (FinishIterations.failed_dependencies).
        self._failed_dependencies = False

    def add(self, row: Mapping[Any, Any], outcome: IterationOutcome, seconds: float) -> None:
        self._pending.append((row, outcome, seconds))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="taskloom-outcomes")

    async def drain(self) -> None:
        """Returns once every outcome handed over so far is written."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                outcomes, results = await self._save(batch)
                due = settle = False
                for (row, _o, seconds), outcome, result in zip(
                    batch, outcomes, results, strict=True
                ):
                    try:
                        due = self._announce(row, outcome, seconds, result) or due
                        settle = settle or (result is True and outcome.settles_waits)
                    finally:
                        self.on_done(row)
                if due:
                    self.hub.notify_due()
                if settle or self._failed_dependencies:
                    self._failed_dependencies = False
                    await self._settle_waits()
        finally:
            self._flusher = None

    async def _save(
        self, batch: list[Finished]
    ) -> tuple[list[IterationOutcome], list[bool | Exception]]:
        """The batch's outcomes as saved, and each one's result. One the
        database refused for its data is saved again with storable text,
        and if refused again, as the run FAILED (engine/unsaveable.py)."""
        outcomes = [outcome for _row, outcome, _s in batch]
        results = await self._write(outcomes)
        await self._retry_while_unavailable(outcomes, results)
        for remedy in (_storable, failed_for_good):
            refused = {
                i: r for i, r in enumerate(results) if isinstance(r, Exception) and cannot_store(r)
            }
            if not refused:
                break
            for i, error in refused.items():
                try:
                    outcomes[i] = remedy(batch[i][0], outcomes[i], error)
                except RecursionError:  # JSON nested too deep to walk
                    outcomes[i] = failed_for_good(batch[i][0], outcomes[i], error)
            again = await self._write([outcomes[i] for i in refused])
            for i, result in zip(refused, again, strict=True):
                results[i] = result
        return outcomes, results

    async def _retry_while_unavailable(
        self, outcomes: list[IterationOutcome], results: list[bool | Exception]
    ) -> None:
        """Outcomes the database could not take now (unreachable, locked)
        are tried again, for up to UNAVAILABLE_RETRY_SECONDS: the runs stay
        held meanwhile, and if their leases ran out and they were rescued,
        the claim token refuses the late outcome (False: lease lost)."""
        deadline = time.monotonic() + UNAVAILABLE_RETRY_SECONDS
        delay = 0.2
        while time.monotonic() < deadline:
            waiting = [i for i, r in enumerate(results) if isinstance(r, Unavailable)]
            if not waiting:
                self.outage.worked()
                return
            self.outage.failed("saving outcomes", cast(Exception, results[waiting[0]]))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            again = await self._write([outcomes[i] for i in waiting])
            for i, result in zip(waiting, again, strict=True):
                results[i] = result

    async def _write(self, outcomes: list[IterationOutcome]) -> list[bool | Exception]:
        op = FinishIterations(outcomes)
        try:
            results = await self.database.run_write(op)
        except Exception as exc:
            return [exc] * len(outcomes)
        self._failed_dependencies = self._failed_dependencies or op.failed_dependencies
        return [self._unavailable(r) if isinstance(r, Exception) else r for r in results]

    def _unavailable(self, error: Exception) -> Exception:
        """An outcome's own error, as Unavailable when it says the database
        could not take it now (its connection lost mid-batch)."""
        reason = self.database.fault(error, "write")
        if reason is None:
            return error
        unavailable = Unavailable(reason)
        unavailable.__cause__ = error
        return unavailable

    async def _settle_waits(self) -> None:
        """A run ended that a parent or dependents may wait for, or a run
        began to wait: their waits are settled now, not at the next sweep
        (announced by the commit)."""
        try:
            await self.database.run_write(SettleWaits(self.database.clock()))
        except Exception:
            log.exception("settling waiting runs failed; the next sweep retries")

    def _announce(
        self,
        row: Mapping[Any, Any],
        outcome: IterationOutcome,
        seconds: float,
        result: bool | Exception,
    ) -> bool:
        """Publishes what a saved outcome changed; True if runs became due."""
        if result is not True:
            extra = _extra(row)
            if isinstance(result, Exception):
                log.error(
                    "run %s: the engine failed to save its iteration",
                    row["id"],
                    exc_info=result,
                    extra=extra,
                )
            else:
                log.warning(
                    "run %s: lease lost before its outcome was saved", row["id"], extra=extra
                )
            return False
        data = {
            "definition_id": row["definition_id"],
            "seconds": seconds,
            "finished": outcome.finished,
        }
        self.hub.publish(Event("run", outcome.run_id, outcome.status, data))
        if outcome.finished:
            level = logging.WARNING if outcome.status == FAILED else logging.INFO
            if log.isEnabledFor(level):
                error = f": {outcome.error_message}" if outcome.error_message else ""
                log.log(
                    level, "run %s %s%s", outcome.run_id, outcome.status, error, extra=_extra(row)
                )
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("iteration ended: %s in %.3f s", outcome.status, seconds, extra=_extra(row))
        for log_row in outcome.logs:
            self.hub.publish(Event("log", outcome.run_id, data=log_row))
        return outcome.status == PENDING


def _storable(
    row: Mapping[Any, Any], outcome: IterationOutcome, _error: BaseException
) -> IterationOutcome:
    return with_storable_text(row, outcome)


def _extra(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The fields a log record about this run carries."""
    return {"run_id": row["id"], "definition": row["definition_id"]}
