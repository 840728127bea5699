"""Opening the database: migrations applied on start and idempotent, the
schema they build the one the models describe, and (on SQLite) the pragmas
the README promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.errors import ConfigurationError
from taskloom.server.store.connect import open_database
from taskloom.server.store.migrate import alembic_config, at_head, head_revisions, migrate
from taskloom.server.store.models import metadata
from taskloom.server.store.sqlite.connections import READER_CACHE_KIB
from taskloom.server.taskloom import Taskloom


class Noop(TaskDefinition[Any]):
    id = "db-noop"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


def tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_start_migrates_and_a_second_start_changes_nothing(make_app: Any) -> None:
    first: Taskloom = await make_app(Noop, worker=False)
    found = await first.database.read(tables)
    assert {"task_runs", "task_logs", "task_results", "alembic_version"} <= found
    run = await first.service.trigger(Noop.id, delay=60)
    await first.stop()
    second: Taskloom = await make_app(Noop, worker=False)
    assert await second.database.read(tables) == found
    assert (await second.service.get(run.id)).id == run.id
    await migrate(second.database)  # once more, on a database at head
    assert await second.service.count_runs() == 1


async def test_a_database_behind_head_is_upgraded_on_start(make_app: Any) -> None:
    first: Taskloom = await make_app(Noop, worker=False)
    await first.database.write_fn(lambda c: command.downgrade(alembic_config(c), "-1"))
    assert not await first.database.read(at_head)
    await first.stop()
    second: Taskloom = await make_app(Noop, worker=False)
    assert await second.database.read(at_head)
    assert await second.database.read(schema_drift) == []


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revisions() == frozenset(scripts.get_heads())


START = """
import asyncio, sys
from taskloom.server.taskloom import Taskloom

async def main() -> None:
    async with Taskloom(sys.argv[1], worker=True, load_entry_points=False):
        pass

asyncio.run(main())
print("alembic" in sys.modules)
"""


def test_a_process_finding_its_database_at_head_starts_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tl.db'}"
    first, second = (
        subprocess.run(
            [sys.executable, "-c", START, url], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    )
    assert (first, second) == (["True"], ["False"])


def schema_drift(conn: Connection) -> list[Any]:
    """What alembic's autogenerate would change to make the migrated schema
    match the models, less the claim index, which it cannot compare: its
    `priority DESC` is an expression it reads back as a different index."""
    drift = compare_metadata(MigrationContext.configure(conn), metadata)
    return [d for d in drift if not (d[0].endswith("_index") and d[1].name == "ix_task_runs_claim")]


async def test_the_migrations_build_the_schema_the_models_describe(make_app: Any) -> None:
    app: Taskloom = await make_app(Noop, worker=False)
    assert await app.database.read(schema_drift) == []


def pragma(name: str) -> Any:
    def read(conn: Connection) -> Any:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

    return read


@pytest.mark.parametrize(("setting", "level"), [("NORMAL", 1), ("FULL", 2)])
async def test_sqlite_pragmas(database_url: str, setting: str, level: int) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite pragmas")
    database = open_database(database_url, sqlite_synchronous=setting)
    await database.start()
    try:
        await migrate(database)
        assert str(await database.read(pragma("journal_mode"))).lower() == "wal"
        assert await database.read(pragma("foreign_keys")) == 1
        assert await database.read(pragma("synchronous")) == level
        assert int(await database.read(pragma("busy_timeout"))) > 0
        # Readers keep a small page cache (connections.READER_CACHE_KIB);
        # the writer SQLite's default.
        assert await database.read(pragma("cache_size")) == -READER_CACHE_KIB
        assert await database.write_fn(pragma("cache_size")) == -2000
        writer = await database.write_fn(pragma("synchronous"))
        assert writer == level
        assert await database.write_fn(pragma("foreign_keys")) == 1
    finally:
        await database.close()


def test_an_unknown_database_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="set TASKLOOM_DATABASE_URL to sqlite"):
        open_database("mysql://localhost/x")
