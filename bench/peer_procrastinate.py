"""procrastinate on PostgreSQL: defer N no-op jobs (one by one and in one
batch), then drain them with `--processes` worker processes of
`--concurrency` each; prints JSON. Runs in bench/.venv.

`python bench/peer_procrastinate.py --dsn DSN` measures;
`... --dsn DSN --worker` is one worker process (started by the measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import procrastinate
import psycopg


def make_app(dsn: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="noop", queue="bench")
    async def noop() -> None:
        return None

    return app


def _active(conn: psycopg.Connection[Any]) -> bool:
    # EXISTS on one held connection, as bench/taskloom_pg.py polls: the
    # poll's own cost is not the drain's.
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing'))"
    ).fetchone()
    return bool(row and row[0])


def _drain(dsn: str, runs: int, processes: int, concurrency: int) -> float:
    t0 = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--dsn", dsn, "--worker", "--concurrency", str(concurrency)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    try:
        deadline = time.monotonic() + 600
        with psycopg.connect(dsn, autocommit=True) as conn:
            while _active(conn):
                if time.monotonic() > deadline:
                    raise TimeoutError("procrastinate did not drain")
                time.sleep(0.02)
        return runs / (time.perf_counter() - t0)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)


async def _defer(dsn: str, runs: int) -> dict[str, float]:
    app = make_app(dsn)
    out: dict[str, float] = {}
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        noop = app.tasks["noop"]
        t0 = time.perf_counter()
        for _ in range(runs):
            await noop.defer_async()
        out["enqueue_per_s"] = runs / (time.perf_counter() - t0)
    return out


async def _batch_defer(dsn: str, runs: int) -> float:
    app = make_app(dsn)
    async with app.open_async():
        noop = app.tasks["noop"]
        t0 = time.perf_counter()
        for start in range(0, runs, 1_000):
            await noop.batch_defer_async(*[{} for _ in range(min(1_000, runs - start))])
        return runs / (time.perf_counter() - t0)


async def _worker(dsn: str, concurrency: int) -> None:
    app = make_app(dsn)
    async with app.open_async():
        await app.run_worker_async(queues=["bench"], concurrency=concurrency, wait=True)


def measure(dsn: str, runs: int, processes: int, concurrency: int) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs, "processes": processes, "concurrency": concurrency}
    out.update(asyncio.run(_defer(dsn, runs)))
    out["drain_per_s"] = _drain(dsn, runs, processes, concurrency)
    out["batch_enqueue_per_s"] = asyncio.run(_batch_defer(dsn, runs))
    out["drain_after_batch_per_s"] = _drain(dsn, runs, processes, concurrency)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--runs", type=int, default=5_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(args.dsn, args.concurrency))
        return
    json.dump(measure(args.dsn, args.runs, args.processes, args.concurrency), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
