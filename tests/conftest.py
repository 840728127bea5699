"""Shared fixtures: a database URL per test and a factory for running systems.

`database_url` is the seam for backends: integration tests that take it run
once per backend the fixture is parametrized with.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.support.postgres import PgCluster, find_bindir

AppFactory = Callable[..., Any]

# A hung test fails with the stacks of its asyncio tasks, and never hangs the
# run for good (tests/support/hang_watch.py).
pytest_plugins = ["tests.support.hang_watch"]


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL server for the session, started on first use.
    Without PostgreSQL the tests that need it skip, except in CI (CI=true),
    where they fail: CI must run them."""
    bindir = find_bindir()
    if bindir is None:
        message = (
            "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in "
            "/usr/lib/postgresql/*/bin); `make test` installs it"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    cluster = PgCluster(bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once, by Taskloom's own migrations, that each
    test's file is copied from (as the PostgreSQL template is): a test's
    first start then finds the schema at head instead of running every
    migration again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "taskloom.db"

    async def upgrade() -> None:
        from taskloom.server.store.connect import open_database
        from taskloom.server.store.migrate import migrate

        database = open_database(f"sqlite+aiosqlite:///{path}")
        await database.start()
        try:
            await migrate(database)
        finally:
            await database.close()

    asyncio.run(upgrade())
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database per test, once per backend: a SQLite file in the
    test's temporary folder or a new database on the session's PostgreSQL
    server, each copied from a template that Taskloom's migrations brought
    to head; dropped afterwards. `-m "not postgres"` runs the SQLite side
    only."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "taskloom.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'taskloom.db'}"
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
async def make_app(database_url: str) -> AsyncIterator[AppFactory]:
    """`await make_app(Def1, Def2, worker=True, **settings)` starts a Taskloom
    on the test's database with only the given definitions; all are stopped
    at the end of the test."""
    started: list[Taskloom] = []

    async def factory(*definitions: type[TaskDefinition[Any]], **options: Any) -> Taskloom:
        options.setdefault("load_entry_points", False)
        options.setdefault("poll_interval", 0.2)
        options.setdefault("shutdown_grace", 2.0)
        app = Taskloom(database_url, registry=Registry(definitions), **options)
        await app.start()
        started.append(app)
        return app

    yield factory
    for app in reversed(started):
        if app.worker is not None or getattr(app, "database", None) is not None:
            await app.stop(grace=0.5)
