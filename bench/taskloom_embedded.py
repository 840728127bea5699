"""Taskloom embedded workloads: no-op throughput, continue_ iterations,
trigger-to-start latency and worker memory.

Run with the project's interpreter: `.venv/bin/python -m bench.taskloom_embedded
WORKLOAD [--url URL] [--runs N]`; prints one JSON object on stdout.
Every workload uses a fresh database file (or a fresh PostgreSQL database
given by --url).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from taskloom.definitions import Registry, TaskController, TaskDefinition
from taskloom.definitions.filters import RunFilter
from taskloom.server.events.hub import Event, EventHub
from taskloom.server.taskloom import Taskloom

ACTIVE = ("PENDING", "RUNNING")


class Noop(TaskDefinition[Any]):
    id = "noop"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class Loop(TaskDefinition[Any]):
    """Calls continue_ `n` times, then finishes."""

    id = "loop"
    max_iterations = 1_000_000

    async def run(self, controller: TaskController[Any]) -> Any:
        i = controller.state.get("i", 0)
        if i >= controller.input.n:
            return controller.response.done(output={"iterations": i})
        return controller.response.continue_(state={"i": i + 1})


class Stamp(TaskDefinition[Any]):
    """Records when its iteration started (for trigger-to-start latency)."""

    id = "stamp"
    started: dict[str, float] = {}
    arrived = asyncio.Event()

    async def run(self, controller: TaskController[Any]) -> Any:
        Stamp.started[controller.run.id] = time.perf_counter()
        Stamp.arrived.set()
        return None


async def _started(run_id: str) -> float:
    """When the run's iteration started. Waits on an event, not a busy
    loop: a spinning event loop would hold the GIL and slow the database
    thread, which a real caller's idle loop does not."""
    while run_id not in Stamp.started:
        Stamp.arrived.clear()
        await Stamp.arrived.wait()
    return Stamp.started.pop(run_id)


REGISTRY = [Noop, Loop, Stamp]


def _app(url: str, *, worker: bool, **options: Any) -> Taskloom:
    options.setdefault("load_entry_points", False)
    return Taskloom(url, registry=Registry(REGISTRY), worker=worker, **options)


class _Finishes:
    """Counts the runs a Taskloom's worker finishes, from the events it
    publishes once their outcomes are committed."""

    def __init__(self, hub: EventHub) -> None:
        self.seen = 0
        self.target = 0
        self.reached = asyncio.Event()
        hub.on_publish(self._publish)

    def _publish(self, event: Event) -> None:
        if event.kind == "run" and event.data.get("finished"):
            self.seen += 1
            if self.seen >= self.target:
                self.reached.set()


_FINISHES: weakref.WeakKeyDictionary[EventHub, _Finishes] = weakref.WeakKeyDictionary()


async def _wait_drained(app: Taskloom, poll: float = 0.25, timeout: float = 600.0) -> None:
    """Returns once no run is PENDING or RUNNING. Between two counts it
    waits until the worker's events report as many runs finished as the
    last count left (as Huey's side waits for its completion signal), or
    `poll` seconds: counting every few milliseconds instead would take the
    worker's thread and end up to a poll interval late."""
    finishes = _FINISHES.get(app.hub)
    if finishes is None:
        finishes = _FINISHES[app.hub] = _Finishes(app.hub)
    deadline = time.monotonic() + timeout
    active = RunFilter(statuses=ACTIVE)
    while True:
        seen = finishes.seen
        left = await app.service.count_runs(active)
        if not left:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("runs did not drain")
        finishes.reached.clear()
        finishes.target = seen + left
        if finishes.seen < finishes.target:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finishes.reached.wait(), poll)


async def _succeeded(app: Taskloom) -> int:
    return await app.service.count_runs(RunFilter(statuses=("SUCCEEDED",)))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- workload 1: no-op throughput -------------------------------------------


