"""TaskService reads: list_runs with filters, orders and cursor paging;
logs with paging and filters; the result history."""

from __future__ import annotations

import time
from typing import Any

import pytest

from taskloom.definitions import InvalidInput, LogLevel, NotFound, TaskController, TaskDefinition
from taskloom.definitions import TaskStatus as S
from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.definitions.run_view import RunView
from taskloom.server.taskloom import Taskloom

WAIT = 10.0


class Ok(TaskDefinition[Any]):
    id = "q-ok"

    async def run(self, controller: TaskController[Any]) -> Any:
        for i in range(int(controller.input.model_dump().get("lines", 0))):
            level = "warning" if i % 3 == 2 else "info"
            getattr(controller.log, level)(f"line {i}", data={"i": i})
        return "ok"


class Bad(TaskDefinition[Any]):
    id = "q-bad"

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.error("no")


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    started: Taskloom = await make_app(Ok, Bad)
    return started


async def collect(app: Taskloom, where: RunFilter | None = None, **options: Any) -> list[RunView]:
    """Every run, page by page, following the cursors."""
    seen: list[RunView] = []
    after = None
    for _ in range(100):
        page = await app.service.list_runs(where, first=3, after=after, **options)
        assert len(page.items) <= 3
        assert len(page.cursors) == len(page.items)
        seen.extend(page.items)
        if not page.has_next:
            return seen
        after = page.end_cursor
    raise AssertionError("paging never ended")


async def test_cursor_paging_visits_every_run_once_in_order(app: Taskloom) -> None:
    made = [await app.service.trigger("q-ok", delay=60, priority=i % 3) for i in range(10)]
    ids = [r.id for r in made]
    newest_first = await collect(app)
    assert [r.id for r in newest_first] == sorted(ids, reverse=True)
    oldest_first = await collect(app, order="CREATED_AT_ASC")
    assert [r.id for r in oldest_first] == sorted(ids)
    by_priority = await collect(app, order="PRIORITY_DESC")
    assert sorted(r.id for r in by_priority) == sorted(ids)
    keys = [(r.priority, r.id) for r in by_priority]
    assert keys == sorted(keys, reverse=True)


async def test_an_empty_page_and_page_sizes(app: Taskloom) -> None:
    empty = await app.service.list_runs()
    assert (empty.items, empty.has_next, empty.end_cursor) == ([], False, None)
    for _ in range(3):
        await app.service.trigger("q-ok", delay=60)
    exact = await app.service.list_runs(first=3)
    assert (len(exact.items), exact.has_next) == (3, False)
    none = await app.service.list_runs(first=0)
    assert none.items == []
    assert none.has_next


async def test_bad_paging_arguments_are_invalid_input(app: Taskloom) -> None:
    with pytest.raises(InvalidInput):
        await app.service.list_runs(first=-1)
    with pytest.raises(InvalidInput):
        await app.service.list_runs(after="not-a-cursor!")
    with pytest.raises(InvalidInput):
        await app.service.list_runs(order="SIDEWAYS")


async def test_filters(app: Taskloom) -> None:
    ok = await app.service.trigger("q-ok", name="First Import")
    bad = await app.service.trigger("q-bad", name="second")
    assert (await app.service.wait(ok.id, timeout=WAIT)).status is S.SUCCEEDED
    assert (await app.service.wait(bad.id, timeout=WAIT)).status is S.FAILED
    between = time.time()
    pending = await app.service.trigger("q-ok", delay=60, parent_id=ok.id)
    aborted = await app.service.trigger("q-bad", delay=60, parent_id=ok.id)
    await app.service.abort(aborted.id)

    async def ids(**fields: Any) -> set[str]:
        return {r.id for r in await collect(app, RunFilter(**fields))}

    assert await ids() == {ok.id, bad.id, pending.id, aborted.id}
    assert await ids(definition_id="q-ok") == {ok.id, pending.id}
    assert await ids(statuses=("FAILED", "ABORTED")) == {bad.id, aborted.id}
    assert await ids(statuses=("PENDING",), definition_id="q-ok") == {pending.id}
    assert await ids(parent_id=ok.id) == {pending.id, aborted.id}
    assert await ids(created_after=between) == {pending.id, aborted.id}
    assert await ids(created_before=between) == {ok.id, bad.id}
    assert await ids(name_contains="import") == {ok.id}
    assert await ids(has_errors=True) == {bad.id}
    assert await ids(definition_id="nothing") == set()
    assert await app.service.count_runs(RunFilter(parent_id=ok.id)) == 2


async def test_logs_page_in_order_and_filter(app: Taskloom) -> None:
    run = await app.service.trigger("q-ok", {"lines": 8})
    await app.service.wait(run.id, timeout=WAIT)
    messages: list[str] = []
    after = None
    pages = 0
    while True:
        page = await app.service.logs(run.id, first=3, after=after)
        pages += 1
        messages.extend(e.message for e in page.items)
        if not page.has_next:
            break
        after = page.end_cursor
    assert messages == [f"line {i}" for i in range(8)]
    assert pages == 3
    warnings = await app.service.logs(run.id, where=LogFilter(levels=("WARNING",)))
    assert [(e.level, e.data) for e in warnings.items] == [
        (LogLevel.WARNING, {"i": 2}),
        (LogLevel.WARNING, {"i": 5}),
    ]
    found = await app.service.logs(run.id, where=LogFilter(message_contains="LINE 7"))
    assert [e.message for e in found.items] == ["line 7"]
    assert all(e.run_id == run.id and e.iteration == 0 for e in warnings.items)
    assert await app.service.count_logs(LogFilter(run_id=run.id)) == 8


async def test_logs_of_different_runs_stay_apart(app: Taskloom) -> None:
    a = await app.service.trigger("q-ok", {"lines": 2})
    b = await app.service.trigger("q-ok", {"lines": 3})
    await app.service.wait(a.id, timeout=WAIT)
    await app.service.wait(b.id, timeout=WAIT)
    assert len((await app.service.logs(a.id)).items) == 2
    assert len((await app.service.logs(b.id)).items) == 3


async def test_logs_and_history_of_an_unknown_run_are_not_found(app: Taskloom) -> None:
    missing = "00000000-0000-7000-8000-000000000000"
    with pytest.raises(NotFound):
        await app.service.logs(missing)
    with pytest.raises(NotFound):
        await app.service.history(missing)


async def test_history_of_a_finished_run(app: Taskloom) -> None:
    run = await app.service.trigger("q-bad")
    run = await app.service.wait(run.id, timeout=WAIT)
    [record] = await app.service.history(run.id)
    assert (record.attempt, record.status, record.output) == (0, S.FAILED, None)
    assert record.error is not None and record.error.message == "no"
    assert run.finished_at is not None
    assert record.finished_at == run.finished_at
    pending = await app.service.trigger("q-ok", delay=60)
    assert await app.service.history(pending.id) == []


async def test_finished_at_order_pages_finished_runs_first(app: Taskloom) -> None:
    finished = []
    for _ in range(4):
        run = await app.service.trigger("q-ok")
        finished.append(await app.service.wait(run.id, timeout=WAIT))
    waiting = [await app.service.trigger("q-ok", delay=60) for _ in range(3)]
    seen = await collect(app, order="FINISHED_AT_DESC")
    assert len(seen) == len({r.id for r in seen}) == 7
    assert [r.id for r in seen[:4]] == [
        r.id for r in sorted(finished, key=lambda r: (r.finished_at, r.id), reverse=True)
    ]
    assert {r.id for r in seen[4:]} == {r.id for r in waiting}
