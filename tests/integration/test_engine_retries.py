"""Retries through the real engine: the wait before each attempt, the
attempt counter, `attempts=-1`, the state a retry starts from, and the
result history (one record per finished attempt)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from pydantic import BaseModel

from taskloom.definitions import Retry, TaskController, TaskDefinition, TaskStatus
from taskloom.server.taskloom import Taskloom

WAIT = 10.0


class FlakyInput(BaseModel):
    fail_times: int


class Flaky(TaskDefinition[FlakyInput]):
    """Fails its first `fail_times` attempts, then succeeds."""

    id = "retry-flaky"
    retry = Retry(attempts=2, wait_seconds=0.2, multiplier=1)
    starts: ClassVar[dict[str, list[tuple[int, float]]]] = {}

    async def run(self, controller: TaskController[FlakyInput]) -> Any:
        attempt = controller.run.attempt
        Flaky.starts.setdefault(controller.run.id, []).append((attempt, time.time()))
        if attempt < controller.input.fail_times:
            raise ConnectionError(f"attempt {attempt} failed")
        return {"attempt": attempt}


class Forever(TaskDefinition[FlakyInput]):
    id = "retry-forever"
    retry = Retry(attempts=-1, wait_seconds=0.01, multiplier=0)

    async def run(self, controller: TaskController[FlakyInput]) -> Any:
        if controller.run.attempt < controller.input.fail_times:
            return controller.response.error(f"not yet ({controller.run.attempt})", code="NOT_YET")
        return {"attempts": controller.run.attempt + 1}


class Resumes(TaskDefinition[Any]):
    """Continues once with state, then fails once: the retry starts from
    the state the continue_ saved."""

    id = "retry-resumes"
    retry = Retry(attempts=1, wait_seconds=0)
    seen: ClassVar[list[tuple[int, int, dict[str, Any]]]] = []

    async def run(self, controller: TaskController[Any]) -> Any:
        Resumes.seen.append((controller.run.iteration, controller.run.attempt, controller.state))
        if not controller.state:
            return controller.response.continue_(state={"step": 1})
        if controller.run.attempt == 0:
            raise RuntimeError("second iteration fails once")
        return controller.state


DEFS = (Flaky, Forever, Resumes)


async def test_retries_wait_wait_seconds_times_one_plus_multiplier_times_attempt(
    make_app: Any,
) -> None:
    app: Taskloom = await make_app(*DEFS)
    run = await app.service.trigger("retry-flaky", {"fail_times": 2})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"attempt": 2}
    assert run.attempt == 2
    assert run.iterations == 3
    assert run.has_errors
    starts = Flaky.starts[run.id]
    assert [a for a, _ in starts] == [0, 1, 2]
    # The wait after attempt n is 0.2 * (1 + n): 0.2 s, then 0.4 s.
    assert starts[1][1] - starts[0][1] >= 0.2
    assert starts[2][1] - starts[1][1] >= 0.4
    assert starts[2][1] - starts[1][1] < 0.4 + 5.0


async def test_a_failed_attempt_is_requeued_with_its_run_at(make_app: Any) -> None:
    slow = type("SlowRetry", (Flaky,), {"id": "retry-slow", "retry": Retry(1, 30)})
    app: Taskloom = await make_app(slow)
    run = await app.service.trigger("retry-slow", {"fail_times": 5})
    deadline = time.monotonic() + WAIT
    while (run := await app.service.get(run.id)).attempt == 0:
        assert time.monotonic() < deadline, "the first attempt never failed"
        await asyncio.sleep(0.02)
    assert run.status is TaskStatus.RUNNING  # started, waiting for its retry
    assert run.waiting is not None and run.waiting.until == run.run_at
    assert run.error is not None
    assert (run.error.code, run.error.message) == ("ConnectionError", "attempt 0 failed")
    assert run.finished_at is None
    assert run.worker_id is None
    wait = run.run_at.timestamp() - run.updated_at.timestamp()
    assert abs(wait - 30) < 0.01
    [record] = await app.service.history(run.id)
    assert (record.attempt, record.status) == (0, TaskStatus.FAILED)
    assert record.error is not None and record.error.code == "ConnectionError"


async def test_without_attempts_left_the_run_fails(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run = await app.service.trigger("retry-flaky", {"fail_times": 10})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.attempt == 2, "attempts=2: three tries, the last is attempt 2"
    assert run.error is not None and run.error.message == "attempt 2 failed"
    assert [a for a, _ in Flaky.starts[run.id]] == [0, 1, 2]
    history = await app.service.history(run.id)
    assert [(r.attempt, r.status) for r in history] == [
        (2, TaskStatus.FAILED),
        (1, TaskStatus.FAILED),
        (0, TaskStatus.FAILED),
    ]


async def test_result_history_has_one_record_per_attempt(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run = await app.service.trigger("retry-flaky", {"fail_times": 1})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    newest, oldest = await app.service.history(run.id)
    assert (newest.attempt, newest.status, newest.output, newest.error) == (
        1,
        TaskStatus.SUCCEEDED,
        {"attempt": 1},
        None,
    )
    assert (oldest.attempt, oldest.status, oldest.output) == (0, TaskStatus.FAILED, None)
    assert oldest.error is not None and oldest.error.message == "attempt 0 failed"
    for record in (newest, oldest):
        assert record.started_at is not None
        assert record.started_at <= record.finished_at
    assert oldest.finished_at <= newest.started_at  # type: ignore[operator]
    assert [r.attempt for r in await app.service.history(run.id, first=1, skip=1)] == [0]


async def test_attempts_minus_one_retries_until_it_succeeds(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run = await app.service.trigger("retry-forever", {"fail_times": 25})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"attempts": 26}
    assert run.attempt == 25
    history = await app.service.history(run.id, first=100)
    # max_results (10 by default) caps the history; the newest are kept.
    assert [r.attempt for r in history] == list(range(25, 15, -1))


async def test_a_retry_starts_from_the_state_of_the_last_continue(make_app: Any) -> None:
    Resumes.seen.clear()
    app: Taskloom = await make_app(*DEFS)
    run = await app.service.trigger("retry-resumes")
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"step": 1}
    assert Resumes.seen == [(0, 0, {}), (1, 0, {"step": 1}), (2, 1, {"step": 1})]
