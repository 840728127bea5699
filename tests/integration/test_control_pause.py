"""Pause, resume and abort modes through TaskService on the real engine:
a pending run pauses at once, a running one after its iteration with its
state saved; resume continues from that state; refusals are Conflicts;
`abort_mode = "cancel"` stops an iteration that never polls."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from taskloom.definitions import Conflict, RunRequest, TaskController, TaskDefinition, TaskStatus
from tests.support.waiting import eventually

WAIT = 10.0


class Pausy(TaskDefinition[Any]):
    """First iteration: waits for a pause request, then continues with state.
    Second iteration: done with the state it was resumed with."""

    id = "ctl-pausy"

    async def run(self, controller: TaskController[Any]) -> Any:
        n = controller.state.get("n", 0)
        if n == 0:
            runtime = controller.runtime
            await eventually(lambda: runtime.is_pause_requested() or runtime.is_aborted())
            return controller.response.continue_(state={"n": 1})
        return controller.response.done(output={"resumed_with": n})


class Unpausable(TaskDefinition[Any]):
    id = "ctl-unpausable"
    pausable = False

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ok"


class Sleeper(TaskDefinition[Any]):
    """Never polls `is_aborted()`: only `abort_mode = "cancel"` stops it."""

    id = "ctl-sleeper"
    abort_mode = "cancel"

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.info("sleeping")
        await asyncio.sleep(60)
        return controller.response.continue_(state={"partial": True})


async def test_a_pending_run_pauses_at_once_and_resumes(make_app: Any) -> None:
    app = await make_app(Pausy, worker=False)
    run = await app.service.trigger("ctl-pausy")
    assert run.can_pause and not run.can_resume
    paused = await app.service.pause(run.id)
    assert paused.status is TaskStatus.PAUSED
    assert not paused.can_pause and paused.can_resume and paused.can_abort
    with pytest.raises(Conflict):
        await app.service.pause(run.id)
    resumed = await app.service.resume(run.id)
    assert resumed.status is TaskStatus.PENDING
    with pytest.raises(Conflict):
        await app.service.resume(run.id)
    logs = await app.service.logs(run.id)
    assert [line.message for line in logs.items] == ["paused", "resumed"]


async def test_a_running_run_pauses_after_its_iteration_with_state_saved(make_app: Any) -> None:
    app = await make_app(Pausy)
    run = await app.service.trigger("ctl-pausy")
    await app.service.wait(run.id, {TaskStatus.RUNNING}, timeout=WAIT)
    with pytest.raises(Conflict):
        await app.service.resume(run.id)  # resuming a running run
    requested = await app.service.pause(run.id)
    assert requested.status is TaskStatus.RUNNING
    assert requested.requested is RunRequest.PAUSE
    assert not requested.can_pause and not requested.can_resume
    paused = await app.service.wait(run.id, {TaskStatus.PAUSED}, timeout=WAIT)
    assert paused.state == {"n": 1}
    assert paused.iterations == 1
    assert paused.requested is None and paused.can_resume
    await app.service.resume(run.id)
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.output == {"resumed_with": 1}
    with pytest.raises(Conflict):
        await app.service.pause(run.id)  # pausing a finished run
    assert not done.can_pause and not done.can_resume


async def test_a_paused_run_can_be_aborted(make_app: Any) -> None:
    app = await make_app(Pausy, worker=False)
    run = await app.service.trigger("ctl-pausy")
    await app.service.pause(run.id)
    aborted = await app.service.abort(run.id)
    assert aborted.status is TaskStatus.ABORTED
    with pytest.raises(Conflict):
        await app.service.resume(run.id)


async def test_a_definition_may_refuse_pausing(make_app: Any) -> None:
    app = await make_app(Unpausable, worker=False)
    run = await app.service.trigger("ctl-unpausable")
    assert not run.can_pause and run.can_abort
    with pytest.raises(Conflict):
        await app.service.pause(run.id)
    assert (await app.service.get(run.id)).status is TaskStatus.PENDING


async def test_abort_mode_cancel_stops_an_iteration_that_never_polls(make_app: Any) -> None:
    app = await make_app(Sleeper)
    run = await app.service.trigger("ctl-sleeper")
    await app.service.wait(run.id, {TaskStatus.RUNNING}, timeout=WAIT)
    started = time.monotonic()
    await app.service.abort(run.id, "stop now")
    aborted = await app.service.wait(run.id, timeout=WAIT)
    assert time.monotonic() - started < 5
    assert aborted.status is TaskStatus.ABORTED
    assert aborted.state == {}  # the cancelled iteration's work is not saved
    assert aborted.error is not None and aborted.error.code == "ABORTED"
