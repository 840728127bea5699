"""Logs: levels and hasErrors, filters (levels, text, time ranges and
`period`), run filters on started/finished ranges, `TaskService.log` from
backend code, and records of the standard `logging` module captured into
the run that emitted them."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from taskloom.definitions import (
    InvalidInput,
    LogLevel,
    NotFound,
    TaskController,
    TaskDefinition,
    TaskStatus,
    current_run,
)
from taskloom.definitions.filters import LogFilter, RunFilter

WAIT = 10.0
library_log = logging.getLogger("acme.billing")


def helper_deep_in_the_stack() -> None:
    """Library code that was not handed the controller."""
    current_run().log.info("found through current_run()")
    library_log.warning("disk at %d%%", 91)
    library_log.info("too quiet to pass the logger's own level")


class Chatty(TaskDefinition[Any]):
    id = "logs-chatty"

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.debug("debug line")
        controller.log.info("importing rows", data={"rows": 3})
        controller.log.warning("slow source")
        helper_deep_in_the_stack()
        return "ok"


class ChattySync(TaskDefinition[Any]):
    """A plain `def` runs in a worker thread; capture works there too."""

    id = "logs-chatty-sync"

    def run(self, controller: TaskController[Any]) -> Any:
        library_log.error("sync library error")
        return "ok"


class OnlyErrors(TaskDefinition[Any]):
    id = "logs-only-errors"
    log_capture_level = "ERROR"

    async def run(self, controller: TaskController[Any]) -> Any:
        library_log.warning("not captured at ERROR")
        library_log.error("captured")
        return "ok"


class Failing(TaskDefinition[Any]):
    id = "logs-failing"

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.error("something broke")
        return "finished anyway"


async def _messages(app: Any, where: LogFilter) -> list[str]:
    page = await app.service.logs(where=where, first=100)
    return [line.message for line in page.items]


class NulText(TaskDefinition[Any]):
    """Text with a NUL character, which PostgreSQL's text types cannot hold."""

    id = "logs-nul-text"

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.info("before\x00after", data={"key": "v\x00w"})
        raise ValueError("bad\x00byte")


async def test_log_filters_and_periods(make_app: Any) -> None:
    app = await make_app(Chatty)
    before = time.time() - 1
    run = await app.service.wait((await app.service.trigger("logs-chatty")).id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED and not run.has_errors
    every = await _messages(app, LogFilter(run_id=run.id))
    assert every == [
        "debug line",
        "importing rows",
        "slow source",
        "found through current_run()",
        "disk at 91%",
    ]
    warnings = LogFilter(run_id=run.id, levels=("WARNING", "ERROR"))
    assert await _messages(app, warnings) == ["slow source", "disk at 91%"]
    assert await _messages(app, LogFilter(run_id=run.id, message_contains="ROWS")) == [
        "importing rows"
    ]
    assert len(await _messages(app, LogFilter(run_id=run.id, since=before))) == 5
    assert await _messages(app, LogFilter(run_id=run.id, until=before)) == []
    for period in ("today", "15m", "2h 30m"):
        assert len(await _messages(app, LogFilter(run_id=run.id, period=period))) == 5
    assert await _messages(app, LogFilter(run_id=run.id, period="yesterday")) == []
    assert await app.service.count_logs(LogFilter(run_id=run.id, period="15m")) == 5
    with pytest.raises(InvalidInput) as caught:
        await app.service.logs(where=LogFilter(period="2 hours"))
    assert caught.value.code == "BAD_USER_INPUT"
    captured = (await app.service.logs(where=LogFilter(run_id=run.id, levels=("WARNING",)))).items
    assert captured[-1].data == {"logger": "acme.billing"}


async def test_captured_records_from_threads_and_per_definition_levels(make_app: Any) -> None:
    app = await make_app(ChattySync, OnlyErrors)
    sync_run = await app.service.trigger("logs-chatty-sync")
    strict_run = await app.service.trigger("logs-only-errors")
    sync_run = await app.service.wait(sync_run.id, timeout=WAIT)
    await app.service.wait(strict_run.id, timeout=WAIT)
    assert await _messages(app, LogFilter(run_id=sync_run.id)) == ["sync library error"]
    assert sync_run.has_errors
    assert await _messages(app, LogFilter(run_id=strict_run.id)) == ["captured"]
    # records outside any iteration go nowhere
    library_log.error("outside any run")
    assert await app.service.count_logs(LogFilter(message_contains="outside any run")) == 0


async def test_error_logs_set_has_errors_and_run_filters(make_app: Any) -> None:
    app = await make_app(Failing, Chatty)
    before = time.time() - 1
    failing = await app.service.wait((await app.service.trigger("logs-failing")).id, timeout=WAIT)
    clean = await app.service.wait((await app.service.trigger("logs-chatty")).id, timeout=WAIT)
    assert failing.has_errors and failing.status is TaskStatus.SUCCEEDED
    with_errors = await app.service.list_runs(RunFilter(has_errors=True))
    assert [r.id for r in with_errors.items] == [failing.id]
    started = await app.service.list_runs(RunFilter(started_after=before), order="CREATED_AT_ASC")
    assert [r.id for r in started.items] == [failing.id, clean.id]
    assert clean.finished_at is not None
    finished_before_clean = RunFilter(finished_before=clean.finished_at.timestamp())
    assert [r.id for r in (await app.service.list_runs(finished_before_clean)).items] == [
        failing.id
    ]
    assert (await app.service.list_runs(RunFilter(started_before=before))).items == []


async def test_backend_code_logs_to_any_run(make_app: Any) -> None:
    app = await make_app(Chatty, worker=False)
    run = await app.service.trigger("logs-chatty", delay=3600)
    line = await app.service.log(run.id, "info", "queued by the importer", {"batch": 7})
    assert line.level is LogLevel.INFO and line.data == {"batch": 7} and line.run_id == run.id
    assert not (await app.service.get(run.id)).has_errors
    await app.service.log(run.id, LogLevel.ERROR, "upstream refused")
    assert (await app.service.get(run.id)).has_errors
    assert await _messages(app, LogFilter(run_id=run.id)) == [
        "queued by the importer",
        "upstream refused",
    ]
    with pytest.raises(NotFound):
        await app.service.log("no-such-run", "INFO", "lost")
    with pytest.raises(InvalidInput):
        await app.service.log(run.id, "LOUD", "no such level")


async def test_text_with_a_nul_character_is_saved(make_app: Any, database_url: str) -> None:
    app = await make_app(NulText)
    run = await app.service.wait((await app.service.trigger("logs-nul-text")).id, timeout=WAIT)
    # PostgreSQL gets U+FFFD in its place (server/store/postgres/nul_text.py).
    nul = "\ufffd" if database_url.startswith("postgresql") else "\x00"
    assert run.status is TaskStatus.FAILED and run.error is not None
    assert run.error.message == f"bad{nul}byte"
    logs = (await app.service.logs(where=LogFilter(run_id=run.id))).items
    assert [entry.message for entry in logs] == [f"before{nul}after", f"ValueError: bad{nul}byte"]
    assert logs[0].data == {"key": "v\x00w"}  # JSON carries it escaped, on both
