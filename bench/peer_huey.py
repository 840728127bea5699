"""Huey (SqliteHuey) on the same workload: enqueue N no-op tasks one by one,
drain them with a consumer of `--workers` thread workers, and end to end
(enqueue into a running consumer until all finished).

Runs in bench/.venv (Huey is not a dependency of Taskloom); prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from huey import SqliteHuey
from huey.signals import SIGNAL_COMPLETE


def measure(runs: int, workers: int) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs, "workers": workers}
    with tempfile.TemporaryDirectory(prefix="huey-bench-") as tmp:
        huey = SqliteHuey("bench", filename=str(Path(tmp) / "huey.db"))
        lock = threading.Lock()
        done = [0]
        finished = threading.Event()
        target = [runs]

        @huey.signal(SIGNAL_COMPLETE)
        def completed(signal: Any, task: Any, *args: Any) -> None:
            with lock:
                done[0] += 1
                if done[0] >= target[0]:
                    finished.set()

        @huey.task()
        def noop() -> None:
            return None

        t0 = time.perf_counter()
        for _ in range(runs):
            noop()
        out["enqueue_per_s"] = runs / (time.perf_counter() - t0)

        consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False)
        t0 = time.perf_counter()
        consumer.start()
        if not finished.wait(600):
            raise TimeoutError("huey did not drain")
        out["drain_per_s"] = runs / (time.perf_counter() - t0)

        # end to end: enqueue into the running consumer until all finished
        finished.clear()
        target[0] = 2 * runs
        t0 = time.perf_counter()
        for _ in range(runs):
            noop()
        out["enqueue_while_draining_per_s"] = runs / (time.perf_counter() - t0)
        if not finished.wait(600):
            raise TimeoutError("huey did not finish end to end")
        out["end_to_end_per_s"] = runs / (time.perf_counter() - t0)
        consumer.stop(graceful=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    result = measure(args.runs, args.workers)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