async def noop_throughput(url: str, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs}
    # one by one through trigger(), no worker running
    async with _app(url, worker=False) as app:
        t0 = time.perf_counter()
        for _ in range(runs):
            await app.service.trigger("noop")
        out["trigger_one_by_one_per_s"] = runs / (time.perf_counter() - t0)
    # drain them with the default worker
    t0 = time.perf_counter()
    async with _app(url, worker=True) as app:
        await _wait_drained(app)
        out["drain_per_s"] = runs / (time.perf_counter() - t0)
        out["drain_succeeded"] = await _succeeded(app)
    # in bulk through trigger_many (chunks of 1,000), no worker running
    async with _app(url, worker=False) as app:
        t0 = time.perf_counter()
        for start in range(0, runs, 1_000):
            await app.service.trigger_many("noop", [None] * min(1_000, runs - start))
        out["trigger_many_per_s"] = runs / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    async with _app(url, worker=True) as app:
        await _wait_drained(app)
        out["drain_after_bulk_per_s"] = runs / (time.perf_counter() - t0)
    # end to end: bulk trigger into a running worker until all finished
    async with _app(url, worker=True) as app:
        t0 = time.perf_counter()
        for start in range(0, runs, 1_000):
            await app.service.trigger_many("noop", [None] * min(1_000, runs - start))
        await _wait_drained(app)
        out["end_to_end_bulk_per_s"] = runs / (time.perf_counter() - t0)
        # end to end one by one: trigger() into the running worker
        t0 = time.perf_counter()
        for _ in range(runs):
            await app.service.trigger("noop")
        out["trigger_one_by_one_while_draining_per_s"] = runs / (time.perf_counter() - t0)
        await _wait_drained(app)
        out["end_to_end_one_by_one_per_s"] = runs / (time.perf_counter() - t0)
        out["total_succeeded"] = await _succeeded(app)
    return out


# --- workload 3: continue_ iterations ----------------------------------------


async def iterations(url: str, runs: int, per_run: int = 100) -> dict[str, Any]:
    async with _app(url, worker=False) as app:
        await app.service.trigger_many("loop", [{"n": per_run}] * runs)
    t0 = time.perf_counter()
    async with _app(url, worker=True) as app:
        await _wait_drained(app)
        elapsed = time.perf_counter() - t0
        done = await _succeeded(app)
    total = runs * (per_run + 1)
    return {
        "runs": runs,
        "continue_per_run": per_run,
        "iterations": total,
        "succeeded": done,
        "iterations_per_s": total / elapsed,
    }


# --- workload 4: trigger-to-start latency -------------------------------------


def _percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "max_ms": samples[-1] * 1000}


async def latency(url: str, samples: int = 300, load_per_s: float = 2_000) -> dict[str, Any]:
    out: dict[str, Any] = {"samples": samples}
    async with _app(url, worker=True) as app:
        await asyncio.sleep(0.3)  # let the worker go idle
        lat: list[float] = []
        for _ in range(samples):
            t0 = time.perf_counter()
            run = await app.service.trigger("stamp")
            lat.append(await _started(run.id) - t0)
            await asyncio.sleep(0.01)  # idle between samples
        out["idle"] = _percentiles(lat)

        # steady background load of no-op runs, bulk-triggered in small batches
        stop = asyncio.Event()

        async def load() -> None:
            batch = 20
            interval = batch / load_per_s
            while not stop.is_set():
                await app.service.trigger_many("noop", [None] * batch)
                await asyncio.sleep(interval)

        loader = asyncio.create_task(load())
        await asyncio.sleep(0.5)
        lat = []
        for _ in range(samples):
            t0 = time.perf_counter()
            run = await app.service.trigger("stamp")
            lat.append(await _started(run.id) - t0)
            await asyncio.sleep(0.01)
        stop.set()
        await loader
        out["loaded"] = _percentiles(lat)
        out["load_runs_per_s"] = load_per_s
        await _wait_drained(app)
    return out


# --- workload 6: memory -------------------------------------------------------


async def memory(
    url: str, checkpoints: tuple[int, ...] = (1_000, 10_000, 100_000)
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with _app(url, worker=True) as app:
        done = 0
        for target in checkpoints:
            while done < target:
                n = min(1_000, target - done)
                await app.service.trigger_many("noop", [None] * n)
                done += n
            await _wait_drained(app)
            gc.collect()
            await asyncio.sleep(0.2)
            out[f"rss_mb_at_{target}"] = rss_mb()
    first, last = checkpoints[1], checkpoints[-1]
    out["growth_pct"] = (out[f"rss_mb_at_{last}"] / out[f"rss_mb_at_{first}"] - 1) * 100
    return out


WORKLOADS: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {
    "noop": noop_throughput,
    "iterations": iterations,
    "latency": latency,
    "memory": memory,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--url", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    kwargs: dict[str, Any] = {}
    if args.runs is not None:
        kwargs["runs"] = args.runs
    elif args.workload == "noop":
        kwargs["runs"] = 20_000
    elif args.workload == "iterations":
        kwargs["runs"] = 200
    with tempfile.TemporaryDirectory(prefix="taskloom-bench-") as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        result = asyncio.run(WORKLOADS[args.workload](url, **kwargs))
    result["workload"] = args.workload
    result["pid"] = os.getpid()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
