"""The read path of `taskRuns`: the same rows through the one-hop SQLite
fetch as through SQLAlchemy, no count unless `totalCount` is selected, and
each distinct document parsed and validated once with every limit kept."""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

import aiosqlite
import graphql
import pytest
from sqlalchemy import Connection, event, select

from taskloom.definitions.filters import RunFilter
from taskloom.server.store import queries
from taskloom.server.store.models import runs
from taskloom.server.store.paging import PageSlice
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import Waiter, data, error, served


def _reference(
    conn: Connection, where: RunFilter, first: int, after: str | None, order: str
) -> PageSlice:
    """The page as plain SQLAlchemy gives it (no named binds, no short path)."""
    keys, desc = queries.RUN_ORDERS[order]
    query = select(runs).where(*queries.run_conditions(where))
    return queries._page(conn, query, keys, desc, first, after)


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    """30 runs: three priorities, a third of them aborted (finished)."""
    taskloom: Taskloom = await make_app(Waiter, worker=False)
    made = []
    for priority in (0, 5, -5):
        made += await taskloom.service.trigger_many(
            "waiter", [None] * 10, delay=3600, priority=priority
        )
    for run in made[::3]:
        await taskloom.service.abort(run.id)
    return taskloom


async def test_pages_equal_sqlalchemy_for_every_filter_order_and_cursor(
    app: Taskloom, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[str] = []
    original = aiosqlite.Connection.execute_fetchall

    def spy(self: aiosqlite.Connection, sql: str, parameters: Any = None) -> Any:
        fetched.append(sql)
        return original(self, sql, parameters)

    monkeypatch.setattr(aiosqlite.Connection, "execute_fetchall", spy)
    rows = (await app.service.list_runs(first=30)).items
    middle = rows[15]
    created = middle.created_at.timestamp()
    filters = [
        RunFilter(),
        RunFilter(definition_id="waiter"),
        RunFilter(definition_id="nothing"),
        RunFilter(has_errors=False),
        RunFilter(has_errors=True),
        RunFilter(statuses=("ABORTED",)),
        RunFilter(statuses=()),
        RunFilter(name_contains="%"),
        RunFilter(created_after=created),
        RunFilter(created_before=created, created_by="nobody"),
        RunFilter(finished_after=0.0, created_after=created - 3600),
    ]
    for where, order in itertools.product(filters, queries.RUN_ORDERS):
        after: str | None = None
        for _ in range(4):  # pages of 7: the first, then after each page's end
            got = await app.database.read(
                partial(queries.list_runs, where=where, first=7, after=after, order=order)
            )
            want = await app.database.read(
                partial(_reference, where=where, first=7, after=after, order=order)
            )
            assert [dict(r) for r in got.rows] == [dict(r) for r in want.rows], (where, order)
            assert got.has_next == want.has_next
            if not got.rows:
                break
            after = queries.run_cursor(got.rows[-1], order)
    # On SQLite the pages took the one-hop path (not on PostgreSQL: asyncpg).
    assert bool(fetched) == (app.database.dialect == "sqlite")


async def test_malformed_cursor_is_still_bad_input(app: Taskloom) -> None:
    from taskloom.definitions.errors import InvalidInput

    with pytest.raises(InvalidInput):
        await app.service.list_runs(first=5, after="not-a-cursor")


async def test_statements_stay_visible_to_engine_listeners(app: Taskloom) -> None:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = app.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        page = await app.service.list_runs(first=5)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(page.items) == 5
    assert any("FROM task_runs" in s for s in seen)


async def test_total_count_is_counted_only_when_selected(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[Any] = []
    original = queries.count_runs

    def spy(conn: Connection, where: RunFilter) -> int:
        counted.append(where)
        return original(conn, where)

    monkeypatch.setattr(queries, "count_runs", spy)
    async with served(database_url, worker=False) as (taskloom, client):
        await taskloom.service.trigger_many("waiter", [None] * 3, delay=3600)
        found = await data(client, "{ taskRuns(first: 2) { edges { node { id status } } } }")
        assert len(found["taskRuns"]["edges"]) == 2
        assert counted == []
        found = await data(client, "{ taskRuns(first: 2) { totalCount edges { node { id } } } }")
        assert found["taskRuns"]["totalCount"] == 3
        assert len(counted) == 1


async def test_documents_are_parsed_once_and_limits_still_apply(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    original = graphql.parse

    def spy(source: Any, **options: Any) -> graphql.DocumentNode:
        parsed.append(str(source))
        return original(source, **options)

    monkeypatch.setattr("strawberry.schema.schema.parse", spy)
    query = "{ taskRuns(first: 1) { edges { node { id } } } }"
    deep = "{ taskRuns { edges { node { " + "parent { " * 15 + "id" + " }" * 15 + " } } } }"
    async with served(database_url, worker=False, max_query_depth=5) as (_, client):
        for _ in range(3):
            await data(client, query)
        assert parsed.count(query) == 1
        for _ in range(2):  # refused every time, from the memo too
            body = await error(client, deep)
            assert "exceeds maximum operation depth" in body["message"]
        for _ in range(2):  # a syntax error is reported every time
            body = await error(client, "{ taskRuns(first: 1) { ")
            assert "Syntax Error" in body["message"]
