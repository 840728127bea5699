"""Reads: one run, lists with filters and keyset paging, logs, history."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select, tuple_
from sqlalchemy.engine import RowMapping

from server.period import resolve_period
from server.store.models import logs, results, runs
from server.store.paging import LogFilter, PageSlice, RunFilter, decode_cursor, encode_cursor

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


def _run_conditions(f: RunFilter) -> list[ColumnElement[bool]]:
    c = runs.c
    checks: list[tuple[Any, ColumnElement[bool]]] = [
        (f.definition_id, c.definition_id == f.definition_id),
        (f.statuses, c.status.in_(f.statuses or ())),
        (f.parent_id, c.parent_id == f.parent_id),
        (f.name_contains, c.name.icontains(f.name_contains or "", autoescape=True)),
        (f.has_errors, c.has_errors == bool(f.has_errors)),
        (f.created_after, c.created_at >= (f.created_after or 0)),
        (f.created_before, c.created_at < (f.created_before or 0)),
        (f.started_after, c.started_at >= (f.started_after or 0)),
        (f.started_before, c.started_at < (f.started_before or 0)),
        (f.finished_after, c.finished_at >= (f.finished_after or 0)),
        (f.finished_before, c.finished_at < (f.finished_before or 0)),
        (f.created_by, c.created_by == f.created_by),
    ]
    return [condition for value, condition in checks if value is not None]


def _page(
    conn: Connection,
    query: Select[Any],
    keys: list[ColumnElement[Any]],
    desc: bool,
    first: int,
    after: str | None,
) -> PageSlice:
    if after is not None:
        values = decode_cursor(after, len(keys))
        bound = tuple_(*keys) < tuple_(*values) if desc else tuple_(*keys) > tuple_(*values)
        query = query.where(bound)
    ordering = [k.desc() for k in keys] if desc else list(keys)
    rows = list(conn.execute(query.order_by(*ordering).limit(first + 1)).mappings())
    return PageSlice(rows=rows[:first], has_next=len(rows) > first)


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
    query = select(runs).where(*_run_conditions(where))
    return _page(conn, query, keys, desc, first, after)


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


def history(conn: Connection, run_id: str, first: int, skip: int) -> list[RowMapping]:
    query = (
        select(results)
        .where(results.c.run_id == run_id)
        .order_by(results.c.id.desc())
        .offset(skip)
        .limit(first)
    )
    return list(conn.execute(query).mappings())


def next_due_at(conn: Connection, definitions: list[str]) -> float | None:
    query = select(func.min(runs.c.run_at)).where(
        runs.c.status == "PENDING", runs.c.definition_id.in_(definitions)
    )
    value = conn.execute(query).scalar()
    return None if value is None else float(value)
