"""Reads: one run, lists with filters and keyset paging, logs, history."""

from __future__ import annotations

import sqlite3
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, select, tuple_
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only

from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.server.period import resolve_period
from taskloom.server.store.fast import result_processor
from taskloom.server.store.models import has_status, logs, runs
from taskloom.server.store.paging import PageSlice, decode_cursor, encode_cursor

RUN_ORDERS: dict[str, tuple[list[ColumnElement[Any]], bool]] = {
    "CREATED_AT_DESC": ([runs.c.id], True),
    "CREATED_AT_ASC": ([runs.c.id], False),
    "PRIORITY_DESC": ([runs.c.priority, runs.c.id], True),
    "FINISHED_AT_DESC": ([func.coalesce(runs.c.finished_at, -1.0), runs.c.id], True),
}


def get_run(conn: Connection, run_id: str) -> RowMapping | None:
    return conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()


def get_runs(conn: Connection, run_ids: Sequence[str]) -> dict[str, RowMapping]:
    rows = conn.execute(select(runs).where(runs.c.id.in_(list(run_ids)))).mappings()
    return {row["id"]: row for row in rows}


def _run_checks(f: RunFilter) -> list[tuple[str, Any, Callable[[Any], ColumnElement[bool]]]]:
    c = runs.c
    return [
        ("definition_id", f.definition_id, lambda v: c.definition_id == v),
        ("statuses", f.statuses, lambda v: has_status(*v)),
        ("parent_id", f.parent_id, lambda v: c.parent_id == v),
        ("name_contains", f.name_contains, lambda v: c.name.icontains(v, autoescape=True)),
        ("has_errors", _bool(f.has_errors), lambda v: c.has_errors == v),
        ("created_after", f.created_after, lambda v: c.created_at >= v),
        ("created_before", f.created_before, lambda v: c.created_at < v),
        ("started_after", f.started_after, lambda v: c.started_at >= v),
        ("started_before", f.started_before, lambda v: c.started_at < v),
        ("finished_after", f.finished_after, lambda v: c.finished_at >= v),
        ("finished_before", f.finished_before, lambda v: c.finished_at < v),
        ("created_by", f.created_by, lambda v: c.created_by == v),
    ]


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _run_conditions(f: RunFilter) -> list[ColumnElement[bool]]:
    """The conditions of the filter's set fields (only those are built:
    building an unused SQL expression costs as much as running the query)."""
    return [condition(v) for _, v, condition in _run_checks(f) if v is not None]


def _bound_run_conditions(f: RunFilter) -> tuple[list[ColumnElement[bool]], dict[str, Any]] | None:
    """The same conditions, each value bound under its field's name, and
    those values: the SQL then depends on which fields are set, not on their
    values. None when it depends on values (a name pattern, which SQLAlchemy
    escapes as it builds the expression, or a list of statuses)."""
    if f.name_contains is not None or f.statuses is not None:
        return None
    conditions, params = [], {}
    for name, value, condition in _run_checks(f):
        if value is not None:
            params[name] = value
            conditions.append(condition(bindparam(name, value)))
    return conditions, params


def _page(
    conn: Connection,
    query: Select[Any],
    keys: list[ColumnElement[Any]],
    desc: bool,
    first: int,
    after: str | None,
    bound: tuple[tuple[Any, ...], dict[str, Any]] | None = None,
) -> PageSlice:
    """A page in the order of `keys` after the cursor `after`. `bound`: when
    `query` binds its values by name, what its SQL depends on (its shape)
    and those values; the page may then take `_fetch`'s shorter path."""
    params = None if bound is None else bound[1]
    if after is not None:
        values = decode_cursor(after, len(keys))
        start: list[Any] = values
        if params is not None:
            names = [f"after_{i}" for i in range(len(keys))]
            start = [
                bindparam(n, v, type_=k.type) for n, k, v in zip(names, keys, values, strict=True)
            ]
            params = {**params, **dict(zip(names, values, strict=True))}
        query = query.where(
            tuple_(*keys) < tuple_(*start) if desc else tuple_(*keys) > tuple_(*start)
        )
    ordering = [k.desc() for k in keys] if desc else list(keys)
    query = query.order_by(*ordering)
    if bound is None or params is None:
        rows = list(conn.execute(query.limit(first + 1)).mappings())
    else:
        params = {**params, "page_limit": first + 1}
        shape = (*bound[0], after is not None)
        rows = _fetch(conn, query.limit(bindparam("page_limit", first + 1)), shape, params)
    return PageSlice(rows=rows[:first], has_next=len(rows) > first)


# --- one hop to the SQLite reader's thread ------------------------------------
#
# On SQLite the readers are aiosqlite connections, and every await is a hop to
# the connection's thread and back: SQLAlchemy's execute of one SELECT makes
# seven (BEGIN on a cursor of its own, then cursor, execute, fetchall, close).
# A page is one statement and needs no transaction, so on an aiosqlite
# connection outside a transaction its SQL (compiled once per distinct SQL:
# the values are bound by name) runs with aiosqlite's `execute_fetchall`, one
# hop, and its rows get the same result processing as through SQLAlchemy.
# Not while anything observes the engine's statements (echo, or listeners of
# cursor executions such as tracing): those see every statement as before.

_Compiled = tuple[str, tuple[str, ...], dict[str, Any], list[tuple[str, Any]]]
# Per dialect (so per engine), as long as the engine lives.
_compiled: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Compiled]] = (
    weakref.WeakKeyDictionary()
)
_MAX_COMPILED = 512


