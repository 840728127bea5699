"""INSERTs of many rows at once on SQLite: rows that share most of their
values go as one `INSERT … SELECT … FROM (VALUES …)` per chunk; other rows
as the compiled INSERT's executemany (compiled.py).

A bulk trigger makes rows that differ only in id, input and state: the
other thirty columns hold the very same objects in every row. `executemany`
would still convert and bind all of them for each row. Here the values every
row shares (by identity, so equal types too) are converted and bound once,
and each row binds only what differs; SQLite stores what the executemany
would.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.engine import Dialect

from taskloom.server.store.sqlite.compiled import CompiledStatement
from taskloom.server.store.sqlite.scripts import Step, many_step, run_steps

# Rows per statement: well under SQLite's 32,766 parameters.
_CHUNK = 500


def _shared(rows: Sequence[dict[str, Any]], name: str) -> bool:
    value = rows[0][name]
    return all(map(operator.is_, map(operator.itemgetter(name), rows), repeat(value)))


def insert_shared(
    dialect: Dialect, table: str, statement: CompiledStatement, rows: Sequence[dict[str, Any]]
) -> list[Step] | None:
    """The INSERTs of `rows` (all with the statement's column keys) into
    `table`, as script steps; None when they share less than half their
    columns or all of them (the same row twice), which executemany does as
    well."""
    compiled = statement.compiled(dialect)
    names, processors = compiled.names, compiled.processors
    varying = [i for i, name in enumerate(names) if not _shared(rows, name)]
    if not 0 < len(varying) <= len(names) // 2:
        return None
    selected: list[str] = []
    fixed: list[Any] = []
    for i, (name, process) in enumerate(zip(names, processors, strict=True)):
        if i in varying:
            selected.append(f"column{varying.index(i) + 1}")
            continue
        value = rows[0][name] if process is None else process(rows[0][name])
        selected.append("NULL" if value is None else "?")
        if value is not None:
            fixed.append(value)
    head = f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(selected)} FROM (VALUES "
    one = "(" + ", ".join("?" * len(varying)) + ")"
    get = operator.itemgetter(*[names[i] for i in varying])
    process_at = [(k, p) for k, i in enumerate(varying) if (p := processors[i]) is not None]
    steps: list[Step] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        params = list(fixed)
        for row in chunk:
            values = list(get(row)) if len(varying) > 1 else [get(row)]
            for k, process in process_at:
                values[k] = process(values[k])
            params += values
        steps.append(many_step(head + ", ".join(repeat(one, len(chunk))) + ")", [params]))
    return steps


_INSERTS: dict[tuple[str, tuple[str, ...]], CompiledStatement] = {}


def _statement(table: Any, keys: tuple[str, ...]) -> CompiledStatement:
    statement = _INSERTS.get((table.name, keys))
    if statement is None:
        statement = _INSERTS[(table.name, keys)] = CompiledStatement(insert(table), keys)
    return statement


def insert_steps(dialect: Dialect, table: Any, rows: Sequence[dict[str, Any]]) -> list[Step] | None:
    """The INSERT of rows that all name the same columns, as script steps;
    None for mixed rows."""
    if not rows:
        return []
    keys = tuple(rows[0])
    if any(len(row) != len(keys) for row in rows) or any(tuple(row) != keys for row in rows):
        return None
    statement = _statement(table, keys)
    shared = insert_shared(dialect, table.name, statement, rows) if len(rows) > 1 else None
    return shared if shared is not None else statement.steps(dialect, rows)


def insert_rows(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT of rows: the steps above on the driver; mixed rows take the
    Core path."""
    if not rows:
        return
    steps = insert_steps(conn.dialect, table, rows)
    if steps is None:
        conn.execute(insert(table), list(rows))
    else:
        run_steps(conn, steps)
