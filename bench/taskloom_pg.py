"""Taskloom on PostgreSQL: trigger N no-op runs (one by one, and in bulk),
drain them with `--processes` worker processes (`taskloom worker`'s
engine, default concurrency); prints JSON. Project interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import Connection, exists, select

from bench.taskloom_embedded import ACTIVE, _app
from taskloom.server.store.models import runs as task_runs


async def _trigger(url: str, runs: int, bulk: bool) -> float:
    async with _app(url, worker=False) as app:
        t0 = time.perf_counter()
        if bulk:
            for start in range(0, runs, 1_000):
                await app.service.trigger_many("noop", [None] * min(1_000, runs - start))
        else:
            for _ in range(runs):
                await app.service.trigger("noop")
        return runs / (time.perf_counter() - t0)


def _any_active(conn: Connection) -> bool:
    # EXISTS, not a count: the poll's own cost would slow the drain it
    # waits for (a count of 20,000 runs took 7-9 ms of the server's CPU
    # every 20 ms). bench/peer_procrastinate.py polls the same way.
    return bool(conn.execute(select(exists().where(task_runs.c.status.in_(ACTIVE)))).scalar())


async def _wait(url: str, deadline: float) -> None:
    async with _app(url, worker=False) as app:
        while await app.database.read(_any_active):
            if time.monotonic() > deadline:
                raise TimeoutError("runs did not drain")
            await asyncio.sleep(0.02)


def _drain(url: str, runs: int, processes: int) -> float:
    t0 = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.taskloom_pg", "--url", url, "--worker"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    try:
        asyncio.run(_wait(url, time.monotonic() + 600))
        return runs / (time.perf_counter() - t0)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)


async def _worker(url: str) -> None:
    import signal

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with _app(url, worker=True):
        await stop.wait()


def measure(url: str, runs: int, processes: int) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs, "processes": processes}
    out["trigger_one_by_one_per_s"] = asyncio.run(_trigger(url, runs, bulk=False))
    out["drain_per_s"] = _drain(url, runs, processes)
    out["trigger_many_per_s"] = asyncio.run(_trigger(url, runs, bulk=True))
    out["drain_after_bulk_per_s"] = _drain(url, runs, processes)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=5_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(args.url))
        return
    json.dump(measure(args.url, args.runs, args.processes), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
