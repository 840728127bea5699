"""Reads: one run, lists with filters and keyset paging, logs, history."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, select, tuple_
from sqlalchemy.engine import RowMapping

from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.definitions.records import TaskStatus
from taskloom.server.period import resolve_period
from taskloom.server.store.definition_pauses import not_paused
from taskloom.server.store.models import dependencies, has_status, logs, runs
from taskloom.server.store.paging import PageSlice, decode_cursor, encode_cursor
from taskloom.server.store.shown_status import shows_status
from taskloom.server.store.sqlite.page_reads import fetch_page

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
        ("statuses", f.statuses, lambda v: shows_status(*v)),
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
        ("definition_ids", f.definition_ids, lambda v: c.definition_id.in_(v)),
        ("requested", f.requested, lambda v: c.requested.in_(v)),
        ("depends_on", f.depends_on, lambda v: c.id.in_(dependents_of(v))),
    ]


def dependents_of(run_id: Any) -> Select[Any]:
    """The ids of the runs triggered `after` `run_id`."""
    return select(dependencies.c.run_id).where(dependencies.c.depends_on == run_id)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def run_conditions(f: RunFilter) -> list[ColumnElement[bool]]:
    """The conditions of the filter's set fields (only those are built:
    building an unused SQL expression costs as much as running the query)."""
    return [condition(v) for _, v, condition in _run_checks(f) if v is not None]


def _bound_run_conditions(f: RunFilter) -> tuple[list[ColumnElement[bool]], dict[str, Any]] | None:
    """The same conditions, each value bound under its field's name, and
    those values: the SQL then depends on which fields are set, not on their
    values. None when it depends on values (a name pattern, which SQLAlchemy
    escapes as it builds the expression, or a list)."""
    lists = (f.statuses, f.definition_ids, f.requested)
    if f.name_contains is not None or any(v is not None for v in lists):
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
    and those values; the page may then take SQLite's shorter path (sqlite/page_reads.py)."""
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
        rows = fetch_page(conn, query.limit(bindparam("page_limit", first + 1)), shape, params)
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
    bound = _bound_run_conditions(where)
    if bound is None:
        query = select(runs).where(*run_conditions(where))
        return _page(conn, query, keys, desc, first, after)
    conditions, params = bound
    query = select(runs).where(*conditions)
    return _page(conn, query, keys, desc, first, after, (("task_runs", order), params))


def count_runs(conn: Connection, where: RunFilter) -> int:
    query = select(func.count()).select_from(runs).where(*run_conditions(where))
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


def first_of_each(
    conn: Connection,
    query: Select[Any],
    group: ColumnElement[Any],
    ids: Sequence[str],
    first: int,
    created_by: str | None = None,
) -> dict[str, list[RowMapping]]:
    """Up to `first + 1` of the runs `query` selects for each of `ids`,
    which its `group` column holds, oldest first; only those `created_by`
    triggered when it is given (a user's view)."""
    numbered = query.add_columns(
        group.label("group_id"),
        func.row_number().over(partition_by=group, order_by=runs.c.id).label("n"),
    ).where(group.in_(list(ids)))
    if created_by is not None:
        numbered = numbered.where(runs.c.created_by == created_by)
    sub = numbered.subquery()
    rows = select(sub).where(sub.c.n <= first + 1).order_by(sub.c.group_id, sub.c.id)
    grouped: dict[str, list[RowMapping]] = {run_id: [] for run_id in ids}
    for row in conn.execute(rows).mappings():
        grouped[row["group_id"]].append(row)
    return grouped


def children_for_runs(
    conn: Connection, parent_ids: Sequence[str], first: int, created_by: str | None = None
) -> dict[str, list[RowMapping]]:
    """Up to `first + 1` children of each parent, oldest first; only those
    `created_by` triggered when it is given (a user's view)."""
    return first_of_each(conn, select(runs), runs.c.parent_id, parent_ids, first, created_by)


def count_children_for_runs(
    conn: Connection, parent_ids: Sequence[str], created_by: str | None = None
) -> dict[str, int]:
    """How many children each parent has (those `created_by` triggered,
    when it is given)."""
    query = select(runs.c.parent_id, func.count()).where(runs.c.parent_id.in_(list(parent_ids)))
    if created_by is not None:
        query = query.where(runs.c.created_by == created_by)
    query = query.group_by(runs.c.parent_id)
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
    """When the next PENDING run of these (unpaused) definitions is due."""
    query = select(func.min(runs.c.run_at)).where(
        has_status(TaskStatus.PENDING.value),
        runs.c.definition_id.in_(definitions),
        not_paused(),
    )
    value = conn.execute(query).scalar()
    return None if value is None else float(value)
