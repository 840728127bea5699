"""Hooks through the real engine: on_done, on_error, on_abort,
on_max_iterations and on_before_trigger, each sync and async; a hook that
raises is logged as an ERROR on the run and leaves the run's state intact."""

from __future__ import annotations

import threading
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from taskloom.definitions import (
    InvalidInput,
    LogLevel,
    RunError,
    RunInfo,
    TaskController,
    TaskDefinition,
    TaskStatus,
)
from taskloom.server.taskloom import Taskloom

WAIT = 10.0
Mode = Literal["done", "error", "aborted", "continue", "wait"]


class HookInput(BaseModel):
    mode: Mode = "done"
    note: str = ""


CALLS: list[tuple[str, str, RunInfo, str]] = []  # (definition, hook, info, thread)


def record(definition: str, hook: str, run: RunInfo) -> None:
    CALLS.append((definition, hook, run, threading.current_thread().name))


def answer(controller: TaskController[HookInput]) -> Any:
    mode = controller.input.mode
    if mode == "error":
        return controller.response.error("went wrong", code="WRONG")
    if mode == "aborted":
        return controller.response.aborted("gave up")
    if mode == "continue":
        return controller.response.continue_(state={"n": controller.run.iteration + 1})
    return controller.response.done(output={"note": controller.input.note})


class AsyncHooks(TaskDefinition[HookInput]):
    id = "hooks-async"
    max_iterations = 2

    async def run(self, controller: TaskController[HookInput]) -> Any:
        return answer(controller)

    async def on_before_trigger(self, input: HookInput) -> HookInput | None:
        if input.note == "refuse":
            raise InvalidInput("notes of 'refuse' are refused")
        if input.note == "bad-value":
            raise ValueError("no bad values")
        return HookInput(mode=input.mode, note=f"{input.note}+async")

    async def on_done(self, run: RunInfo) -> None:
        record(self.id, "on_done", run)

    async def on_error(self, run: RunInfo) -> None:
        record(self.id, "on_error", run)

    async def on_abort(self, run: RunInfo) -> None:
        record(self.id, "on_abort", run)

    async def on_max_iterations(self, run: RunInfo) -> None:
        record(self.id, "on_max_iterations", run)


class SyncHooks(TaskDefinition[HookInput]):
    id = "hooks-sync"
    max_iterations = 2

    def run(self, controller: TaskController[HookInput]) -> Any:
        return answer(controller)

    def on_before_trigger(self, input: HookInput) -> HookInput | None:
        if input.note == "keep":
            return None
        return HookInput(mode=input.mode, note=f"{input.note}+sync")

    def on_done(self, run: RunInfo) -> None:
        record(self.id, "on_done", run)

    def on_error(self, run: RunInfo) -> None:
        record(self.id, "on_error", run)

    def on_abort(self, run: RunInfo) -> None:
        record(self.id, "on_abort", run)

    def on_max_iterations(self, run: RunInfo) -> None:
        record(self.id, "on_max_iterations", run)


class Broken(TaskDefinition[HookInput]):
    """Every hook raises."""

    id = "hooks-broken"
    max_iterations = 2

    async def run(self, controller: TaskController[HookInput]) -> Any:
        controller.log.info("iteration ran")
        return answer(controller)

    async def on_done(self, run: RunInfo) -> None:
        raise RuntimeError("on_done exploded")

    def on_error(self, run: RunInfo) -> None:
        raise RuntimeError("on_error exploded")

    async def on_abort(self, run: RunInfo) -> None:
        raise RuntimeError("on_abort exploded")

    def on_max_iterations(self, run: RunInfo) -> None:
        raise RuntimeError("on_max_iterations exploded")


DEFS = (AsyncHooks, SyncHooks, Broken)


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    CALLS.clear()
    started: Taskloom = await make_app(*DEFS)
    return started


def calls_for(run_id: str) -> list[tuple[str, RunInfo, str]]:
    return [(hook, info, thread) for _d, hook, info, thread in CALLS if info.id == run_id]


