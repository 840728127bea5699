"""Runs of a definition that no loaded code can run are reported, not left
PENDING in silence: a worker logs it once per definition, the API shows
the run with `definition: null` and the reason DEFINITION_NOT_LOADED, and
the metrics count them. They wait (a worker that has the definition runs
them)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.records import WaitReason
from taskloom.server.metrics import Metrics
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, served


class Loaded(TaskDefinition[Any]):
    id = "unloaded-loaded"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class Gone(TaskDefinition[Any]):
    """Registered only in the producer: the worker has no code for it."""

    id = "unloaded-gone"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ran"


async def test_a_worker_reports_due_runs_it_cannot_run_once(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    producer: Taskloom = await make_app(Gone, worker=False)
    runs = [await producer.service.trigger(Gone.id) for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="taskloom.worker"):
        worker: Taskloom = await make_app(Loaded)
        for _ in range(100):
            if any(Gone.id in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.05)
    lines = [r.getMessage() for r in caplog.records if Gone.id in r.getMessage()]
    assert lines == [
        f"3 due runs of definition {Gone.id!r}, which is not loaded in this worker: they "
        "wait for a worker that has it (is TASKLOOM_DEFINITIONS complete?)"
    ]
    reasons = await worker.service.waiting_reasons([r.id for r in runs])
    assert reasons == [WaitReason.DEFINITION_NOT_LOADED] * 3
    assert (await worker.service.get(runs[0].id)).status is TaskStatus.PENDING

    metrics = Metrics(process=False)
    metrics.attach(worker)
    await metrics.refresh()
    text = metrics.render().decode()
    assert f'taskloom_runs_definition_not_loaded{{definition="{Gone.id}"}} 3.0' in text

    # They waited: a worker that has the definition runs them.
    await make_app(Gone)
    for run in runs:
        assert (await producer.service.wait(run.id, timeout=20)).output == "ran"


async def test_the_api_shows_no_definition_and_the_reason(database_url: str) -> None:
    query = "query($id: ID!) { taskRun(id: $id) { status definition { id } waiting { reason } } }"
    async with served(database_url, worker=False, definitions=(Gone,)) as (producer, _client):
        run = await producer.service.trigger(Gone.id)
    async with served(database_url, worker=False, definitions=(Loaded,)) as (_app, client):
        seen = (await data(client, query, {"id": run.id}))["taskRun"]
    assert seen["definition"] is None
    assert seen["waiting"] == {"reason": "DEFINITION_NOT_LOADED"}
    assert seen["status"] == "PENDING"
