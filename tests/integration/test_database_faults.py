"""Database faults reach callers as clear errors, never the driver's own.

* A write lock another process holds longer than TASKLOOM_WRITE_TIMEOUT:
  TaskService raises `Unavailable` (a TaskloomError) once the timeout is
  over, and GraphQL answers UNAVAILABLE with `retryable: true`; nothing of
  the refused write is written when the lock is released. Before: writes
  waited 30 s and more, then INTERNAL_SERVER_ERROR / sqlite3's own error.
* A database that cannot be opened: one line naming the path and the
  cause, exit status 2, for `migrate`, `serve` and `trigger`.
* `migrate` imports no task definitions.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.errors import TaskloomError, Unavailable
from taskloom.server.store.models import runs
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import post, served

TIMEOUT = 1.0


class Job(TaskDefinition[Any]):
    id = "faults-job"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class HeldLock:
    """Another process's write lock on the SQLite file (BEGIN IMMEDIATE on a
    connection of its own), held until released."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def sqlite_path(url: str) -> str:
    return url.split(":///", 1)[1]


async def count_runs(app: Taskloom) -> int:
    def count(conn: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(runs)).scalar_one())

    return await app.database.read(count)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_write_waits_at_most_the_write_timeout_then_is_unavailable(
    make_app: Any, database_url: str
) -> None:
    app: Taskloom = await make_app(Job, worker=False, write_timeout=TIMEOUT)
    lock = HeldLock(sqlite_path(database_url))
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable) as refused:
            await app.service.trigger(Job.id)
        waited = time.monotonic() - started
    finally:
        lock.release()
    assert isinstance(refused.value, TaskloomError)
    assert refused.value.code == "UNAVAILABLE" and refused.value.retryable
    assert "TASKLOOM_WRITE_TIMEOUT" in refused.value.message
    assert waited < 10 * TIMEOUT, "bounded by the timeout, not by 30 s of lock retries"
    await asyncio.sleep(0.5)  # the writer thread, unblocked, must skip the abandoned write
    assert await count_runs(app) == 0, "a write its caller gave up on is never written"
    await app.service.trigger(Job.id)
    assert await count_runs(app) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_graphql_answers_unavailable_and_retryable(database_url: str) -> None:
    trigger = 'mutation { triggerTask(definitionId: "faults-job") { id } }'
    served_app = served(database_url, worker=False, definitions=(Job,), write_timeout=TIMEOUT)
    async with served_app as (_app, client):
        lock = HeldLock(sqlite_path(database_url))
        try:
            body = await post(client, trigger)
        finally:
            lock.release()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "UNAVAILABLE"
        assert error["extensions"]["retryable"] is True
        assert "busy" in error["message"]
        assert "OperationalError" not in error["message"]
        assert (await post(client, trigger)).get("errors") is None


def taskloom(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "taskloom", *args]
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_missing_directory_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "taskloom.db"
    env = {**os.environ, "TASKLOOM_DATABASE_URL": f"sqlite+aiosqlite:///{missing}"}
    env["TASKLOOM_DEFINITIONS"] = "taskloom.definitions.examples"
    for args in (["migrate"], ["serve", "--port", "1"], ["trigger", "countdown"]):
        done = taskloom(*args, env=env, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        [line] = lines
        assert line.startswith(f"error: cannot open {missing}: no such directory {missing.parent}")
        assert line.endswith(
            "; check TASKLOOM_DATABASE_URL (host, port, user, password, "
            "database name or file path) and that the database is running"
        )
        assert "Traceback" not in done.stdout + done.stderr


def test_migrate_imports_no_task_definitions(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TASKLOOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'taskloom.db'}",
        "TASKLOOM_DEFINITIONS": "a_module_that_does_not_exist",
    }
    done = taskloom("migrate", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "taskloom.db").exists()