@pytest.mark.parametrize("definition", ["hooks-async", "hooks-sync"])
async def test_on_done_gets_the_finished_run(app: Taskloom, definition: str) -> None:
    run = await app.service.trigger(definition, {"mode": "done", "note": "x"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    [(hook, info, thread)] = calls_for(run.id)
    assert hook == "on_done"
    assert info.status is TaskStatus.SUCCEEDED
    assert info.output == run.output
    assert info.definition_id == definition
    if definition == "hooks-sync":
        assert thread != threading.main_thread().name, "a sync hook runs in a thread"


@pytest.mark.parametrize("definition", ["hooks-async", "hooks-sync"])
async def test_on_error_gets_the_failed_run(app: Taskloom, definition: str) -> None:
    run = await app.service.trigger(definition, {"mode": "error"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    [(hook, info, _)] = calls_for(run.id)
    assert hook == "on_error"
    assert info.status is TaskStatus.FAILED
    assert info.error == RunError("went wrong", "WRONG", None)


@pytest.mark.parametrize("definition", ["hooks-async", "hooks-sync"])
async def test_on_abort_after_an_aborted_answer(app: Taskloom, definition: str) -> None:
    run = await app.service.trigger(definition, {"mode": "aborted"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.ABORTED
    [(hook, info, _)] = calls_for(run.id)
    assert hook == "on_abort"
    assert info.status is TaskStatus.ABORTED
    assert info.error is not None and info.error.message == "gave up"


@pytest.mark.parametrize("definition", ["hooks-async", "hooks-sync"])
async def test_on_abort_after_aborting_a_pending_run(app: Taskloom, definition: str) -> None:
    run = await app.service.trigger(definition, {"mode": "done"}, delay=60)
    aborted = await app.service.abort(run.id, "not needed")
    assert aborted.status is TaskStatus.ABORTED
    [(hook, info, _)] = calls_for(run.id)
    assert hook == "on_abort"
    assert info.status is TaskStatus.ABORTED
    assert info.error is not None and info.error.message == "not needed"


@pytest.mark.parametrize("definition", ["hooks-async", "hooks-sync"])
async def test_on_max_iterations_then_failed(app: Taskloom, definition: str) -> None:
    run = await app.service.trigger(definition, {"mode": "continue"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None and run.error.code == "MAX_ITERATIONS"
    assert run.iterations == 2
    assert run.state == {"n": 2}
    [(hook, info, _)] = calls_for(run.id)
    assert hook == "on_max_iterations"
    assert info.status is TaskStatus.FAILED
    assert info.state == {"n": 2}


async def test_no_hook_runs_for_a_plain_continue(app: Taskloom) -> None:
    run = await app.service.trigger("hooks-async", {"mode": "continue"})
    await app.service.wait(run.id, timeout=WAIT)
    assert [hook for hook, _, _ in calls_for(run.id)] == ["on_max_iterations"]


@pytest.mark.parametrize(
    ("definition", "note", "stored"),
    [
        ("hooks-async", "a", "a+async"),
        ("hooks-sync", "b", "b+sync"),
        ("hooks-sync", "keep", "keep"),
    ],
)
async def test_on_before_trigger_may_change_the_input(
    app: Taskloom, definition: str, note: str, stored: str
) -> None:
    run = await app.service.trigger(definition, {"note": note})
    assert run.input == {"mode": "done", "note": stored}
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.output == {"note": stored}


@pytest.mark.parametrize("note", ["refuse", "bad-value"])
async def test_on_before_trigger_may_refuse_and_nothing_is_written(
    app: Taskloom, note: str
) -> None:
    with pytest.raises(InvalidInput):
        await app.service.trigger("hooks-async", {"note": note})
    assert (await app.service.list_runs()).items == []


async def hook_errors(app: Taskloom, run_id: str) -> list[str]:
    logs = (await app.service.logs(run_id)).items
    return [e.message for e in logs if e.level is LogLevel.ERROR]


async def test_a_raising_on_done_is_logged_and_the_run_still_succeeds(app: Taskloom) -> None:
    run = await app.service.trigger("hooks-broken", {"mode": "done", "note": "n"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"note": "n"}
    assert run.error is None
    assert run.has_errors
    assert await hook_errors(app, run.id) == ["hook on_done failed: RuntimeError: on_done exploded"]
    logs = (await app.service.logs(run.id)).items
    assert logs[0].message == "iteration ran"
    failure = logs[-1]
    assert "traceback" in failure.data


async def test_a_raising_on_error_is_logged_and_the_run_keeps_its_error(app: Taskloom) -> None:
    run = await app.service.trigger("hooks-broken", {"mode": "error"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error == RunError("went wrong", "WRONG", None)
    assert await hook_errors(app, run.id) == [
        "hook on_error failed: RuntimeError: on_error exploded"
    ]


async def test_a_raising_on_max_iterations_is_logged(app: Taskloom) -> None:
    run = await app.service.trigger("hooks-broken", {"mode": "continue"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None and run.error.code == "MAX_ITERATIONS"
    assert run.state == {"n": 2}
    assert await hook_errors(app, run.id) == [
        "hook on_max_iterations failed: RuntimeError: on_max_iterations exploded"
    ]


async def test_a_raising_on_abort_is_logged_for_an_aborted_answer(app: Taskloom) -> None:
    run = await app.service.trigger("hooks-broken", {"mode": "aborted"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.ABORTED
    assert await hook_errors(app, run.id) == [
        "hook on_abort failed: RuntimeError: on_abort exploded"
    ]


async def test_a_raising_on_abort_is_logged_when_aborting_a_pending_run(app: Taskloom) -> None:
    run = await app.service.trigger("hooks-broken", {"mode": "done"}, delay=60)
    aborted = await app.service.abort(run.id)
    assert aborted.status is TaskStatus.ABORTED
    assert aborted.error is not None and aborted.error.code == "ABORTED"
    assert await hook_errors(app, run.id) == [
        "hook on_abort failed: RuntimeError: on_abort exploded"
    ]
    assert (await app.service.get(run.id)).status is TaskStatus.ABORTED
