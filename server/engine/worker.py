"""The worker: claim due runs into free slots, run their iterations, hand
their outcomes to the saver (saver.py), and stop gracefully, releasing what
it could not finish. Its lease keeper (lease_keeper.py) looks after the
runs it holds meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from taskloom.definitions.runtime import Runtime
from taskloom.server import tracing
from taskloom.server.engine.batches import run_batch
from taskloom.server.engine.iteration import IterationRunner
from taskloom.server.engine.lease_keeper import LeaseKeeper
from taskloom.server.engine.outage import OutageLog
from taskloom.server.engine.saver import OutcomeSaver
from taskloom.server.events.hub import Event, EventHub
from taskloom.server.logformat import bind_run
from taskloom.server.store import rate_limits
from taskloom.server.store.claims import Claim
from taskloom.server.store.database import Database
from taskloom.server.store.fair_claims import FIFO_EVERY, limits_of
from taskloom.server.store.leases import ReleaseRuns
from taskloom.server.store.transitions import RUNNING

log = logging.getLogger("taskloom.worker")
# How long after a stopping worker hands back a run whose synchronous run()
# still runs the run is due again: time for the process to exit.
LINGERING_RELEASE_DELAY = 2.0
# How long stop() waits for the iterations it cancelled to end.
CANCELLED_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 256
    lease_seconds: float = 30.0
    poll_interval: float = 1.0
    max_lease_losses: int = 3
    shutdown_grace: float = 10.0
    control_interval: float = 0.25
    # How often progress/status of long iterations is written while they run.
    progress_interval: float = 1.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


@dataclass
class InFlight:
    # The task the iteration runs in: its claimed batch's until it waits.
    task: asyncio.Task[None]
    runtime: Runtime
    row: RowMapping


class Worker:
    def __init__(
        self,
        database: Database,
        runner: IterationRunner,
        hub: EventHub,
        options: WorkerOptions,
        executor: ThreadPoolExecutor,
    ) -> None:
        self.database = database
        self.runner = runner
        self.hub = hub
        self.options = options
        self.executor = executor
        self.worker_id = new_worker_id()
        self._inflight: dict[str, InFlight] = {}
        # Of those, runs whose iteration has ended and whose outcome the
        # saver is writing: their slots count as free, so the next claim
        # need not wait for that write (queued behind it, it shares its
        # transaction).
        self._saving = 0
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._limits = limits_of(runner.registry)
        self._rates = {d: lim.rate for d, lim in self._limits.items() if lim.rate is not None}
        # Definitions whose ended runs may let a held-back run start.
        self._capped = {
            d for d, lim in self._limits.items() if (lim.concurrency, lim.per_key) != (None, None)
        }
        self._claims = 0
        # The time the last claim was made at (its `now`): rate-limit slots
        # within reach of it were offered to it (store/rate_limits.py).
        self._claimed_at = 0.0
        # A claim still being committed when stop() cancelled the claim loop.
        self._cut_claim: asyncio.Future[list[RowMapping]] | None = None
        self.outage = OutageLog(log)  # shared with the lease keeper and the saver
        self._saver = OutcomeSaver(database, hub, self._saved, self.outage)
        self._keeper = LeaseKeeper(
            database,
            hub,
            runner,
            self.worker_id,
            self._inflight,
            lease_seconds=options.lease_seconds,
            max_lease_losses=options.max_lease_losses,
            control_interval=options.control_interval,
            progress_interval=options.progress_interval,
            outage=self.outage,
        )
        hub.on_due(self._wake.set)
        hub.on_request(self._keeper.pass_request)

    @property
    def busy(self) -> int:
        return len(self._inflight) - self._saving

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self.runner.loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="taskloom-claim"),
            asyncio.create_task(self._keeper.run(), name="taskloom-control"),
        ]

    async def stop(self, grace: float | None = None) -> None:
        """Stops claiming, lets running iterations finish within `grace`
        seconds, then releases the rest back to PENDING."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        grace = self.options.shutdown_grace if grace is None else grace
        pending = {f.task for f in self._inflight.values() if not f.task.done()}
        if pending:
            await asyncio.wait(pending, timeout=grace)
        running = {f.task for f in self._inflight.values() if not f.task.done()}
        for task in running:
            task.cancel()
        # Not gathered: task code that swallows its CancelledError would
        # hold the stop for as long as it runs.
        if running:
            await asyncio.wait(running, timeout=CANCELLED_WAIT_SECONDS)
        for run_id, entry in self._inflight.items():
            if entry.task in running and not entry.task.done():
                self._linger(run_id, entry.task)
        await self._saver.drain()
        leftover = list(self._inflight) + await self._claimed_while_stopping()
        # A synchronous run() still running cannot be stopped, nor an
        # iteration whose code swallows its cancellation: its run is due
        # again only once this process has exited (the commands exit as soon
        # as the worker has stopped: server/command_runner.py), so no other
        # worker starts it while it still runs here.
        lingering = {run_id for run_id in leftover if run_id in self.runner.lingering}
        now = self.database.clock()
        cancelled = [run_id for run_id in leftover if run_id not in lingering]
        for run_ids, due in ((cancelled, now), (list(lingering), now + LINGERING_RELEASE_DELAY)):
            if run_ids:  # announced by their commit
                await self.database.run_write(ReleaseRuns(self.worker_id, run_ids, now, due))
        if lingering:
            log.warning(
                "%d iterations still running after the shutdown grace (synchronous run() "
                "calls, or code that swallowed its cancellation); their runs were handed "
                "back, due again in %g s",
                len(lingering),
                LINGERING_RELEASE_DELAY,
            )

    def _linger(self, run_id: str, task: asyncio.Task[None]) -> None:
        """An iteration that went on after stop() cancelled it: it lingers,
        as a synchronous run() past its iteration does, until its task ends."""
        if run_id in self.runner.lingering:
            return  # its synchronous run() lingers already
        log.error("run %s: its iteration went on after it was cancelled", run_id)
        self.runner.lingering.add(run_id)
        task.add_done_callback(lambda _task: self.runner.lingering.discard(run_id))

    @property
    def lingering(self) -> int:
        """Synchronous run() calls still running past their iteration."""
        return len(self.runner.lingering)

    # --- claiming -----------------------------------------------------------

    async def _claim_loop(self) -> None:
        definitions = [d.id for d in self.runner.registry]
        low_water = max(1, self.options.concurrency // 4)
        # At most half the slots per claim: the next claim is committed (by
        # the writer process, or the database server) while the iterations
        # of the last one run, instead of after them. With rate limits, all
        # free slots: a limit bounds what a claim gets, and a claim that
        # fell behind the limit's slots catches up in one.
        chunk = max(1, self.options.concurrency // (1 if self._rates else 2))
        while not self._stopping:
            free = self.options.concurrency - self.busy
            if free < low_water and self.busy:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            self._wake.clear()
            wanted = min(free, chunk)
            try:
                claimed = await self._claim(definitions, wanted)
            except Exception as exc:
                self.outage.failed("claiming runs", exc)
                await asyncio.sleep(self.options.poll_interval)
                continue
            self.outage.worked()
            if len(claimed) < wanted:
                if claimed:
                    await asyncio.sleep(0)  # let the claimed iterations start first
                if self._saving and not self._rates:
                    # Outcomes being written may make runs due (continue_):
                    # the saver wakes this loop when they are committed.
                    await self._wake.wait()
                else:  # woken as well when a rate limit's next slot comes
                    await self._idle(definitions)

    async def _claim(self, definitions: list[str], limit: int) -> list[RowMapping]:
        now = self.database.clock()
        lease_until = now + self.options.lease_seconds
        self._claims += 1
        oldest_first = self._claims % FIFO_EVERY == 0  # bounds starvation (store/fair_claims.py)
        op = Claim(
            self.worker_id,
            limit,
            now,
            lease_until,
            definitions,
            self._limits,
            oldest_first=oldest_first,
            clock=self.database.clock,
        )
        # Shielded: runs claimed as stop() cancels this loop are released
        # by stop().
        write = asyncio.ensure_future(self.database.run_write(op))
        try:
            rows = await asyncio.shield(write)
        except asyncio.CancelledError:
            self._cut_claim = write
            raise
        self._claimed_at = op.now
        claimed = [(row, self.runner.runtime_for(row)) for row in rows]
        if self._rates:
            self._start_in_turn(claimed)
        elif len(rows) == limit:  # more may be due: the next claim goes out first
            self._start_after_next_claim(claimed)
        else:  # nothing left to claim: a new run starts at once
            self._start(claimed)
        for row in rows:
            self.hub.publish(Event("run", row["id"], RUNNING))
        return rows

    def _start(self, claimed: Sequence[tuple[RowMapping, Runtime]]) -> None:
        """Runs the claimed iterations in one task (engine/batches.py)."""
        self._track(claimed, run_batch(claimed, self._execute, self._start))

    def _track(
        self, claimed: Sequence[tuple[RowMapping, Runtime]], work: Coroutine[Any, Any, None]
    ) -> None:
        """Runs `work`, the iterations of `claimed`, in a task of its own,
        with each of those runs in flight in it."""
        task = asyncio.get_running_loop().create_task(work)
        for row, runtime in claimed:
            self._inflight[row["id"]] = InFlight(task, runtime, row)

    def _start_after_next_claim(self, claimed: Sequence[tuple[RowMapping, Runtime]]) -> None:
        """`_start`, one loop tick later, for a full claim: the claim loop,
        going on at once, sends its next claim first, and the writer process
        (or the database server) commits it while these iterations run.
        Started at once, they held the loop until they ended, the next claim
        went out only then, and the loop sat idle for its commit: 15 % of a
        drain's time. A claim that found fewer runs than it asked for starts
        them at once: the next claim would find nothing, and preparing it
        first made a new run's start 0.4 ms later."""
        self._track(claimed, self._run_next_tick(claimed))

    async def _run_next_tick(self, claimed: Sequence[tuple[RowMapping, Runtime]]) -> None:
        await asyncio.sleep(0)
        await run_batch(claimed, self._execute, self._start)

    def _start_in_turn(self, claimed: Sequence[tuple[RowMapping, Runtime]]) -> None:
        """Starts the runs a rate limit gave a start a moment ahead (when
        their slot frees: store/rate_limits.py) no earlier than that, the
        others now."""
        now = self.database.clock()
        later: dict[float, list[tuple[RowMapping, Runtime]]] = {}
        ready = []
        for item in claimed:
            at = item[0]["attempt_started_at"]
            if at is not None and at > now:
                later.setdefault(at, []).append(item)
            else:
                ready.append(item)
        if ready:
            self._start(ready)
        for at, batch in later.items():
            self._track(batch, self._run_at(at, batch))

    async def _run_at(self, at: float, claimed: Sequence[tuple[RowMapping, Runtime]]) -> None:
        # By the database's clock, which the start was given by; the loop's
        # timer, monotonic, may fire a hair early against it: a second look.
        for _ in range(2):
            delay = at - self.database.clock()
            if delay <= 0:
                break
            await asyncio.sleep(delay)
        await run_batch(claimed, self._execute, self._start)

    async def _claimed_while_stopping(self) -> list[str]:
        write, self._cut_claim = self._cut_claim, None
        if write is None:
            return []
        try:
            rows = await write
        except Exception:  # the claim failed: nothing to release
            return []
        return [row["id"] for row in rows]

    async def _idle(self, definitions: list[str]) -> None:
        """Sleeps until woken, the next delayed run is due, or the poll."""
        timeout = self.options.poll_interval
        # Runs held back by a concurrency limit are due but must not spin the
        # loop: a limited run that ends wakes it instead (or the poll).
        # Runs held back by a rate limit: the loop wakes when the window's
        # next start comes within reach of a claim (store/rate_limits.py).
        definitions = [d for d in definitions if d not in self._limits]
        now, rates, claimed_at = self.database.clock(), self._rates, self._claimed_at
        next_due = await self.database.read(
            lambda c: rate_limits.next_claim_at(c, definitions, rates, now, claimed_at)
        )
        if next_due is not None:
            timeout = max(0.0, min(timeout, next_due - self.database.clock()))
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _execute(self, claimed: tuple[RowMapping, Runtime]) -> None:
        row, runtime = claimed
        bind_run(row["id"], row["definition_id"])
        started = time.monotonic()
        span = tracing.start_iteration(row)
        try:
            outcome = await self.runner.run(row, self.worker_id, runtime)
        except Exception:
            tracing.end_iteration(span, None, "the engine failed to finish the iteration")
            log.exception("run %s: the engine failed to finish its iteration", row["id"])
            self._done(row)
            return
        except BaseException:  # a CancelledError, from stop(): the run is released
            tracing.end_iteration(span, None, "cancelled")
            raise
        tracing.end_iteration(span, outcome.status, outcome.error_code)
        # The run stays in _inflight (its lease renewed) until the saver has
        # written the outcome; its slot is free for the next claim now.
        self._saving += 1
        self._slot_free.set()
        self._saver.add(row, outcome, time.monotonic() - started)

    def _saved(self, row: Mapping[Any, Any]) -> None:
        self._saving -= 1
        self._done(row)
        if not self._saving:
            self._wake.set()

    def _done(self, row: Mapping[Any, Any]) -> None:
        # By identity: once its outcome is committed, the run may already
        # have been claimed again (a continue_) under the same id.
        entry = self._inflight.get(row["id"])
        if entry is not None and entry.row is row:
            del self._inflight[row["id"]]
        self._slot_free.set()
        if row["definition_id"] in self._capped:
            self._wake.set()
