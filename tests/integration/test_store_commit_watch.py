"""Processes sharing one SQLite file wake each other's workers: a run
triggered by one process starts in another's worker without waiting for its
poll (set to a minute here, so only the commit watch can explain a start
within seconds)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.registry import Registry
from taskloom.server.events.hub import EventHub
from taskloom.server.events.sqlite_watch import CommitWatch
from taskloom.server.store.sqlite.data_version import DataVersion
from taskloom.server.taskloom import Taskloom

SLOW_POLL = 60.0


class Echo(TaskDefinition[Any]):
    id = "watch-echo"

    async def run(self, controller: TaskController[Any]) -> Any:
        return {"ran": controller.run.id}


def _app(path: Path, *, worker: bool) -> Taskloom:
    return Taskloom(
        f"sqlite+aiosqlite:///{path}",
        registry=Registry([Echo]),
        worker=worker,
        poll_interval=SLOW_POLL,
        load_entry_points=False,
        maintenance=False,
    )


async def _finished(app: Taskloom, run_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = await app.service.get(run_id)
        if run.has_ended:
            return run.status.value
        await asyncio.sleep(0.02)
    return "not finished"


async def test_a_run_triggered_elsewhere_starts_without_waiting_for_the_poll(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    async with _app(path, worker=True) as workers, _app(path, worker=False) as api:
        # Let the worker's first claim find nothing and go idle on its poll.
        await asyncio.sleep(0.3)
        for _ in range(3):
            started = time.monotonic()
            run = await api.service.trigger(Echo)
            assert await _finished(api, run.id, timeout=10.0) == "SUCCEEDED"
            assert time.monotonic() - started < 10.0
        assert (await workers.service.get(run.id)).output == {"ran": run.id}


async def test_the_watch_reports_other_connections_commits_only(tmp_path: Path) -> None:
    path = tmp_path / "watched.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x INTEGER)")
    hub = EventHub()
    wakes: list[float] = []
    woken = asyncio.Event()

    def wake() -> None:
        wakes.append(time.monotonic())
        woken.set()

    hub.on_due(wake)
    watch = CommitWatch(DataVersion(str(path)), hub, interval=0.005)
    await watch.start()
    try:
        await asyncio.sleep(0.1)
        assert wakes == []  # nothing committed: no wake-ups
        other.execute("INSERT INTO t VALUES (1)")
        await asyncio.wait_for(woken.wait(), 5.0)
        assert len(wakes) == 1
        other.execute("SELECT count(*) FROM t").fetchone()  # a read is not a commit
        await asyncio.sleep(0.1)
        assert len(wakes) == 1
    finally:
        await watch.close()
        other.close()
