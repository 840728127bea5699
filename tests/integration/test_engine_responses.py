"""Each answer of `run()` through the real engine on a real database:
done, continue_ (with state, with a delay), error, aborted, a plain value,
an exception, a sync `run()`, the hard iteration timeout."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from taskloom.definitions import LogLevel, TaskController, TaskDefinition, TaskStatus, current_run
from taskloom.server.taskloom import Taskloom

WAIT = 10.0


class Done(TaskDefinition[Any]):
    id = "resp-done"

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.info("finishing")
        controller.progress(1, 1, "steps")
        controller.status("all done")
        return controller.response.done(output={"ok": True}, message="fine")


def deep_in_the_call_stack() -> None:
    current_run().log.info("logged through current_run()")


class Plain(TaskDefinition[Any]):
    id = "resp-plain"

    async def run(self, controller: TaskController[Any]) -> Any:
        deep_in_the_call_stack()
        return [1, "two", {"three": 3}]


class PlainNone(TaskDefinition[Any]):
    id = "resp-plain-none"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class CountInput(BaseModel):
    to: int = 3
    delay: float | None = None


class Counter(TaskDefinition[CountInput]):
    """Continues with state until it has counted `to` iterations."""

    id = "resp-counter"
    seen: ClassVar[list[tuple[int, dict[str, Any], float]]] = []

    async def run(self, controller: TaskController[CountInput]) -> Any:
        Counter.seen.append((controller.run.iteration, dict(controller.state), time.time()))
        count = controller.state.get("count", 0) + 1
        controller.progress(count, controller.input.to, "steps")
        if count < controller.input.to:
            return controller.response.continue_(
                state={"count": count}, delay=controller.input.delay
            )
        return controller.response.done(output={"count": count})


class Fails(TaskDefinition[Any]):
    id = "resp-error"

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.error("upstream said no", code="UPSTREAM", data={"status": 503})


class AbortsItself(TaskDefinition[Any]):
    id = "resp-aborted"

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.aborted("nothing left to do")


class Raises(TaskDefinition[Any]):
    id = "resp-raises"

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.info("about to fail")
        raise KeyError("missing-key")


class SyncRun(TaskDefinition[Any]):
    """A plain `def run()`: blocks its thread until the test opens the gate."""

    id = "resp-sync"
    gate: ClassVar[threading.Event] = threading.Event()
    thread: ClassVar[list[str]] = []

    def run(self, controller: TaskController[Any]) -> Any:
        SyncRun.thread.append(threading.current_thread().name)
        if not SyncRun.gate.wait(WAIT):
            raise TimeoutError("the gate never opened")
        return {"sync": True, "current": current_run().run.id}  # visible in the thread


class SyncRaises(TaskDefinition[Any]):
    id = "resp-sync-raises"

    def run(self, controller: TaskController[Any]) -> Any:
        raise ValueError("sync failure")


class Slow(TaskDefinition[Any]):
    id = "resp-slow"
    iteration_timeout = 0.3
    budget: ClassVar[list[float]] = []

    async def run(self, controller: TaskController[Any]) -> Any:
        Slow.budget.append(controller.runtime.remaining_seconds())
        await asyncio.sleep(30)
        return {"never": True}


class Budgeted(TaskDefinition[Any]):
    """Works in small steps until its time budget is nearly spent."""

    id = "resp-budgeted"
    iteration_timeout = 0.5

    async def run(self, controller: TaskController[Any]) -> Any:
        steps = 0
        while not controller.runtime.is_close_to_timeout(0.2):
            await asyncio.sleep(0.02)
            steps += 1
        total = controller.state.get("steps", 0) + steps
        left = controller.runtime.remaining_seconds()
        if controller.run.iteration == 1:
            return {"steps": total, "left": left}
        return controller.response.continue_(state={"steps": total})


class NotJson(TaskDefinition[Any]):
    """Answers with what JSON cannot hold, or logs it."""

    id = "resp-not-json"

    async def run(self, controller: TaskController[Any]) -> Any:
        what = controller.input.model_dump().get("what")
        when = datetime(2030, 1, 2, tzinfo=UTC)
        controller.log.info("odd data", data={"when": when})
        if what == "output":
            return {"when": when}
        if what == "state":
            return controller.response.continue_(state={"tags": {1, 2}})
        if what == "nan":
            return {"value": float("nan")}
        return "only the log was odd"


class SyncSlow(TaskDefinition[Any]):
    id = "resp-sync-slow"
    iteration_timeout = 0.3
    release: ClassVar[threading.Event] = threading.Event()

    def run(self, controller: TaskController[Any]) -> Any:
        SyncSlow.release.wait(WAIT)
        return "too late"


class CancelsItself(TaskDefinition[Any]):
    """Lets a CancelledError of its own escape."""

    id = "resp-cancels-itself"

    async def run(self, controller: TaskController[Any]) -> Any:
        inner = asyncio.ensure_future(asyncio.sleep(30))
        inner.cancel()
        await inner


ALL = (
    CancelsItself,
    SyncSlow,
    NotJson,
    Budgeted,
    Done,
    Plain,
    PlainNone,
    Counter,
    Fails,
    AbortsItself,
    Raises,
    SyncRun,
    SyncRaises,
    Slow,
)


async def start(make_app: Any) -> Taskloom:
    app: Taskloom = await make_app(*ALL)
    return app


async def test_done_succeeds_with_output_logs_progress_and_status(make_app: Any) -> None:
    app = await start(make_app)
    run = await app.service.trigger("resp-done")
    assert run.status is TaskStatus.PENDING
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"ok": True}
    assert run.error is None
    assert run.iterations == 1
    assert run.attempt == 0
    assert run.progress is not None and run.progress.display == "1 of 1 steps"
    assert run.status_message == "fine", "done(message=...) is the run's last status message"
    assert run.finished_at is not None and run.started_at is not None
    assert run.finished_at >= run.started_at
    assert run.worker_id is None
    assert not run.has_errors
    logs = await app.service.logs(run.id)
    assert [(e.level, e.message, e.iteration) for e in logs.items] == [
        (LogLevel.INFO, "finishing", 0)
    ]


async def test_a_plain_return_value_is_the_output(make_app: Any) -> None:
    app = await start(make_app)
    run = await app.service.wait((await app.service.trigger("resp-plain")).id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == [1, "two", {"three": 3}]
    logs = (await app.service.logs(run.id)).items
    assert [e.message for e in logs] == ["logged through current_run()"]
    none = await app.service.wait((await app.service.trigger("resp-plain-none")).id, timeout=WAIT)
    assert none.status is TaskStatus.SUCCEEDED
    assert none.output is None


async def test_continue_saves_state_and_runs_again(make_app: Any) -> None:
    Counter.seen.clear()
    app = await start(make_app)
    run = await app.service.trigger("resp-counter", {"to": 4})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"count": 4}
    assert run.iterations == 4
    assert run.state == {"count": 3}
    assert run.attempt == 0
    assert run.progress is not None and run.progress.display == "4 of 4 steps"
    assert [(i, s) for i, s, _ in Counter.seen] == [
        (0, {}),
        (1, {"count": 1}),
        (2, {"count": 2}),
        (3, {"count": 3}),
    ]


async def test_continue_with_a_delay_waits_before_the_next_iteration(make_app: Any) -> None:
    Counter.seen.clear()
    app = await start(make_app)
    run = await app.service.trigger("resp-counter", {"to": 2, "delay": 0.4})
    waiting = await app.service.get(run.id)
    deadline = time.monotonic() + WAIT
    while waiting.iterations < 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        waiting = await app.service.get(run.id)
    assert waiting.iterations == 1
    if waiting.waiting is not None:  # between the two iterations: started
        assert waiting.status is TaskStatus.RUNNING and waiting.worker_id is None
        assert waiting.state == {"count": 1}
        assert waiting.waiting.until == waiting.run_at
        gap = waiting.run_at.timestamp() - waiting.updated_at.timestamp()
        assert 0.35 <= gap <= 0.45
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    (_, _, first), (_, _, second) = Counter.seen
    assert second - first >= 0.4


async def test_error_fails_with_message_code_and_data(make_app: Any) -> None:
    app = await start(make_app)
    run = await app.service.wait((await app.service.trigger("resp-error")).id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None
    assert (run.error.message, run.error.code, run.error.data) == (
        "upstream said no",
        "UPSTREAM",
        {"status": 503},
    )
    assert run.has_errors
    assert run.finished_at is not None
    assert run.iterations == 1


async def test_aborted_ends_the_run_aborted(make_app: Any) -> None:
    app = await start(make_app)
    run = await app.service.wait((await app.service.trigger("resp-aborted")).id, timeout=WAIT)
    assert run.status is TaskStatus.ABORTED
    assert run.error is not None
    assert (run.error.message, run.error.code) == ("nothing left to do", "ABORTED")
    assert run.finished_at is not None


async def test_an_exception_is_an_error_logged_with_its_traceback(make_app: Any) -> None:
    app = await start(make_app)
    run = await app.service.wait((await app.service.trigger("resp-raises")).id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None
    assert run.error.code == "KeyError"
    assert "missing-key" in run.error.message
    assert run.has_errors
    logs = (await app.service.logs(run.id)).items
    assert logs[0].message == "about to fail"
    errors = [e for e in logs if e.level is LogLevel.ERROR]
    assert len(errors) == 1
    assert errors[0].message == "KeyError: 'missing-key'"
    assert errors[0].data["type"] == "KeyError"
    trace = errors[0].data["traceback"]
    assert trace.startswith("Traceback (most recent call last)")
    assert 'raise KeyError("missing-key")' in trace


async def test_a_sync_run_runs_in_a_thread_without_blocking_the_loop(make_app: Any) -> None:
    SyncRun.gate.clear()
    SyncRun.thread.clear()
    app = await start(make_app)
    blocked = await app.service.trigger("resp-sync")
    await app.service.wait(blocked.id, {TaskStatus.RUNNING}, timeout=WAIT)
    # While the sync run blocks its thread, the loop keeps serving other runs.
    other = await app.service.trigger("resp-done")
    other = await app.service.wait(other.id, timeout=WAIT)
    assert other.status is TaskStatus.SUCCEEDED
    assert (await app.service.get(blocked.id)).status is TaskStatus.RUNNING
    SyncRun.gate.set()
    run = await app.service.wait(blocked.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"sync": True, "current": run.id}
    assert SyncRun.thread and SyncRun.thread[0] != threading.main_thread().name
    assert SyncRun.thread[0].startswith("taskloom-task")


async def test_a_sync_exception_is_an_error_too(make_app: Any) -> None:
    app = await start(make_app)
    run = await app.service.wait((await app.service.trigger("resp-sync-raises")).id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None and run.error.code == "ValueError"
    errors = [e for e in (await app.service.logs(run.id)).items if e.level is LogLevel.ERROR]
    assert "sync failure" in errors[0].message
    assert "traceback" in errors[0].data


async def test_an_async_run_past_its_timeout_is_cancelled_as_timeout(make_app: Any) -> None:
    Slow.budget.clear()
    app = await start(make_app)
    started = time.monotonic()
    run = await app.service.wait((await app.service.trigger("resp-slow")).id, timeout=WAIT)
    assert time.monotonic() - started < 5
    assert run.status is TaskStatus.FAILED
    assert run.error is not None
    assert run.error.code == "TIMEOUT"
    assert "0.3 s" in run.error.message
    assert 0 < Slow.budget[0] <= 0.3
    errors = [e for e in (await app.service.logs(run.id)).items if e.level is LogLevel.ERROR]
    assert [e.message for e in errors] == [run.error.message]


async def test_is_close_to_timeout_lets_an_iteration_yield_before_the_hard_limit(
    make_app: Any,
) -> None:
    app = await start(make_app)
    run = await app.service.wait((await app.service.trigger("resp-budgeted")).id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED, run.error
    assert run.iterations == 2
    assert run.output["steps"] >= 2
    assert 0 < run.output["left"] <= 0.2


async def test_an_answer_json_cannot_hold_fails_the_iteration(make_app: Any) -> None:
    app = await start(make_app)
    for what in ("output", "state", "nan"):
        run = await app.service.trigger("resp-not-json", {"what": what})
        run = await app.service.wait(run.id, timeout=WAIT)
        assert run.status is TaskStatus.FAILED, what
        assert run.error is not None
        assert run.error.code == "NOT_JSON"
        assert what.replace("nan", "output") in run.error.message
        assert run.worker_id is None
        errors = [e for e in (await app.service.logs(run.id)).items if e.level is LogLevel.ERROR]
        assert [e.message for e in errors] == [run.error.message]


async def test_log_data_json_cannot_hold_is_stored_as_text(make_app: Any) -> None:
    app = await start(make_app)
    run = await app.service.trigger("resp-not-json", {"what": "log"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    [line] = (await app.service.logs(run.id)).items
    assert line.message == "odd data"
    assert line.data == {"when": "2030-01-02 00:00:00+00:00"}


async def test_a_sync_run_past_its_timeout_is_recorded_as_timeout(make_app: Any) -> None:
    SyncSlow.release.clear()
    app = await start(make_app)
    try:
        run = await app.service.trigger("resp-sync-slow")
        run = await app.service.wait(run.id, timeout=WAIT)
    finally:
        SyncSlow.release.set()  # the thread cannot be killed; let it end
    assert run.status is TaskStatus.FAILED
    assert run.error is not None and run.error.code == "TIMEOUT"
    assert run.output is None


async def test_a_cancelled_error_from_task_code_is_an_error(make_app: Any) -> None:
    app = await start(make_app)
    run = await app.service.wait(
        (await app.service.trigger("resp-cancels-itself")).id, timeout=WAIT
    )
    assert run.status is TaskStatus.FAILED
    assert run.error is not None and run.error.code == "CancelledError"
    assert run.worker_id is None
    errors = [e for e in (await app.service.logs(run.id)).items if e.level is LogLevel.ERROR]
    assert len(errors) == 1 and "traceback" in errors[0].data
    # The worker is unharmed and keeps running other runs.
    other = await app.service.wait((await app.service.trigger("resp-plain")).id, timeout=WAIT)
    assert other.status is TaskStatus.SUCCEEDED
