"""Shared fixtures: a database URL per test and a factory for running systems.

`database_url` is the seam for backends: integration tests that take it run
once per backend the fixture is parametrized with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from definitions.definition import TaskDefinition
from definitions.registry import Registry
from server.taskloom import Taskloom

AppFactory = Callable[..., Any]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'taskloom.db'}"


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
