"""Abort through the real engine: a pending run is ABORTED at once, a
running one sees `runtime.is_aborted()` and ends ABORTED after its
iteration, `on_abort` runs either way, a finished run cannot be aborted."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any, ClassVar, Literal

import pytest
from pydantic import BaseModel

from taskloom.definitions import (
    Conflict,
    LogLevel,
    NotFound,
    RunInfo,
    RunRequest,
    TaskController,
    TaskDefinition,
    TaskStatus,
)
from taskloom.server.taskloom import Taskloom

WAIT = 10.0


class LoopInput(BaseModel):
    key: str
    then: Literal["continue", "done", "check"] = "check"


class Looper(TaskDefinition[LoopInput]):
    """Works until it sees the abort; then answers as its input says."""

    id = "abort-looper"
    started: ClassVar[dict[str, asyncio.Event]] = {}
    aborts: ClassVar[list[RunInfo]] = []

    async def run(self, controller: TaskController[LoopInput]) -> Any:
        event = Looper.started.get(controller.input.key)
        if event is not None:
            event.set()
        deadline = time.monotonic() + WAIT
        while not controller.runtime.is_aborted():
            if time.monotonic() > deadline:
                return controller.response.error("never saw the abort")
            await asyncio.sleep(0.01)
        controller.log.info("saw the abort")
        if controller.input.then == "continue":
            return controller.response.continue_(state={"stopped": True})
        if controller.input.then == "done":
            return controller.response.done(output="finished anyway")
        return controller.response.aborted("stopped as asked")

    async def on_abort(self, run: RunInfo) -> None:
        Looper.aborts.append(run)


class SyncLooper(TaskDefinition[Any]):
    id = "abort-sync-looper"
    running: ClassVar[threading.Event] = threading.Event()

    def run(self, controller: TaskController[Any]) -> Any:
        SyncLooper.running.set()
        deadline = time.monotonic() + WAIT
        while not controller.runtime.is_aborted() and time.monotonic() < deadline:
            time.sleep(0.01)
        return controller.response.continue_(state={"seen": controller.runtime.is_aborted()})


class Quick(TaskDefinition[Any]):
    id = "abort-quick"

    async def run(self, controller: TaskController[Any]) -> Any:
        return 1


DEFS = (Looper, SyncLooper, Quick)


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    Looper.aborts.clear()
    Looper.started.clear()
    started: Taskloom = await make_app(*DEFS)
    return started


async def start_looper(app: Taskloom, then: str) -> str:
    """A running Looper run, known to be inside its iteration."""
    key = f"{then}-{time.monotonic_ns()}"
    Looper.started[key] = asyncio.Event()
    run = await app.service.trigger("abort-looper", {"key": key, "then": then})
    await asyncio.wait_for(Looper.started[key].wait(), WAIT)
    return run.id


async def test_aborting_a_pending_run_aborts_it_at_once(app: Taskloom) -> None:
    run = await app.service.trigger("abort-looper", {"key": "never"}, delay=60)
    aborted = await app.service.abort(run.id, "changed my mind")
    assert aborted.status is TaskStatus.ABORTED
    assert aborted.requested is None
    assert aborted.error is not None
    assert (aborted.error.message, aborted.error.code) == ("changed my mind", "ABORTED")
    assert aborted.finished_at is not None
    assert aborted.iterations == 0
    [info] = Looper.aborts
    assert (info.id, info.status) == (run.id, TaskStatus.ABORTED)
    logs = (await app.service.logs(run.id)).items
    assert [e.message for e in logs] == ["aborted: changed my mind"]
    [record] = await app.service.history(run.id)
    assert (record.attempt, record.status) == (0, TaskStatus.ABORTED)
    assert "never" not in Looper.started


async def test_aborting_a_running_run_is_honoured_after_its_iteration(app: Taskloom) -> None:
    run_id = await start_looper(app, "check")
    view = await app.service.abort(run_id, "please stop")
    # Until the iteration ends, the run is running with an abort requested.
    if view.status is TaskStatus.RUNNING:
        assert view.requested is RunRequest.ABORT
        assert not view.can_abort
    run = await app.service.wait(run_id, timeout=WAIT)
    assert run.status is TaskStatus.ABORTED
    assert run.requested is None
    assert run.error is not None and run.error.message == "stopped as asked"
    assert [info.id for info in Looper.aborts] == [run_id]
    messages = [e.message for e in (await app.service.logs(run_id)).items]
    assert messages == ["abort requested: please stop", "saw the abort"]


async def test_a_running_run_that_continues_after_an_abort_ends_aborted(app: Taskloom) -> None:
    run_id = await start_looper(app, "continue")
    await app.service.abort(run_id)
    run = await app.service.wait(run_id, timeout=WAIT)
    assert run.status is TaskStatus.ABORTED
    assert run.state == {"stopped": True}, "the iteration's work is saved"
    assert run.iterations == 1
    assert run.error is not None and run.error.code == "ABORTED"
    assert [info.id for info in Looper.aborts] == [run_id]


async def test_a_run_that_finishes_despite_an_abort_request_succeeds(app: Taskloom) -> None:
    # Its work is done: the late abort request does not undo it.
    run_id = await start_looper(app, "done")
    await app.service.abort(run_id)
    run = await app.service.wait(run_id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == "finished anyway"
    assert run.requested is None
    assert Looper.aborts == []


async def test_a_sync_run_sees_the_abort_too(app: Taskloom) -> None:
    SyncLooper.running.clear()
    run = await app.service.trigger("abort-sync-looper")
    deadline = time.monotonic() + WAIT
    while not SyncLooper.running.is_set():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    await app.service.abort(run.id)
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.ABORTED
    assert run.state == {"seen": True}


async def test_aborting_twice_while_running_requests_once(app: Taskloom) -> None:
    run_id = await start_looper(app, "check")
    await app.service.abort(run_id, "first")
    with contextlib.suppress(Conflict):  # unless it already ended ABORTED
        await app.service.abort(run_id, "second")
    await app.service.wait(run_id, timeout=WAIT)
    requested = [
        e.message
        for e in (await app.service.logs(run_id)).items
        if e.message.startswith("abort requested")
    ]
    assert requested == ["abort requested: first"]


@pytest.mark.parametrize("ending", ["succeeded", "aborted"])
async def test_aborting_a_finished_run_is_a_conflict(app: Taskloom, ending: str) -> None:
    if ending == "succeeded":
        run = await app.service.trigger("abort-quick")
        run = await app.service.wait(run.id, timeout=WAIT)
    else:
        run = await app.service.trigger("abort-quick", delay=60)
        run = await app.service.abort(run.id)
    with pytest.raises(Conflict, match=run.status.value):
        await app.service.abort(run.id)
    after = await app.service.get(run.id)
    assert (after.status, after.error, after.finished_at) == (
        run.status,
        run.error,
        run.finished_at,
    )


async def test_aborting_an_unknown_run_is_not_found(app: Taskloom) -> None:
    with pytest.raises(NotFound):
        await app.service.abort("00000000-0000-7000-8000-000000000000")


async def test_an_aborted_run_has_no_error_logs(app: Taskloom) -> None:
    run_id = await start_looper(app, "check")
    await app.service.abort(run_id)
    run = await app.service.wait(run_id, timeout=WAIT)
    assert not run.has_errors
    assert all(e.level is not LogLevel.ERROR for e in (await app.service.logs(run_id)).items)


async def test_an_abort_from_another_process_reaches_the_running_iteration(
    make_app: Any,
) -> None:
    Looper.aborts.clear()
    Looper.started.clear()
    await make_app(*DEFS)  # the worker process
    api: Taskloom = await make_app(*DEFS, worker=False)  # its own database and event hub
    key = "cross-process"
    Looper.started[key] = asyncio.Event()
    run = await api.service.trigger("abort-looper", {"key": key})
    await asyncio.wait_for(Looper.started[key].wait(), WAIT)
    requested = await api.service.abort(run.id, "from the API process")
    assert requested.status is TaskStatus.RUNNING
    assert requested.requested is RunRequest.ABORT
    # The worker's control loop finds the request in the database.
    done = await api.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.ABORTED
    assert done.error is not None and done.error.message == "stopped as asked"
    assert [info.id for info in Looper.aborts] == [run.id]
