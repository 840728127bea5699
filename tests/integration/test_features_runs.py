"""Progress persisted during long iterations, result history with
`max_results`, manual and automatic retries with `on_retry`, priority,
idempotent triggers, simulate and wait, through TaskService on the real
engine and database."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from taskloom.definitions import (
    Conflict,
    InvalidInput,
    Retry,
    RunError,
    TaskController,
    TaskDefinition,
    TaskStatus,
    WaitTimeout,
)
from taskloom.definitions.filters import RunFilter
from tests.support.waiting import eventually

WAIT = 10.0


class Slow(TaskDefinition[Any]):
    """Reports progress, then holds its iteration until the test opens the gate."""

    id = "feat-slow"
    gate: ClassVar[dict[str, asyncio.Event]] = {}

    async def run(self, controller: TaskController[Any]) -> Any:
        for i in range(1, 4):
            controller.progress(i, 10, "files")  # many calls, one write per interval
        controller.status("Importing batch 3 of 10")
        await Slow.gate[controller.run.id].wait()
        controller.progress(10, 10, "files")
        return "ok"


async def test_progress_and_status_are_saved_while_the_iteration_runs(make_app: Any) -> None:
    app = await make_app(Slow)
    run = await app.service.trigger("feat-slow")
    Slow.gate[run.id] = asyncio.Event()

    async def reported() -> bool:
        seen = await app.service.get(run.id)
        return seen.progress is not None and seen.status_message is not None

    try:
        await eventually(reported)
    finally:
        Slow.gate[run.id].set()
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.progress is not None
    assert (done.progress.current, done.progress.percent) == (10, 100.0)
    assert done.progress.display == "10 of 10 files"
    assert done.status_message == "Importing batch 3 of 10"
    assert done.has_ended and done.worker_id is None


async def test_a_running_run_shows_its_worker_and_live_progress(make_app: Any) -> None:
    app = await make_app(Slow)
    run = await app.service.trigger("feat-slow")
    Slow.gate[run.id] = asyncio.Event()
    try:

        async def reported() -> bool:
            return (await app.service.get(run.id)).progress is not None

        await eventually(reported)
        live = await app.service.get(run.id)
        assert live.status is TaskStatus.RUNNING and not live.has_ended
        assert live.worker_id == app.worker.worker_id
        assert live.progress is not None
        assert live.progress.display == "3 of 10 files"
        assert live.progress.percent == 30.0
    finally:
        Slow.gate[run.id].set()
    await app.service.wait(run.id, timeout=WAIT)


class Failing(TaskDefinition[Any]):
    id = "feat-failing"
    retry = Retry(attempts=4)

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.error(f"attempt {controller.run.attempt}", "BOOM")


class FailingKeepTwo(Failing):
    id = "feat-failing-two"
    max_results = 2


class FailingKeepNone(Failing):
    id = "feat-failing-none"
    max_results = -1


class FailingKeepAll(Failing):
    id = "feat-failing-all"
    max_results = 0


@pytest.mark.parametrize(
    ("definition", "kept"),
    [
        ("feat-failing", 5),
        ("feat-failing-two", 2),
        ("feat-failing-none", 0),
        ("feat-failing-all", 5),
    ],
)
async def test_result_history_is_capped_by_max_results(
    make_app: Any, definition: str, kept: int
) -> None:
    app = await make_app(Failing, FailingKeepTwo, FailingKeepNone, FailingKeepAll)
    run = await app.service.trigger(definition)
    failed = await app.service.wait(run.id, timeout=WAIT)
    assert failed.status is TaskStatus.FAILED and failed.attempt == 4
    history = await app.service.history(run.id, first=50)
    assert len(history) == kept
    # newest first, each with its attempt, status and error
    assert [r.attempt for r in history] == [4, 3, 2, 1, 0][:kept]
    for record in history:
        assert record.status is TaskStatus.FAILED
        assert record.error == RunError(f"attempt {record.attempt}", "BOOM")
        assert record.started_at is not None and record.finished_at >= record.started_at
    assert [r.attempt for r in await app.service.history(run.id, first=1, skip=1)] == [3][:kept]


class BatchInput(BaseModel):
    size: int


class Shrinking(TaskDefinition[BatchInput]):
    """Fails while the batch is larger than 5; `on_retry` halves it."""

    id = "feat-shrinking"
    errors_seen: ClassVar[list[RunError | None]] = []

    async def run(self, controller: TaskController[BatchInput]) -> Any:
        if controller.input.size > 5:
            return controller.response.error(f"batch of {controller.input.size} timed out", "SLOW")
        return {"size": controller.input.size}

    def on_retry(self, input: BatchInput, error: RunError | None) -> BatchInput:
        Shrinking.errors_seen.append(error)
        return BatchInput(size=input.size // 2)


class ShrinkingAuto(Shrinking):
    id = "feat-shrinking-auto"
    retry = Retry(attempts=3)


async def test_manual_retry_requeues_with_history_and_on_retry_input(make_app: Any) -> None:
    app = await make_app(Shrinking)
    run = await app.service.trigger("feat-shrinking", {"size": 8})
    failed = await app.service.wait(run.id, timeout=WAIT)
    assert failed.status is TaskStatus.FAILED and failed.can_retry
    with pytest.raises(Conflict):
        await app.service.resume(run.id)
    retried = await app.service.retry(run.id)
    # it had started: it reads RUNNING, waiting for a worker (due now)
    assert retried.status is TaskStatus.RUNNING and retried.waiting is not None
    assert retried.attempt == 1 and retried.input == {"size": 4}
    assert retried.error is None and not retried.has_ended
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED and done.output == {"size": 4}
    assert [(r.attempt, r.status) for r in await app.service.history(run.id)] == [
        (1, TaskStatus.SUCCEEDED),
        (0, TaskStatus.FAILED),
    ]
    assert Shrinking.errors_seen[-1] == RunError("batch of 8 timed out", "SLOW")
    with pytest.raises(Conflict):
        await app.service.retry(run.id)  # a SUCCEEDED run


async def test_automatic_retries_use_on_retry_too(make_app: Any) -> None:
    app = await make_app(ShrinkingAuto)
    run = await app.service.trigger("feat-shrinking-auto", {"size": 20})
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.output == {"size": 5} and done.attempt == 2


class Quick(TaskDefinition[Any]):
    id = "feat-quick"
    order: ClassVar[list[str]] = []

    async def run(self, controller: TaskController[Any]) -> Any:
        Quick.order.append(controller.run.name or "")
        return controller.runtime.simulate


async def test_aborted_runs_can_be_retried_and_pending_ones_cannot(make_app: Any) -> None:
    app = await make_app(Quick, worker=False)
    run = await app.service.trigger("feat-quick", delay=3600)
    with pytest.raises(Conflict):
        await app.service.retry(run.id)
    await app.service.abort(run.id)
    retried = await app.service.retry(run.id)
    assert retried.status is TaskStatus.PENDING and retried.attempt == 1


async def test_claims_take_higher_priority_first_and_priority_can_change(make_app: Any) -> None:
    producer = await make_app(Quick, worker=False)
    Quick.order.clear()
    low = await producer.service.trigger("feat-quick", name="low", priority=-5)
    await producer.service.trigger("feat-quick", name="normal")
    raised = await producer.service.trigger("feat-quick", name="raised", priority=-10)
    changed = await producer.service.set_priority(raised.id, 50)
    assert changed.priority == 50
    await producer.service.trigger("feat-quick", name="high", priority=10)
    with pytest.raises(InvalidInput):
        await producer.service.set_priority(low.id, 10**9)
    worker = await make_app(Quick, concurrency=1)
    await worker.service.wait(low.id, timeout=WAIT)
    assert Quick.order == ["raised", "high", "normal", "low"]
    with pytest.raises(Conflict):
        await worker.service.set_priority(low.id, 1)  # a finished run


async def test_an_idempotency_key_returns_the_existing_run(make_app: Any) -> None:
    app = await make_app(Quick, Slow, worker=False)
    runs = await asyncio.gather(
        *(app.service.trigger("feat-quick", idempotency_key="order-42") for _ in range(10))
    )
    assert len({r.id for r in runs}) == 1
    assert runs[0].idempotency_key == "order-42"
    again = await app.service.trigger("feat-quick", idempotency_key="order-42")
    assert again.id == runs[0].id
    other_key = await app.service.trigger("feat-quick", idempotency_key="order-43")
    other_definition = await app.service.trigger("feat-slow", idempotency_key="order-42")
    assert len({runs[0].id, other_key.id, other_definition.id}) == 3
    assert await app.service.count_runs(RunFilter(definition_id="feat-quick")) == 2
    with pytest.raises(InvalidInput):
        await app.service.trigger("feat-quick", idempotency_key="")


async def test_simulate_marks_the_run_and_its_runtime(make_app: Any) -> None:
    app = await make_app(Quick)
    run = await app.service.trigger("feat-quick", simulate=True)
    assert run.simulate
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.simulate and done.output is True
    plain = await app.service.wait((await app.service.trigger("feat-quick")).id, timeout=WAIT)
    assert not plain.simulate and plain.output is False


async def test_wait_returns_on_a_chosen_status_and_times_out_clearly(make_app: Any) -> None:
    app = await make_app(Quick, worker=False)
    run = await app.service.trigger("feat-quick", delay=3600)
    assert (await app.service.wait(run.id, {TaskStatus.PENDING}, timeout=1)).id == run.id
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="still PENDING"):
        await app.service.wait(run.id, timeout=0.3)
    assert time.monotonic() - started < 2


class Echo(TaskDefinition[Any]):
    """No input model: any object is accepted, an empty one parsed only if read."""

    id = "feat-echo-input"

    async def run(self, controller: TaskController[Any]) -> Any:
        return {"input": controller.input.model_dump(), "type": type(controller.input).__name__}


@pytest.mark.parametrize("given", [None, {}, {"a": 1, "b": [2]}])
async def test_a_run_without_input_model_reads_its_input(
    make_app: Any, given: dict[str, Any] | None
) -> None:
    app = await make_app(Echo)
    run = await app.service.trigger(Echo.id, given)
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.output == {"input": given or {}, "type": "AnyInput"}
