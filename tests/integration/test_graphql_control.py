"""Run control through GraphQL: pauseTask, resumeTask, retryTask,
setTaskPriority, deleteTaskRun, triggerTask's idempotencyKey and simulate,
the new TaskRun fields (canPause, canResume, canRetry, hasEnded, workerId,
statusMessage, progress.display, history) and TaskLogFilter.period, with
the refusals as CONFLICT / BAD_USER_INPUT errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from taskloom.definitions import Retry, TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.registry import Registry
from taskloom.server.app import create_app
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, error

WAIT = 10.0
RUN_FIELDS = """id status requested canPause canResume canRetry canAbort hasEnded workerId
statusMessage simulate idempotencyKey priority attempt input
progress { current total units percent display }"""
TRIGGER = f"""mutation($def: ID!, $input: JSON, $key: String, $simulate: Boolean! = false,
$delay: Int) {{ triggerTask(definitionId: $def, input: $input, idempotencyKey: $key,
simulate: $simulate, delaySeconds: $delay) {{ {RUN_FIELDS} }} }}"""
RUN = f"query($id: ID!) {{ taskRun(id: $id) {{ {RUN_FIELDS} }} }}"


def control(name: str, extra: str = "") -> str:
    args = "$id: ID!" + (", $priority: Int!" if extra else "")
    call = "id: $id" + (", priority: $priority" if extra else "")
    return f"mutation({args}) {{ {name}({call}) {{ {RUN_FIELDS} }} }}"


class Holding(TaskDefinition[Any]):
    """Reports progress and a status line, then waits for a pause request."""

    id = "gql-holding"

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.state.get("paused_once"):
            return "resumed"
        controller.progress(3, 10, "files")
        controller.status("Importing batch 3 of 10")
        deadline = time.monotonic() + WAIT
        while True:
            if controller.runtime.is_pause_requested() or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
        return controller.response.continue_(state={"paused_once": True})


class Flaky(TaskDefinition[Any]):
    id = "gql-flaky"
    retry = Retry(attempts=1)
    calls: ClassVar[int] = 0

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.run.attempt < 2:
            return controller.response.error(f"try {controller.run.attempt}", "FLAKY")
        return {"attempt": controller.run.attempt}


class Fixed(TaskDefinition[Any]):
    id = "gql-fixed"
    pausable = False

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.runtime.simulate


class Yearly(TaskDefinition[Any]):
    id = "gql-yearly"
    schedule = "0 0 1 1 *"
    schedule_timezone = "Europe/Paris"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The API layer over the service (tested on both backends): SQLite only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'control.db'}"


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[Taskloom, httpx.AsyncClient]]:
    taskloom = Taskloom(
        database_url,
        registry=Registry([Holding, Flaky, Fixed, Yearly]),
        load_entry_points=False,
        poll_interval=0.2,
        shutdown_grace=1.0,
        auth="disabled",
    )
    app = create_app(taskloom)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield taskloom, client


async def trigger(client: httpx.AsyncClient, definition: str, **variables: Any) -> Any:
    answer = await data(client, TRIGGER, {"def": definition, **variables})
    return answer["triggerTask"]


async def test_pause_and_resume_a_running_run(api: tuple[Taskloom, httpx.AsyncClient]) -> None:
    taskloom, client = api
    run = await trigger(client, "gql-holding")
    await taskloom.service.wait(run["id"], {TaskStatus.RUNNING}, timeout=WAIT)

    async def progressed() -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            seen: dict[str, Any] = (await data(client, RUN, {"id": run["id"]}))["taskRun"]
            if seen["progress"] is not None or time.monotonic() > deadline:
                return seen
            await asyncio.sleep(0.05)

    live = await progressed()
    assert live["status"] == "RUNNING" and not live["hasEnded"]
    assert taskloom.worker is not None and live["workerId"] == taskloom.worker.worker_id
    assert live["statusMessage"] == "Importing batch 3 of 10"
    assert live["progress"] == {
        "current": 3.0,
        "total": 10.0,
        "units": "files",
        "percent": 30.0,
        "display": "3 of 10 files",
    }
    assert live["canPause"] and not live["canResume"]
    refused = await error(client, control("resumeTask"), {"id": run["id"]})
    assert refused["extensions"]["code"] == "CONFLICT"
    requested = (await data(client, control("pauseTask"), {"id": run["id"]}))["pauseTask"]
    assert requested["requested"] == "PAUSE" and not requested["canPause"]
    await taskloom.service.wait(run["id"], {TaskStatus.PAUSED}, timeout=WAIT)
    paused = (await data(client, RUN, {"id": run["id"]}))["taskRun"]
    assert paused["canResume"] and not paused["canPause"] and paused["workerId"] is None
    resumed = (await data(client, control("resumeTask"), {"id": run["id"]}))["resumeTask"]
    assert resumed["status"] == "RUNNING"  # it had started
    done = await taskloom.service.wait(run["id"], timeout=WAIT)
    assert done.output == "resumed"
    finished = await error(client, control("pauseTask"), {"id": run["id"]})
    assert finished["extensions"]["code"] == "CONFLICT"


async def test_a_non_pausable_definition_refuses(api: tuple[Taskloom, httpx.AsyncClient]) -> None:
    _, client = api
    run = await trigger(client, "gql-fixed", delay=3600)
    assert not run["canPause"] and run["canAbort"]
    refused = await error(client, control("pauseTask"), {"id": run["id"]})
    assert refused["extensions"]["code"] == "CONFLICT"


HISTORY = """query($id: ID!, $first: Int!, $skip: Int!) { taskRun(id: $id) {
  history(first: $first, skip: $skip) { attempt status startedAt finishedAt output
  error { message code } } } }"""


async def test_retry_and_history(api: tuple[Taskloom, httpx.AsyncClient]) -> None:
    taskloom, client = api
    run = await trigger(client, "gql-flaky")
    failed = await taskloom.service.wait(run["id"], timeout=WAIT)
    assert failed.status is TaskStatus.FAILED
    seen = (await data(client, RUN, {"id": run["id"]}))["taskRun"]
    assert seen["canRetry"] and seen["hasEnded"] and not seen["canResume"]
    retried = (await data(client, control("retryTask"), {"id": run["id"]}))["retryTask"]
    assert retried["status"] == "RUNNING" and retried["attempt"] == 2
    done = await taskloom.service.wait(run["id"], timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    history = (await data(client, HISTORY, {"id": run["id"], "first": 10, "skip": 0}))["taskRun"]
    records = history["history"]
    assert [(r["attempt"], r["status"]) for r in records] == [
        (2, "SUCCEEDED"),
        (1, "FAILED"),
        (0, "FAILED"),
    ]
    assert records[0]["output"] == {"attempt": 2} and records[0]["error"] is None
    assert records[2]["error"] == {"message": "try 0", "code": "FLAKY"}
    page = await data(client, HISTORY, {"id": run["id"], "first": 1, "skip": 1})
    assert [r["attempt"] for r in page["taskRun"]["history"]] == [1]
    again = await error(client, control("retryTask"), {"id": run["id"]})
    assert again["extensions"]["code"] == "CONFLICT"


async def test_priority_delete_idempotency_and_simulate(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    taskloom, client = api
    first = await trigger(client, "gql-fixed", key="invoice-7", delay=3600)
    second = await trigger(client, "gql-fixed", key="invoice-7", delay=3600)
    assert first["id"] == second["id"] and first["idempotencyKey"] == "invoice-7"
    raised = await data(client, control("setTaskPriority", "p"), {"id": first["id"], "priority": 9})
    assert raised["setTaskPriority"]["priority"] == 9
    refused = await error(client, control("deleteTaskRun"), {"id": first["id"]})
    assert refused["extensions"]["code"] == "CONFLICT"
    simulated = await trigger(client, "gql-fixed", simulate=True)
    assert simulated["simulate"]
    assert (await taskloom.service.wait(simulated["id"], timeout=WAIT)).output is True
    deleted = await data(client, control("deleteTaskRun"), {"id": simulated["id"]})
    assert deleted["deleteTaskRun"]["id"] == simulated["id"]
    assert (await data(client, RUN, {"id": simulated["id"]}))["taskRun"] is None
    finished = await error(
        client, control("setTaskPriority", "p"), {"id": simulated["id"], "priority": 1}
    )
    assert finished["extensions"]["code"] == "NOT_FOUND"


LOGS = """query($run: ID!, $period: String) { taskLogs(where: {runId: $run, period: $period}) {
  totalCount } }"""


async def test_log_period_filter(api: tuple[Taskloom, httpx.AsyncClient]) -> None:
    taskloom, client = api
    run = await trigger(client, "gql-fixed", delay=3600)
    await taskloom.service.log(run["id"], "INFO", "hello")
    for period, expected in (("15m", 1), ("today", 1), ("2h 30m", 1), ("yesterday", 0)):
        answer = await data(client, LOGS, {"run": run["id"], "period": period})
        assert answer["taskLogs"]["totalCount"] == expected, period
    bad = await error(client, LOGS, {"run": run["id"], "period": "soon"})
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"


SCHEDULES = "{ taskSchedules { definitionId expression timezone nextRunAt lastRunAt enabled } }"
ENABLE = """mutation($def: ID!, $on: Boolean!) { setScheduleEnabled(definitionId: $def,
  enabled: $on) { definitionId enabled nextRunAt } }"""


async def test_schedules_can_be_listed_and_switched(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    _, client = api
    (schedule,) = (await data(client, SCHEDULES))["taskSchedules"]
    assert schedule["definitionId"] == "gql-yearly" and schedule["enabled"]
    assert (schedule["expression"], schedule["timezone"]) == ("0 0 1 1 *", "Europe/Paris")
    assert schedule["lastRunAt"] is None and schedule["nextRunAt"].startswith("2")
    off = await data(client, ENABLE, {"def": "gql-yearly", "on": False})
    assert off["setScheduleEnabled"]["enabled"] is False
    assert (await data(client, SCHEDULES))["taskSchedules"][0]["enabled"] is False
    missing = await error(client, ENABLE, {"def": "gql-fixed", "on": True})
    assert missing["extensions"]["code"] == "NOT_FOUND"


DEFINITIONS = """{ taskDefinitions { id pausable abortMode maxResults concurrency
  concurrencyPerKey schedule } }"""


async def test_definitions_show_their_control_settings(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    _, client = api
    listed = {d["id"]: d for d in (await data(client, DEFINITIONS))["taskDefinitions"]}
    assert listed["gql-fixed"]["pausable"] is False
    assert listed["gql-holding"] == {
        "id": "gql-holding",
        "pausable": True,
        "abortMode": "poll",
        "maxResults": 10,
        "concurrency": None,
        "concurrencyPerKey": None,
        "schedule": None,
    }
    assert listed["gql-yearly"]["schedule"] == "0 0 1 1 *"
