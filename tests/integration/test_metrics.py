"""/metrics after some runs, scraped over HTTP from the real ASGI app, and
the JSON log lines of the engine."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.records import TaskStatus
from taskloom.definitions.registry import Registry
from taskloom.server.app import create_app
from taskloom.server.logformat import JsonFormatter, RunContextFilter, bind_run
from taskloom.server.taskloom import Taskloom


class Steps(BaseModel):
    steps: int = 1
    fail: bool = False


class Stepper(TaskDefinition[Steps]):
    id = "stepper"

    async def run(self, controller: TaskController[Steps]) -> Any:
        done = controller.state.get("done", 0) + 1
        if controller.input.fail:
            return controller.response.error("asked to fail", code="ASKED")
        if done < controller.input.steps:
            return controller.response.continue_(state={"done": done})
        logging.getLogger("tests.stepper").info("finishing")
        return controller.response.done(output={"done": done})


class Other(TaskDefinition[Steps]):
    id = "other"

    async def run(self, controller: TaskController[Steps]) -> Any:
        return {"ok": True}


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[Taskloom, httpx.AsyncClient]]:
    taskloom = Taskloom(
        database_url,
        registry=Registry([Stepper, Other]),
        load_entry_points=False,
        poll_interval=0.2,
        shutdown_grace=1.0,
    )
    app = create_app(taskloom)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield taskloom, client


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
        if found == wanted:
            return float(match.group(3))
    return 0.0


async def test_metrics_count_runs_iterations_queue_and_slots(
    served: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    taskloom, client = served
    service = taskloom.service
    ok = [await service.trigger("stepper", {"steps": 3}) for _ in range(3)]
    failing = await service.trigger("stepper", {"fail": True})
    other = await service.trigger("other")
    later = await service.trigger("other", delay=3600)
    for run in [*ok, failing, other]:
        await service.wait(run.id, timeout=20)

    text = (await client.get("/metrics")).text
    assert sample(text, "taskloom_runs_triggered_total", definition="stepper") == 4
    assert sample(text, "taskloom_runs_triggered_total", definition="other") == 2
    assert (
        sample(text, "taskloom_runs_finished_total", definition="stepper", status="SUCCEEDED") == 3
    )
    assert sample(text, "taskloom_runs_finished_total", definition="stepper", status="FAILED") == 1
    assert sample(text, "taskloom_runs_finished_total", definition="other", status="SUCCEEDED") == 1
    # three runs of three iterations and one failing iteration
    assert sample(text, "taskloom_iteration_duration_seconds_count", definition="stepper") == 10
    assert sample(text, "taskloom_iteration_duration_seconds_sum", definition="stepper") > 0
    assert sample(text, "taskloom_runs_delayed") == 1
    assert sample(text, "taskloom_runs_due") == 0
    assert sample(text, "taskloom_runs", status="PENDING") == 1
    assert sample(text, "taskloom_oldest_due_run_age_seconds") == 0
    assert taskloom.worker is not None
    slots = taskloom.worker.options.concurrency
    assert sample(text, "taskloom_worker_slots", state="busy") == 0
    assert sample(text, "taskloom_worker_slots", state="free") == slots

    aborted = await service.abort(later.id)
    assert aborted.status is TaskStatus.ABORTED
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "taskloom_runs_finished_total", definition="other", status="ABORTED") == 1
    assert sample(text, "taskloom_runs_delayed") == 0


async def test_due_runs_and_their_age_without_a_worker(database_url: str) -> None:
    taskloom = Taskloom(
        database_url, registry=Registry([Other]), load_entry_points=False, worker=False
    )
    app = create_app(taskloom)
    async with app.router.lifespan_context(app):
        await taskloom.service.trigger("other")
        await taskloom.service.trigger("other")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            before = time.monotonic()
            deadline = before + 5
            while True:  # the age grows with time; poll until it is measurably positive
                text = (await client.get("/metrics")).text
                if sample(text, "taskloom_oldest_due_run_age_seconds") > 0:
                    break
                assert time.monotonic() < deadline
    assert sample(text, "taskloom_runs_due") == 2
    assert sample(text, "taskloom_worker_slots", state="free") == 0


def test_json_log_lines_carry_run_id_and_definition() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RunContextFilter())
    logger = logging.getLogger("taskloom.test-json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        import contextvars

        def in_run() -> None:
            bind_run("run-1", "countdown")
            logger.warning("lease lost %s", "now")

        contextvars.copy_context().run(in_run)
        logger.warning("outside", extra={"run_id": "run-2"})
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "lease lost now"
    assert first["run_id"] == "run-1" and first["definition"] == "countdown"
    assert first["level"] == "WARNING" and first["logger"] == "taskloom.test-json"
    assert second["run_id"] == "run-2" and "definition" not in second


async def test_engine_lines_carry_run_id_and_definition(make_app: Any) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RunContextFilter())
    logger = logging.getLogger("taskloom.worker")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        app = await make_app(Stepper)
        run = await app.service.trigger("stepper", {"fail": True})
        assert (await app.service.wait(run.id, timeout=20)).status is TaskStatus.FAILED
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finished = [line for line in lines if line.get("run_id") == run.id]
    assert finished, lines
    assert finished[-1]["definition"] == "stepper"
    assert finished[-1]["level"] == "WARNING"
    assert "FAILED: asked to fail" in finished[-1]["message"]
