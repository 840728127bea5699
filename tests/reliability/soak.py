"""The soak: worker processes killed with SIGKILL while they run, `serve`
killed under load, and clients loading the API, on one database; what was
lost, stuck, duplicated or saved twice is counted from the database and
the ledger (report.py).

Small sizes run in `make test` (tests/reliability/test_kill9.py); `make
soak` runs the large ones on SQLite and PostgreSQL:

    python -m tests.reliability.soak [--runs 1000] [--seconds 90]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.reliability import report
from tests.reliability.defs import Child, Steps
from tests.reliability.harness import Proc
from tests.support.postgres import PgCluster, find_bindir, free_port

FINISHED = ("SUCCEEDED", "FAILED", "ABORTED")
WORKER_ENV = {
    "TASKLOOM_LEASE_SECONDS": "3",
    "TASKLOOM_MAX_LEASE_LOSSES": "50",
    "TASKLOOM_SHUTDOWN_GRACE": "2",
}


@dataclass
class Sizes:
    runs: int = 60
    steps: int = 3
    sleep: float = 0.1
    workers: int = 3
    kill_seconds: float = 8.0
    kill_every: tuple[float, float] = (1.0, 2.0)
    clients: int = 0
    load_seconds: float = 0.0
    serve_kills: int = 0


@dataclass
class Outcome:
    report: report.Report
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    load_errors: int = 0
    failures: list[str] = field(default_factory=list)
    serve_kills: int = 0

    def load(self) -> dict[str, float]:
        if not self.latencies_ms:
            return {}
        ordered = sorted(self.latencies_ms)
        return {
            "requests": len(ordered),
            "p50_ms": statistics.median(ordered),
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        }


async def _all_finished(api: Taskloom, total: int) -> bool:
    return await api.service.count_runs(RunFilter(statuses=FINISHED)) >= total


async def kill_soak(url: str, folder: Path, sizes: Sizes) -> Outcome:
    """Runs of `sizes.steps` iterations (each triggering one child) on
    `sizes.workers` worker processes, one of them killed with SIGKILL and
    started again every `kill_every` seconds for `kill_seconds`; `serve`
    killed `serve_kills` times while `clients` clients load it."""
    book = folder / "ledger.jsonl"
    api = Taskloom(url, registry=Registry([Steps, Child]), worker=False, load_entry_points=False)
    await api.start()
    workers = [Proc(["worker"], url, folder, book, **WORKER_ENV) for _ in range(sizes.workers)]
    port = free_port()
    serve = Proc(["serve", "--no-worker", "--port", str(port)], url, folder, book)
    killed: set[int] = set()
    outcome = Outcome(report.Report(), 0.0)
    started = time.monotonic()
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready("running")
        if sizes.clients:
            serve.start().wait_ready("Application startup complete")
        parents: list[str] = []
        inputs = [{"steps": sizes.steps, "sleep": sizes.sleep}] * sizes.runs
        for chunk in range(0, sizes.runs, 500):
            made = await api.service.trigger_many(Steps.id, inputs[chunk : chunk + 500])
            parents += [run.id for run in made]
        load = asyncio.create_task(_load(port, sizes, outcome, serve)) if sizes.clients else None
        deadline = time.monotonic() + sizes.kill_seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(random.uniform(*sizes.kill_every))
            victim = random.choice(workers)
            killed.add(victim.kill9())
            victim.start()
        if load is not None:
            await load
        total = 2 * sizes.runs
        end = time.monotonic() + 120 + sizes.runs * sizes.steps * sizes.sleep
        while not await _all_finished(api, total):
            if time.monotonic() > end:
                break
            await asyncio.sleep(0.2)
        outcome.seconds = time.monotonic() - started
        outcome.report = await report.build(api, parents, book, killed)
        return outcome
    finally:
        for worker in workers:
            worker.stop()
        serve.stop()
        await api.stop()


async def _load(port: int, sizes: Sizes, outcome: Outcome, serve: Proc) -> None:
    """`clients` clients reading and triggering over GraphQL for
    `load_seconds`, while `serve` is killed `serve_kills` times (and
    started again). Requests while it is down are not counted as errors;
    any other failed request is."""
    query = "{ taskRuns(first: 20) { edges { node { id status } } } }"
    trigger = 'mutation { triggerTask(definitionId: "rel.child", input: {}) { id } }'
    end = time.monotonic() + sizes.load_seconds
    down = asyncio.Event()

    async def client(number: int) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            while time.monotonic() < end:
                body = {"query": trigger if number % 5 == 0 else query}
                began = time.perf_counter()
                try:
                    answer = await http.post("/graphql", json=body)
                except httpx.TransportError:
                    if not down.is_set():
                        outcome.load_errors += 1
                    await asyncio.sleep(0.2)
                    continue
                if answer.status_code != 200 or answer.json().get("errors"):
                    outcome.load_errors += 1
                    if len(outcome.failures) < 3:  # what the first failures said
                        outcome.failures.append(f"{answer.status_code}: {answer.text[:300]}")
                else:
                    outcome.latencies_ms.append((time.perf_counter() - began) * 1000)

    async def killer() -> None:
        for _ in range(sizes.serve_kills):
            await asyncio.sleep(sizes.load_seconds / (sizes.serve_kills + 1))
            down.set()
            serve.kill9()
            outcome.serve_kills += 1
            serve.start()
            await asyncio.to_thread(serve.wait_ready, "Application startup complete")
            await asyncio.sleep(0.5)
            down.clear()

    await asyncio.gather(killer(), *(client(i) for i in range(sizes.clients)))


def _print(name: str, outcome: Outcome) -> None:
    r = outcome.report
    print(f"\n== {name}: {r.runs} runs in {outcome.seconds:.0f} s, {r.kills} worker kills")
    print("   " + ", ".join(f"{k} {v}" for k, v in r.zeros().items()))
    print(
        f"   repeated iterations {r.repeated_iterations} (explained by a kill: "
        f"{r.repeated_iterations - r.unexplained_repeats})"
    )
    if outcome.latencies_ms:
        load = outcome.load()
        print(
            f"   load: {load['requests']:.0f} requests, p50 {load['p50_ms']:.1f} ms, "
            f"p99 {load['p99_ms']:.1f} ms, errors {outcome.load_errors}, "
            f"serve killed {outcome.serve_kills} times"
        )
    for line in r.details[:10] + outcome.failures:
        print("   " + line)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    sizes = Sizes(
        runs=args.runs,
        steps=3,
        sleep=0.2,
        workers=3,
        kill_seconds=args.seconds,
        kill_every=(1.0, 3.0),
        clients=args.clients,
        load_seconds=args.load_seconds,
        serve_kills=4,
    )
    failed = False
    for name in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="taskloom-soak-") as folder:
            cluster: Any = None
            if name == "postgresql":
                bindir = find_bindir()
                if bindir is None:
                    print("PostgreSQL is not installed: skipped")
                    continue
                cluster = PgCluster(bindir).start()
                url = cluster.url(cluster.create_database())
            else:
                url = f"sqlite+aiosqlite:///{folder}/taskloom.db"
            try:
                outcome = await kill_soak(url, Path(folder), sizes)
            finally:
                if cluster is not None:
                    cluster.stop()
            _print(name, outcome)
            failed = failed or any(outcome.report.zeros().values()) or outcome.load_errors > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
