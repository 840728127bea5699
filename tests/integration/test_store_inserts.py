"""A bulk trigger's rows go to SQLite as one INSERT … SELECT … FROM (VALUES
…) per chunk, with the values they share bound once
(server/store/sqlite/inserts.py). It must store exactly what the
executemany path stores, on two real SQLite databases side by side."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from taskloom.server.store.models import runs
from taskloom.server.store.new_runs import another_run_row, new_run_row
from taskloom.server.store.sqlite.compiled import CompiledStatement
from taskloom.server.store.sqlite.inserts import insert_shared
from taskloom.server.store.sqlite.scripts import run_steps
from tests.support.sqlite_pair import sqlite_pair


@pytest.fixture
def connections() -> Iterator[tuple[Connection, Connection]]:
    with sqlite_pair() as pair:
        yield pair


def _bulk(count: int, **template: Any) -> list[dict[str, Any]]:
    first = new_run_row(definition_id="job", input={"n": 0}, now=1.75e9, run_at=1.75e9, **template)
    keys = [None, "a", None, "b"]
    return [first] + [
        another_run_row(first, {"n": n, "text": "é'\"" * (n % 3)}, keys[n % 4])
        for n in range(1, count)
    ]


def _stored(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(runs).order_by(runs.c.id)).mappings()]


@pytest.mark.parametrize(
    ("count", "template"),
    [
        (2, {}),
        (1_234, {}),  # three chunks, the last one short
        (40, {"name": "nightly 'report'", "priority": 5, "created_by": "ops", "simulate": True}),
    ],
)
def test_stores_what_executemany_stores(
    connections: tuple[Connection, Connection], count: int, template: dict[str, Any]
) -> None:
    shared, each = connections
    rows = _bulk(count, **template)
    statement = CompiledStatement(insert(runs), list(rows[0]))

    steps = insert_shared(shared.dialect, "task_runs", statement, rows)
    assert steps is not None
    run_steps(shared, steps)
    statement.execute_many(each, rows)

    stored = _stored(shared)
    assert len(stored) == count
    assert stored == _stored(each)


def test_declines_the_same_row_twice(connections: tuple[Connection, Connection]) -> None:
    """Nothing differs, so nothing is written: executemany then raises the
    duplicate key as it would for any two equal rows."""
    shared, _ = connections
    one = new_run_row(definition_id="job", input={}, now=1.75e9, run_at=1.75e9)
    statement = CompiledStatement(insert(runs), list(one))
    assert insert_shared(shared.dialect, "task_runs", statement, [one, one]) is None
    assert _stored(shared) == []
