"""One hop to the SQLite reader's thread for a page of rows.

On SQLite the readers are aiosqlite connections, and every await is a hop to
the connection's thread and back: SQLAlchemy's execute of one SELECT makes
seven (BEGIN on a cursor of its own, then cursor, execute, fetchall, close).
A page is one statement and needs no transaction, so on an aiosqlite
connection outside a transaction its SQL (compiled once per distinct SQL:
the values are bound by name) runs with aiosqlite's `execute_fetchall`, one
hop, and its rows get the same result processing as through SQLAlchemy.
Not while anything observes the engine's statements (echo, or listeners of
cursor executions such as tracing): those see every statement as before.
"""

from __future__ import annotations

import sqlite3
import weakref
from typing import Any

import aiosqlite
from sqlalchemy import Connection, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only

from taskloom.server.store.sqlite.compiled import result_processor

_Compiled = tuple[str, tuple[str, ...], dict[str, Any], list[tuple[str, Any]]]
# Per dialect (so per engine), as long as the engine lives.
_compiled: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Compiled]] = (
    weakref.WeakKeyDictionary()
)
_MAX_COMPILED = 512


def fetch_page(
    conn: Connection, query: Select[Any], shape: tuple[Any, ...], params: dict[str, Any]
) -> list[Any]:
    """The rows of `query`, whose SQL depends only on `shape`, and which binds
    `params` by name: dicts, as SQLAlchemy's mappings would give them."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, aiosqlite.Connection) or conn.in_transaction() or _observed(conn):
        return list(conn.execute(query).mappings())
    dialect = conn.dialect
    compiled = _compiled.setdefault(dialect, {})
    key = (*shape, *params)
    known = compiled.get(key)
    if known is None:
        known = _compile(dialect, query, params)
        if known is None:
            return list(conn.execute(query).mappings())
        if len(compiled) < _MAX_COMPILED:
            compiled[key] = known
    sql, positions, constants, columns = known
    values = {**constants, **params}
    args = tuple(values[name] for name in positions)
    try:
        rows = await_only(driver.execute_fetchall(sql, args))
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc
    return [
        {
            name: value if process is None else process(value)
            for (name, process), value in zip(columns, row, strict=True)
        }
        for row in rows
    ]


def _compile(dialect: Any, query: Select[Any], params: dict[str, Any]) -> _Compiled | None:
    """The SQL of `query`, the names of its parameters in order, the values of
    those it binds as constants, and its columns' result processors. None if
    it binds a value by name that `params` does not give, or expands lists."""
    compiled = query.compile(dialect=dialect)
    sql, positions = str(compiled), compiled.positiontup
    constants = {name: b.value for name, b in compiled.binds.items() if b.unique}
    named = {name for name, b in compiled.binds.items() if not b.unique}
    if positions is None or "POSTCOMPILE" in sql or named != set(params):
        return None
    columns = [(c.name, result_processor(c, dialect)) for c in query.selected_columns]
    return sql, tuple(positions), constants, columns


def _observed(conn: Connection) -> bool:
    dispatch = conn.dispatch
    return bool(conn.engine.echo or dispatch.before_cursor_execute or dispatch.after_cursor_execute)