def _fetch(
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


def run_cursor(row: RowMapping, order: str) -> str:
    if order == "PRIORITY_DESC":
        return encode_cursor([row["priority"], row["id"]])
    if order == "FINISHED_AT_DESC":
        finished = row["finished_at"]
        return encode_cursor([-1.0 if finished is None else finished, row["id"]])
    return encode_cursor([row["id"]])


def list_runs(
    conn: Connection, where: RunFilter, first: int, after: str | None, order: str
) -> PageSlice:
    keys, desc = RUN_ORDERS[order]
    bound = _bound_run_conditions(where)
    if bound is None:
        query = select(runs).where(*_run_conditions(where))
        return _page(conn, query, keys, desc, first, after)
    conditions, params = bound
    query = select(runs).where(*conditions)
    return _page(conn, query, keys, desc, first, after, (("task_runs", order), params))


def count_runs(conn: Connection, where: RunFilter) -> int:
    query = select(func.count()).select_from(runs).where(*_run_conditions(where))
    return int(conn.execute(query).scalar_one())


def _log_conditions(f: LogFilter) -> list[ColumnElement[bool]]:
    c = logs.c
    checks: list[tuple[Any, ColumnElement[bool]]] = [
        (f.run_id, c.run_id == f.run_id),
        (f.levels, c.level.in_(f.levels or ())),
        (f.message_contains, c.message.icontains(f.message_contains or "", autoescape=True)),
        (f.since, c.created_at >= (f.since or 0)),
        (f.until, c.created_at < (f.until or 0)),
        (
            f.created_by,
            c.run_id.in_(select(runs.c.id).where(runs.c.created_by == f.created_by)),
        ),
    ]
    if f.period is not None:
        since, until = resolve_period(f.period, time.time())
        checks.append((since, c.created_at >= since))
        checks.append((until, c.created_at < (until or 0)))
    return [condition for value, condition in checks if value is not None]


def list_logs(conn: Connection, where: LogFilter, first: int, after: str | None) -> PageSlice:
    query = select(logs).where(*_log_conditions(where))
    return _page(conn, query, [logs.c.id], False, first, after)


def count_logs(conn: Connection, where: LogFilter) -> int:
    query = select(func.count()).select_from(logs).where(*_log_conditions(where))
    return int(conn.execute(query).scalar_one())


def logs_for_runs(
    conn: Connection, run_ids: Sequence[str], first: int, levels: tuple[str, ...] | None
) -> dict[str, list[RowMapping]]:
    """The first `first` logs of each run, in one query (for DataLoaders)."""
    numbered = select(
        logs, func.row_number().over(partition_by=logs.c.run_id, order_by=logs.c.id).label("n")
    ).where(logs.c.run_id.in_(list(run_ids)))
    if levels:
        numbered = numbered.where(logs.c.level.in_(levels))
    sub = numbered.subquery()
    query = select(sub).where(sub.c.n <= first + 1).order_by(sub.c.run_id, sub.c.id)
    grouped: dict[str, list[RowMapping]] = {run_id: [] for run_id in run_ids}
    for row in conn.execute(query).mappings():
        grouped[row["run_id"]].append(row)
    return grouped


def children_for_runs(
    conn: Connection, parent_ids: Sequence[str], first: int
) -> dict[str, list[RowMapping]]:
    numbered = select(
        runs, func.row_number().over(partition_by=runs.c.parent_id, order_by=runs.c.id).label("n")
    ).where(runs.c.parent_id.in_(list(parent_ids)))
    sub = numbered.subquery()
    query = select(sub).where(sub.c.n <= first + 1).order_by(sub.c.parent_id, sub.c.id)
    grouped: dict[str, list[RowMapping]] = {run_id: [] for run_id in parent_ids}
    for row in conn.execute(query).mappings():
        grouped[row["parent_id"]].append(row)
    return grouped


def count_children_for_runs(conn: Connection, parent_ids: Sequence[str]) -> dict[str, int]:
    query = (
        select(runs.c.parent_id, func.count())
        .where(runs.c.parent_id.in_(list(parent_ids)))
        .group_by(runs.c.parent_id)
    )
    counts = {str(parent): int(n) for parent, n in conn.execute(query)}
    return {run_id: counts.get(run_id, 0) for run_id in parent_ids}


def count_logs_for_runs(
    conn: Connection, run_ids: Sequence[str], levels: tuple[str, ...] | None
) -> dict[str, int]:
    query = select(logs.c.run_id, func.count()).where(logs.c.run_id.in_(list(run_ids)))
    if levels:
        query = query.where(logs.c.level.in_(levels))
    counts = {str(run): int(n) for run, n in conn.execute(query.group_by(logs.c.run_id))}
    return {run_id: counts.get(run_id, 0) for run_id in run_ids}


def last_log_id(conn: Connection, run_id: str) -> int | None:
    value = conn.execute(select(func.max(logs.c.id)).where(logs.c.run_id == run_id)).scalar()
    return None if value is None else int(value)


def next_due_at(conn: Connection, definitions: list[str]) -> float | None:
    query = select(func.min(runs.c.run_at)).where(
        has_status("PENDING"), runs.c.definition_id.in_(definitions)
    )
    value = conn.execute(query).scalar()
    return None if value is None else float(value)


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
