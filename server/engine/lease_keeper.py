"""The worker's upkeep of the runs it holds, every `control_interval`:
renew their leases, write the progress of long iterations, pass on abort
and pause requests, rescue the runs of workers that stopped renewing
theirs (store/leases.py), and settle the waits no outcome settled (expiry,
deadlines, and anything a stopped process left: store/waits.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.runtime import Runtime
from taskloom.server.engine.iteration import IterationRunner
from taskloom.server.engine.outage import OutageLog
from taskloom.server.engine.progress import ProgressFlusher
from taskloom.server.events.hub import Event, EventHub
from taskloom.server.store.database import Database
from taskloom.server.store.leases import RenewLeases, RescueExpired, pending_requests
from taskloom.server.store.live_progress import FlushProgress
from taskloom.server.store.run_requests import ABORT_REQUEST, PAUSE_REQUEST
from taskloom.server.store.transitions import RUNNING
from taskloom.server.store.unloaded import due_unloaded
from taskloom.server.store.waits import SettleWaits, needs_settling

log = logging.getLogger("taskloom.worker")
# How often a worker looks for due runs of definitions it has not loaded.
UNLOADED_CHECK_SECONDS = 30.0
# The safety net for waits no saved outcome settled (store/waits.py): expiry,
# deadlines between iterations, another process's ends.
SETTLE_CHECK_SECONDS = 1.0


class Held(Protocol):
    """A run the worker holds, as the keeper sees it."""

    @property
    def runtime(self) -> Runtime: ...


class LeaseKeeper:
    def __init__(
        self,
        database: Database,
        hub: EventHub,
        runner: IterationRunner,
        worker_id: str,
        held: Mapping[str, Held],
        *,
        lease_seconds: float,
        max_lease_losses: int,
        control_interval: float,
        progress_interval: float,
        outage: OutageLog | None = None,
    ) -> None:
        self.database = database
        self.hub = hub
        self.runner = runner
        self.worker_id = worker_id
        self.held = held
        self.lease_seconds = lease_seconds
        self.max_lease_losses = max_lease_losses
        self.control_interval = control_interval
        self.progress_interval = progress_interval
        self.outage = outage or OutageLog(log)
        self._progress = ProgressFlusher()
        self._unloaded_reported: set[str] = set()
        # Definitions that set their own `lease_losses`; the others take
        # the worker's `max_lease_losses` (TASKLOOM_MAX_LEASE_LOSSES).
        self._own_losses = {
            d.id: d.lease_losses
            for d in runner.registry
            if d.lease_losses != TaskDefinition.lease_losses
        }

    async def run(self) -> None:
        """Until cancelled."""
        last_renew = last_rescue = last_progress = last_settle = time.monotonic()
        last_unloaded = last_renew - UNLOADED_CHECK_SECONDS  # at once
        while True:
            await asyncio.sleep(self.control_interval)
            now = time.monotonic()
            try:
                if self.held:
                    await self._pass_requests()
                if self.held and now - last_progress >= self.progress_interval:
                    last_progress = now
                    await self._flush_progress()
                if now - last_renew >= self.lease_seconds / 3:
                    last_renew = now
                    if self.held:
                        await self._renew()
                if now - last_rescue >= min(self.lease_seconds / 2, 5.0):
                    last_rescue = now
                    await self._rescue()
                if now - last_unloaded >= UNLOADED_CHECK_SECONDS:
                    last_unloaded = now
                    await self._report_unloaded()
                if now - last_settle >= SETTLE_CHECK_SECONDS:
                    last_settle = now
                    await self._settle_waits()  # a read while nothing is to be settled
            except Exception as exc:
                self.outage.failed("the worker's lease upkeep", exc)
            else:
                self.outage.worked()

    def pass_request(self, run_id: str, request: str) -> None:
        held = self.held.get(run_id)
        if held is None:
            return
        if request == ABORT_REQUEST:
            held.runtime.request_abort()
        elif request == PAUSE_REQUEST:
            held.runtime.request_pause()

    async def _renew(self) -> None:
        until = self.database.clock() + self.lease_seconds
        await self.database.run_write(RenewLeases(self.worker_id, until, list(self.held)))

    async def _flush_progress(self) -> None:
        rows = self._progress.collect(self.runner.live)
        if rows:
            await self.database.run_write(FlushProgress(self.worker_id, rows, time.time()))
            for row in rows:
                self.hub.publish(Event("run", row["b_id"], RUNNING, {"progress": True}))

    async def _pass_requests(self) -> None:
        requests: dict[str, Any] = await self.database.read(
            lambda c: pending_requests(c, self.worker_id)
        )
        for run_id, request in requests.items():
            self.pass_request(run_id, request)

    async def _settle_waits(self) -> None:
        clock = self.database.clock
        if await self.database.read(lambda c: needs_settling(c, clock())):
            await self.database.run_write(SettleWaits(clock()))

    async def _report_unloaded(self) -> None:
        """Logs, once per definition, due runs that no code loaded in this
        worker can run (they wait: README, "Runs of a definition that is
        not loaded")."""
        known = {d.id for d in self.runner.registry}
        now = self.database.clock()
        found = await self.database.read(lambda c: due_unloaded(c, known, now))
        for definition, count in sorted(found.items()):
            if definition in self._unloaded_reported:
                continue
            self._unloaded_reported.add(definition)
            log.warning(
                "%d due runs of definition %r, which is not loaded in this worker: they "
                "wait for a worker that has it (is TASKLOOM_DEFINITIONS complete?)",
                count,
                definition,
            )

    async def _rescue(self) -> None:
        rescued = await self.database.run_write(
            RescueExpired(self.database.clock(), self.max_lease_losses, self._own_losses)
        )
        for item in rescued:
            log.warning(
                "run %s: lease expired, now %s",
                item.run_id,
                item.status,
                extra={"run_id": item.run_id},
            )
