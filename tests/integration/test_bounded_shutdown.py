"""`Taskloom.stop()` always ends (server/shutdown.py): a phase that does not
stop within its bound is abandoned with one error line naming it, and the
rest of the shutdown still runs; an iteration that swallows its
cancellation does not hold the worker's stop; a writer process that does
not answer is killed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.server.store.sqlite.database import SQLiteDatabase
from taskloom.server.taskloom import Taskloom
from taskloom.server.webhooks.sender import SenderOptions, WebhookSender
from tests.support.waiting import eventually


class Holder(TaskDefinition[Any]):
    """Runs until `release` is set, then returns; with `stubborn`, a
    cancellation does not end it (task code that swallows CancelledError)."""

    id = "shutdown-holder"
    started: ClassVar[asyncio.Event]
    release: ClassVar[asyncio.Event]
    stubborn: ClassVar[bool] = False

    async def run(self, controller: TaskController[Any]) -> Any:
        Holder.started.set()
        while True:
            try:
                await Holder.release.wait()
            except asyncio.CancelledError:
                if not Holder.stubborn:
                    raise
                continue
            return {"released": True}


class StuckSender(WebhookSender):
    """A webhook sender whose stop() does not end until `release` is set,
    whatever cancels it."""

    release: ClassVar[asyncio.Event]

    async def stop(self) -> None:
        while not StuckSender.release.is_set():
            try:
                await StuckSender.release.wait()
            except asyncio.CancelledError:
                continue


@pytest.fixture(autouse=True)
async def events() -> AsyncIterator[None]:
    """Async, so that its teardown runs before the loop's: what a test left
    running (code that swallows cancellation) ends before the loop's close
    cancels it, which would wait for it for good."""
    Holder.started = asyncio.Event()
    Holder.release = asyncio.Event()
    Holder.stubborn = False
    StuckSender.release = asyncio.Event()
    yield
    Holder.release.set()
    StuckSender.release.set()


async def test_a_phase_that_never_stops_is_abandoned_and_the_rest_still_runs(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "taskloom")
    app: Taskloom = await make_app(Holder, shutdown_margin=0.5, webhook_sender=False)
    app.webhook_sender = StuckSender(app.database, SenderOptions())
    run = await app.service.trigger(Holder.id)
    await asyncio.wait_for(Holder.started.wait(), 10)

    await app.stop(grace=0.1)

    assert app.abandoned_at_stop == ["webhook sender"]
    [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert line.getMessage() == (
        "shutdown: the webhook sender did not stop within 0.5 s; abandoned, the shutdown goes on"
    )
    stacks = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(__file__ in m and "in stop" in m for m in stacks)
    # The worker stopped after it: the iteration was cancelled and its run
    # handed back; the database was closed (on SQLite, its writer process).
    assert app.worker is None and app.scheduler is None
    if isinstance(app.database, SQLiteDatabase):
        assert app.database.writer_pid is None
    reader: Taskloom = await make_app(Holder, worker=False)
    released = await reader.service.get(run.id)
    assert released.status is TaskStatus.RUNNING and released.worker_id is None


async def test_an_iteration_that_swallows_its_cancellation_does_not_hold_the_stop(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    Holder.stubborn = True
    app: Taskloom = await make_app(Holder)
    run = await app.service.trigger(Holder.id)
    await asyncio.wait_for(Holder.started.wait(), 10)

    await app.stop(grace=0.1)

    assert app.abandoned_at_stop == []
    assert f"run {run.id}: its iteration went on after it was cancelled" in caplog.messages
    # It lingers as a synchronous run() past the grace does: the commands
    # exit at once, and its run is handed back due a little later, so no
    # other worker runs it while it still runs here.
    assert app.lingering_threads == 1
    reader: Taskloom = await make_app(Holder, worker=False)
    released = await reader.service.get(run.id)
    assert released.status is TaskStatus.RUNNING and released.worker_id is None
    assert released.run_at.timestamp() > time.time()
    Holder.release.set()
    await eventually(lambda: app.lingering_threads == 0)


async def test_a_writer_process_that_does_not_answer_is_killed(
    make_app: Any, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite writer process")
    app: Taskloom = await make_app(Holder, shutdown_margin=0.5)
    assert isinstance(app.database, SQLiteDatabase)
    pid = app.database.writer_pid
    assert pid is not None
    await app.service.trigger(Holder.id)
    await asyncio.wait_for(Holder.started.wait(), 10)
    os.kill(pid, signal.SIGSTOP)  # frozen: the outcome sent to it is never answered
    try:
        Holder.release.set()
        await app.stop(grace=0.1)

        assert app.abandoned_at_stop == ["worker", "database"]
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert (
            "shutdown: the database did not stop within 0.5 s; abandoned, the shutdown goes on"
            in errors
        )
        await eventually(lambda: not _exists(pid))
    finally:
        _kill(pid)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _exists(pid: int) -> bool:
    """Whether `pid` is still a process (a zombie not yet reaped counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
