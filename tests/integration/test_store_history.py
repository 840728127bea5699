"""The result history when a finished run's last attempt is the run row
itself (server/store/history.py): what readers see is one record per
finished attempt, newest first, whichever of them are stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from taskloom.definitions import Retry, TaskController, TaskDefinition, TaskStatus
from taskloom.server.store.models import results
from taskloom.server.taskloom import Taskloom

WAIT = 10.0


class FailsFirst(TaskDefinition[Any]):
    """Fails its first `fail_times` attempts, then returns its attempt."""

    id = "hist-fails-first"
    retry = Retry(attempts=2, wait_seconds=0)

    async def run(self, controller: TaskController[Any]) -> Any:
        attempt = controller.run.attempt
        if attempt < int((controller.input.model_extra or {}).get("fail_times", 2)):
            return controller.response.error(f"attempt {attempt} failed", "FLAKY")
        return {"attempt": attempt}


class KeepsTwo(FailsFirst):
    id = "hist-keeps-two"
    max_results = 2


class KeepsNone(FailsFirst):
    id = "hist-keeps-none"
    max_results = -1


class NoRetry(FailsFirst):
    id = "hist-no-retry"
    retry = Retry(attempts=0)


DEFS = (FailsFirst, KeepsTwo, KeepsNone, NoRetry)


async def _stored(app: Taskloom, run_id: str) -> int:
    def count(conn: Connection) -> int:
        query = select(func.count()).where(results.c.run_id == run_id)
        return int(conn.execute(query).scalar_one())

    return await app.database.read(count)


async def _finished(app: Taskloom, definition: str, fail_times: int) -> str:
    run = await app.service.trigger(definition, {"fail_times": fail_times})
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status.is_terminal
    return run.id


def _attempts(history: list[Any]) -> list[tuple[int, TaskStatus]]:
    return [(r.attempt, r.status) for r in history]


async def test_a_first_try_success_has_one_record_and_stores_none(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run_id = await _finished(app, FailsFirst.id, fail_times=0)
    [record] = await app.service.history(run_id)
    run = await app.service.get(run_id)
    assert (record.attempt, record.status, record.output, record.error) == (
        0,
        TaskStatus.SUCCEEDED,
        {"attempt": 0},
        None,
    )
    assert (record.started_at, record.finished_at) == (run.started_at, run.finished_at)
    assert await _stored(app, run_id) == 0


async def test_pages_run_across_the_runs_own_record(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run_id = await _finished(app, FailsFirst.id, fail_times=2)
    assert await _stored(app, run_id) == 2  # the failed attempts
    everything = await app.service.history(run_id)
    assert _attempts(everything) == [
        (2, TaskStatus.SUCCEEDED),
        (1, TaskStatus.FAILED),
        (0, TaskStatus.FAILED),
    ]
    for first in range(1, 5):
        for skip in range(0, 5):
            page = await app.service.history(run_id, first=first, skip=skip)
            assert _attempts(page) == _attempts(everything[skip : skip + first]), (first, skip)


async def test_max_results_counts_the_runs_own_record(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run_id = await _finished(app, KeepsTwo.id, fail_times=2)
    assert _attempts(await app.service.history(run_id)) == [
        (2, TaskStatus.SUCCEEDED),
        (1, TaskStatus.FAILED),
    ]
    assert await _stored(app, run_id) == 1


async def test_a_definition_that_keeps_no_history_shows_none(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run_id = await _finished(app, KeepsNone.id, fail_times=1)
    assert await app.service.history(run_id) == []
    assert await _stored(app, run_id) == 0


async def test_a_retry_by_request_keeps_the_failed_attempts_record(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run_id = await _finished(app, NoRetry.id, fail_times=1)
    assert _attempts(await app.service.history(run_id)) == [(0, TaskStatus.FAILED)]
    assert await _stored(app, run_id) == 0
    await app.service.retry(run_id)
    done = await app.service.wait(run_id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    history = await app.service.history(run_id)
    assert _attempts(history) == [(1, TaskStatus.SUCCEEDED), (0, TaskStatus.FAILED)]
    assert history[1].error is not None and history[1].error.message == "attempt 0 failed"
    assert await _stored(app, run_id) == 1


async def test_a_stored_record_of_the_last_attempt_is_not_shown_twice(make_app: Any) -> None:
    """An abort before the run started stores its record, as older versions
    stored every last attempt's."""
    app: Taskloom = await make_app(*DEFS, worker=False)
    run = await app.service.trigger(FailsFirst.id, delay=3600)
    await app.service.abort(run.id)
    assert _attempts(await app.service.history(run.id)) == [(0, TaskStatus.ABORTED)]
    assert await _stored(app, run.id) == 1
