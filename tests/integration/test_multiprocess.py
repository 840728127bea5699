"""Four `taskloom worker` processes share one database (a PostgreSQL server,
or one SQLite file) with an API process that triggers 1,000 runs of two
iterations each. Every iteration records a side effect keyed by (run id,
iteration, attempt): each must have executed exactly once, every run must
finish, and nothing may report "database is locked"."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, text

from taskloom.definitions import TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry
from taskloom.server.store import queries
from taskloom.server.store.migrate import migrate
from taskloom.server.store.new_runs import InsertRuns, new_run_row
from taskloom.server.store.sqlite.database import SQLiteDatabase
from taskloom.server.taskloom import Taskloom
from tests.integration.multiproc_defs import (
    DUPLICATES_DDL,
    EFFECTS_DDL,
    ITERATIONS,
    HangInFirstWorker,
    RecordEffect,
)
from tests.support.postgres import free_port

WORKERS = 4
RUNS = 1_000
CONCURRENCY = 50
ROOT = Path(__file__).resolve().parents[2]
FINISHED = ("SUCCEEDED", "FAILED", "ABORTED")


def _worker_command() -> list[str]:
    script = Path(sys.executable).parent / "taskloom"
    if script.exists():
        return [str(script)]
    found = shutil.which("taskloom")
    return [found] if found else [sys.executable, "-m", "taskloom.server.cli"]


class TaskloomProcess:
    """`taskloom <args>` in a subprocess on the test's database, loading the
    definitions of multiproc_defs; output goes to files in the test folder."""

    def __init__(
        self,
        index: int,
        url: str,
        folder: Path,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.index = index
        self.url = url
        self.args = args or ["worker", "--concurrency", str(CONCURRENCY)]
        self.env = env or {}
        self.out = folder / f"{self.args[0]}-{index}.out"
        self.err = folder / f"{self.args[0]}-{index}.err"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = dict(os.environ)
        env.update(
            TASKLOOM_DATABASE_URL=self.url,
            TASKLOOM_DEFINITIONS="tests.integration.multiproc_defs",
            TASKLOOM_LOAD_ENTRY_POINTS="false",
            TASKLOOM_POLL_INTERVAL="0.5",
            TASKLOOM_SHUTDOWN_GRACE="5",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        )
        env.update(self.env)
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                *_worker_command(),
                *self.args,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
            )

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def ready(self) -> bool:
        return "running" in self.out.read_text(errors="replace")

    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    async def stop(self, timeout: float = 30) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            return None


@pytest.fixture
async def workers(database_url: str, tmp_path: Path) -> AsyncIterator[list[TaskloomProcess]]:
    started = [TaskloomProcess(i, database_url, tmp_path) for i in range(WORKERS)]
    yield started
    for worker in started:
        await worker.stop(timeout=10)


async def _wait_until(predicate: Any, timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(poll)


@pytest.mark.timeout(240)
async def test_four_worker_processes_execute_each_iteration_exactly_once(
    database_url: str,
    workers: list[TaskloomProcess],
    record_property: Any,
) -> None:
    api = Taskloom(
        database_url,
        registry=Registry([RecordEffect]),
        worker=False,
        load_entry_points=False,
    )
    await api.start()
    try:

        def create_tables(conn: Connection) -> None:
            conn.execute(text(EFFECTS_DDL))
            conn.execute(text(DUPLICATES_DDL))

        await api.database.write_fn(create_tables)
        for worker in workers:
            await worker.start()

        async def all_ready() -> bool:
            for worker in workers:
                if worker.exited():
                    raise AssertionError(f"worker {worker.index} exited:\n{worker.output()}")
            return all(w.ready() for w in workers)

        await _wait_until(all_ready, 60, "the workers to start")
        events = api.hub.subscribe("run", "*")  # what other processes report

        started = time.monotonic()
        for chunk in range(0, RUNS, 500):
            await api.service.trigger_many("mp-record", [None] * min(500, RUNS - chunk))

        async def all_finished() -> bool:
            done = await api.service.count_runs(RunFilter(statuses=FINISHED))
            if done < RUNS:
                for worker in workers:
                    if worker.exited():
                        raise AssertionError(f"worker {worker.index} died:\n{worker.output()}")
            return done >= RUNS

        await _wait_until(all_finished, 150, f"{RUNS} runs to finish", poll=0.05)
        elapsed = time.monotonic() - started
        throughput = RUNS / elapsed
        backend = database_url.split(":", 1)[0]
        record_property("runs_per_second", round(throughput, 1))
        print(
            f"\n{backend}: {RUNS} runs x {ITERATIONS} iterations on {WORKERS} worker "
            f"processes in {elapsed:.2f} s = {throughput:.0f} runs/s "
            f"({throughput * ITERATIONS:.0f} iterations/s)"
        )

        succeeded = await api.service.count_runs(RunFilter(statuses=("SUCCEEDED",)))
        assert succeeded == RUNS

        def effects(conn: Connection) -> dict[str, Any]:
            return {
                "rows": conn.execute(text("SELECT count(*) FROM mp_effects")).scalar_one(),
                "runs": conn.execute(
                    text("SELECT count(DISTINCT run_id) FROM mp_effects")
                ).scalar_one(),
                "per_iteration": dict(
                    conn.execute(
                        text(
                            "SELECT iteration, count(*) FROM mp_effects"
                            " WHERE attempt = 0 GROUP BY iteration"
                        )
                    ).all()
                ),
                "duplicates": conn.execute(text("SELECT count(*) FROM mp_duplicates")).scalar_one(),
                "pids": conn.execute(
                    text("SELECT count(DISTINCT pid) FROM mp_effects")
                ).scalar_one(),
                "unknown": conn.execute(
                    text(
                        "SELECT count(*) FROM mp_effects e"
                        " LEFT JOIN task_runs r ON r.id = e.run_id WHERE r.id IS NULL"
                    )
                ).scalar_one(),
            }

        found = await api.database.read(effects)
        assert found["duplicates"] == 0, "an iteration ran twice in the same attempt"
        assert found["rows"] == RUNS * ITERATIONS
        assert found["runs"] == RUNS
        assert found["unknown"] == 0
        assert found["per_iteration"] == {i: RUNS for i in range(ITERATIONS)}
        assert found["pids"] > 1, "the work was not shared between the processes"

        if api.database.dialect == "postgresql":
            # The API process runs no worker: run events it received came
            # from the workers' processes, over LISTEN/NOTIFY.
            seen: set[str] = set()
            while not events.queue.empty():
                seen.add(str(events.queue.get_nowait().status))
            assert {"RUNNING", "SUCCEEDED"} <= seen
        events.close()
    finally:
        codes = [await worker.stop() for worker in workers]
        await api.stop()
    for worker in workers:
        output = worker.output()
        assert "database is locked" not in output, output
        assert "Traceback" not in output, output
    assert codes == [0] * WORKERS


@pytest.mark.timeout(120)
async def test_an_api_without_a_worker_and_separate_workers_compose(
    database_url: str, tmp_path: Path
) -> None:
    """`taskloom serve --no-worker` runs nothing itself; two `taskloom worker
    --concurrency 2` processes run what is triggered."""
    api = Taskloom(
        database_url, registry=Registry([RecordEffect]), worker=False, load_entry_points=False
    )
    await api.start()
    port = free_port()
    serve = TaskloomProcess(
        0, database_url, tmp_path, ["serve", "--no-worker", "--port", str(port)]
    )
    runners = [
        TaskloomProcess(i, database_url, tmp_path, ["worker", "--concurrency", "2"])
        for i in range(2)
    ]
    processes = [serve, *runners]
    try:

        def create_tables(conn: Connection) -> None:
            conn.execute(text(EFFECTS_DDL))
            conn.execute(text(DUPLICATES_DDL))

        await api.database.write_fn(create_tables)
        for process in processes:
            await process.start()

        probe = (await api.tokens.create("probe", "developer")).secret
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {probe}"}
        ) as client:
            health: dict[str, Any] = {}

            async def serving() -> bool:
                nonlocal health
                for process in processes:
                    if process.exited():
                        raise AssertionError(f"{process.args[0]} exited:\n{process.output()}")
                try:
                    response = await client.get("/healthz")
                except httpx.TransportError:
                    return False
                health = response.json()
                return response.status_code == 200 and all(r.ready() for r in runners)

            await _wait_until(serving, 60, "the API and the workers to start")
        assert health["worker"] is None
        assert "mp-record" in health["definitions"]

        runs = await api.service.trigger_many("mp-record", [None] * 20)
        for run in runs:
            finished = await api.service.wait(run.id, timeout=30)
            assert finished.output == {"iterations": ITERATIONS}

        def pids(conn: Connection) -> set[int]:
            return set(conn.execute(text("SELECT DISTINCT pid FROM mp_effects")).scalars())

        worker_pids = {r.process.pid for r in runners if r.process is not None}
        assert await api.database.read(pids) <= worker_pids
    finally:
        codes = [await process.stop() for process in processes]
        await api.stop()
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert codes[0] in (0, -signal.SIGTERM) and "shutdown complete" in serve.output()
    assert codes[1:] == [0, 0], [p.output() for p in runners]


@pytest.mark.timeout(120)
async def test_the_runs_of_a_killed_worker_are_rescued_by_another_process(
    database_url: str, tmp_path: Path
) -> None:
    """A worker is killed (SIGKILL) in the middle of an iteration: once its
    lease expires, a worker in another process puts the run back and runs it."""
    api = Taskloom(
        database_url,
        registry=Registry([HangInFirstWorker]),
        worker=False,
        load_entry_points=False,
    )
    await api.start()
    lease = {"TASKLOOM_LEASE_SECONDS": "1.5"}
    doomed = TaskloomProcess(0, database_url, tmp_path, None, {**lease, "MP_HANG": "1"})
    rescuer = TaskloomProcess(1, database_url, tmp_path, None, lease)
    try:
        await doomed.start()
        run = await api.service.trigger("mp-hang")
        await api.service.wait(run.id, statuses=[TaskStatus.RUNNING], timeout=60)
        assert doomed.process is not None
        doomed.process.kill()
        await doomed.process.wait()
        await rescuer.start()
        finished = await api.service.wait(run.id, timeout=60)
        assert finished.status is TaskStatus.SUCCEEDED
        assert rescuer.process is not None
        assert finished.output == {"pid": rescuer.process.pid}
        logs = await api.service.logs(run.id)
        assert any("lease expired" in line.message for line in logs.items)
    finally:
        await rescuer.stop()
        await doomed.stop()
        await api.stop()


async def test_sqlite_locks_held_by_another_process_never_reach_a_caller(tmp_path: Path) -> None:
    """Another process holds the file exclusively for longer than the busy
    timeout: reads and writes wait and retry instead of failing with
    "database is locked"."""
    path = tmp_path / "locked.db"
    url = f"sqlite+aiosqlite:///{path}"
    setup = SQLiteDatabase(url)
    await setup.start()
    await migrate(setup)
    await setup.close()
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("PRAGMA locking_mode=EXCLUSIVE")
    blocker.execute("BEGIN EXCLUSIVE")
    database = SQLiteDatabase(url, busy_timeout_ms=50)
    await database.start()
    try:
        now = time.time()
        row = new_run_row(definition_id="d", input={}, now=now, run_at=now)
        write = asyncio.create_task(database.run_write(InsertRuns([row])))
        read = asyncio.create_task(database.read(lambda c: queries.count_runs(c, RunFilter())))
        done, _ = await asyncio.wait({write, read}, timeout=0.5)  # 10x the busy timeout
        assert not done, [task.exception() for task in done]
        blocker.execute("COMMIT")
        blocker.close()  # the other process lets go of the file
        await asyncio.wait_for(write, 30)
        assert await asyncio.wait_for(read, 30) in (0, 1)
        assert await database.read(lambda c: queries.get_run(c, row["id"])) is not None
    finally:
        blocker.close()
        await database.close()
