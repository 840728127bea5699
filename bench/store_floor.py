"""What the SQLite store alone costs per drained no-op run: the writer's own
statements (claim, then save the outcome; a run that finishes keeps its
history record in its own row), in batches of 256 as the worker makes
them, on one thread with no event loop, no engine and no other thread
wanting the GIL. Its inverse bounds the drain:
no engine could drain faster than this store writes.

Run with the project's interpreter: `.venv/bin/python -m bench.store_floor
[--runs N]`; prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import RowMapping

from bench.taskloom_embedded import Noop, _app
from taskloom.definitions.responses import Done
from taskloom.server.engine.lifecycle import RunPosition, decide
from taskloom.server.engine.outcome_rows import build_outcome
from taskloom.server.store.claims import Claim
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.outcomes import FinishIterations
from taskloom.server.store.sqlite.connections import begin_immediate, pragmas

BATCH = 256


async def _pending(db: Path, runs: int) -> None:
    async with _app(f"sqlite+aiosqlite:///{db}", worker=False) as app:
        for start in range(0, runs, 1_000):
            await app.service.trigger_many("noop", [None] * min(1_000, runs - start))


def _succeeded(row: RowMapping, worker: str, now: float) -> IterationOutcome:
    """What the engine hands the store for a no-op that returned None, made
    by the engine's own `decide` and `build_outcome`."""
    position = RunPosition(
        iterations=row["iterations"],
        attempt=row["attempt"],
        state=row["state"] or {},
        max_iterations=Noop.max_iterations,
        retry=Noop.retry,
    )
    transition = decide(position, Done(None), now)
    return build_outcome(row, worker, transition, None, [], [], now, Noop)


def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="taskloom-floor-") as tmp:
        db = Path(tmp) / "floor.db"
        asyncio.run(_pending(db, runs))
        engine = create_engine(f"sqlite+pysqlite:///{db}")
        event.listen(engine, "connect", pragmas("NORMAL", 5000, writer=True))
        event.listen(engine, "begin", begin_immediate)
        claim_s = save_s = 0.0
        drained = 0
        with engine.connect() as conn:
            while True:
                now = time.time()
                t0 = time.thread_time()
                with conn.begin():
                    rows = Claim("floor", BATCH, now, now + 30, ["noop"]).apply(conn)
                claim_s += time.thread_time() - t0
                if not rows:
                    break
                outcomes = [_succeeded(row, "floor", now) for row in rows]
                t0 = time.thread_time()
                with conn.begin():
                    saved = FinishIterations(outcomes).apply(conn)
                save_s += time.thread_time() - t0
                assert saved == [True] * len(rows), saved
                drained += len(rows)
        engine.dispose()
    per_run = (claim_s + save_s) / drained
    return {
        "runs": drained,
        "claim_us_per_run": claim_s / drained * 1e6,
        "save_us_per_run": save_s / drained * 1e6,
        "store_us_per_run": per_run * 1e6,
        "store_bound_runs_per_s": 1 / per_run,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20_000)
    args = parser.parse_args()
    json.dump(measure(args.runs), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
