"""`Savepoint` (server/store/savepoint.py) inside the store's own write
transactions, on SQLite (statements sent to the driver) and PostgreSQL
(SQLAlchemy's begin_nested): released work stays, rolled-back work goes,
nested savepoints unwind in order, and the transaction around them goes on."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from server.store.models import runs
from server.store.rows import new_run_row
from server.store.savepoint import Savepoint
from server.taskloom import Taskloom


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    started: Taskloom = await make_app(worker=False)
    return started


def _insert(conn: Connection, name: str) -> None:
    row = new_run_row(definition_id="job", input={}, now=time.time(), run_at=time.time())
    conn.execute(insert(runs).values({**row, "name": name}))


def _names(conn: Connection) -> set[str]:
    return {name for (name,) in conn.execute(select(runs.c.name))}


class Refused(Exception):
    pass


async def test_released_work_stays_and_rolled_back_work_goes(app: Taskloom) -> None:
    def write(conn: Connection) -> set[str]:
        if conn.dialect.name == "sqlite":  # the driver's statements, not begin_nested
            assert isinstance(conn.connection.driver_connection, sqlite3.Connection)
        _insert(conn, "before")
        with Savepoint(conn):
            _insert(conn, "released")
        with Savepoint(conn) as savepoint:
            _insert(conn, "rolled back")
            savepoint.rollback()
        _insert(conn, "after")
        return _names(conn)

    inside = await app.database.write_fn(write)
    assert inside == {"before", "released", "after"}
    assert await app.database.read(_names) == inside


async def test_an_exception_rolls_back_to_the_savepoint_and_goes_on(app: Taskloom) -> None:
    def write(conn: Connection) -> set[str]:
        _insert(conn, "before")
        with pytest.raises(Refused), Savepoint(conn):
            _insert(conn, "failed")
            raise Refused
        _insert(conn, "after")
        return _names(conn)

    assert await app.database.write_fn(write) == {"before", "after"}
    assert await app.database.read(_names) == {"before", "after"}


async def test_nested_savepoints_unwind_innermost_first(app: Taskloom) -> None:
    def write(conn: Connection) -> set[str]:
        with Savepoint(conn):
            _insert(conn, "outer")
            with Savepoint(conn) as inner:
                _insert(conn, "inner")
                inner.rollback()
            with pytest.raises(Refused), Savepoint(conn):
                _insert(conn, "failed")
                raise Refused
            _insert(conn, "outer again")
        return _names(conn)

    assert await app.database.write_fn(write) == {"outer", "outer again"}

    def roll_back_outer(conn: Connection) -> set[str]:
        with Savepoint(conn) as outer:
            _insert(conn, "gone")
            with Savepoint(conn):
                _insert(conn, "gone too")
            outer.rollback()
        return _names(conn)

    assert await app.database.write_fn(roll_back_outer) == {"outer", "outer again"}
    assert await app.database.read(_names) == {"outer", "outer again"}
