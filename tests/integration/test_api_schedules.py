"""Schedules made through the API, on SQLite and PostgreSQL: created with
their own input beside a definition's own schedule, listed, fired once per
tick by two workers firing together, deleted; refusals name their field;
admins and developers only. Through TaskService, SyncTaskService and
GraphQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import update

from taskloom.definitions import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TaskController,
    TaskDefinition,
    TaskStatus,
)
from taskloom.definitions.filters import RunFilter
from taskloom.server.auth.identity import Actor, Role
from taskloom.server.engine.scheduler import latest_tick
from taskloom.server.store.models import api_schedules
from tests.integration.graphql_support import data, error, served

WAIT = 15.0


class ReportInput(BaseModel):
    region: str


class Report(TaskDefinition[ReportInput]):
    id = "api-sched-report"
    schedule = "0 6 * * *"  # its own schedule stays beside the API's
    schedule_input = {"region": "all"}

    async def run(self, controller: TaskController[ReportInput]) -> Any:
        return controller.input.region


async def _pretend_downtime(app: Any, schedule_id: str, hours: float) -> None:
    past = time.time() - hours * 3600
    await app.database.write_fn(
        lambda c: c.execute(
            update(api_schedules).where(api_schedules.c.id == schedule_id).values(next_run_at=past)
        )
    )


async def test_an_api_schedule_fires_once_per_tick_across_workers(make_app: Any) -> None:
    first = await make_app(Report)
    second = await make_app(Report)
    made = await first.service.create_schedule(
        Report.id, "*/10 * * * *", "Europe/Paris", {"region": "eu"}
    )
    other = await first.service.create_schedule(Report.id, "*/10 * * * *", "UTC", {"region": "us"})
    assert (made.declared, made.input, made.timezone) == (False, {"region": "eu"}, "Europe/Paris")
    listed = {s.id: s for s in await second.service.schedules()}
    assert listed[Report.id].declared and listed[Report.id].input == {"region": "all"}
    assert listed[made.id].expression == "*/10 * * * *" and listed[other.id].input == {
        "region": "us"
    }
    await _pretend_downtime(first, made.id, hours=2)
    await _pretend_downtime(first, other.id, hours=2)
    now = time.time()
    assert first.scheduler is not None and second.scheduler is not None
    await asyncio.gather(first.scheduler.fire_due(), second.scheduler.fire_due())
    runs = (await first.service.list_runs(RunFilter(definition_id=Report.id))).items
    assert len(runs) == 2, "one run per schedule, the latest missed tick only, once"
    tick = datetime.fromtimestamp(latest_tick("*/10 * * * *", "UTC", now), UTC).isoformat()
    assert {r.idempotency_key for r in runs} == {
        f"schedule:{made.id}:{tick}",
        f"schedule:{other.id}:{tick}",
    }
    outputs = {(await first.service.wait(r.id, timeout=WAIT)).output for r in runs}
    assert outputs == {"eu", "us"}
    assert await first.scheduler.fire_due() == []
    gone = await first.service.delete_schedule(made.id)
    assert gone.id == made.id
    assert made.id not in {s.id for s in await first.service.schedules()}
    with pytest.raises(NotFound):
        await first.service.delete_schedule(made.id)


async def test_the_loop_fires_a_schedule_made_while_it_runs(make_app: Any) -> None:
    app = await make_app(Report)
    made = await app.service.create_schedule(Report.id, "* * * * * *", "UTC", {"region": "x"})
    deadline = time.monotonic() + WAIT
    where = RunFilter(definition_id=Report.id)
    while await app.service.count_runs(where) == 0:
        assert time.monotonic() < deadline, "the scheduler did not fire the new schedule"
        await asyncio.sleep(0.1)
    await app.service.delete_schedule(made.id)
    run = (await app.service.list_runs(where)).items[-1]
    assert (await app.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("expression", "timezone", "raw", "field"),
    [
        ("every monday", "UTC", {"region": "x"}, "expression"),
        ("*/5 * * * *", "Mars/Olympus", {"region": "x"}, "timezone"),
        ("*/5 * * * *", "UTC", {"wrong": 1}, "region"),
    ],
)
async def test_refusals_name_their_field(
    make_app: Any, expression: str, timezone: str, raw: Any, field: str
) -> None:
    app = await make_app(Report, worker=False)
    with pytest.raises(InvalidInput) as refused:
        await app.service.create_schedule(Report.id, expression, timezone, raw)
    assert field in [e["loc"][-1] for e in refused.value.errors]
    assert [s for s in await app.service.schedules() if not s.declared] == []


async def test_who_may_make_and_delete_schedules(make_app: Any) -> None:
    app = await make_app(Report, worker=False)
    user = Actor(owner="u", role=Role.USER)
    developer = Actor(owner="d", role=Role.DEVELOPER)
    with pytest.raises(Forbidden):
        await app.service.create_schedule(
            Report.id, "*/5 * * * *", actor=user, input={"region": "a"}
        )
    made = await app.service.create_schedule(
        Report.id, "*/5 * * * *", input={"region": "a"}, actor=developer
    )
    assert made.created_by == "d"
    with pytest.raises(Forbidden):
        await app.service.delete_schedule(made.id, actor=user)
    with pytest.raises(Conflict):
        await app.service.delete_schedule(Report.id, actor=developer)
    with pytest.raises(NotFound):
        await app.service.create_schedule("no-such-definition", "*/5 * * * *")
    await app.service.delete_schedule(made.id, actor=developer)


async def test_graphql_creates_lists_and_deletes(database_url: str) -> None:
    async with served(database_url, definitions=(Report,)) as (_app, client):
        create = """mutation($e: String!, $tz: String!, $input: JSON) {
            createSchedule(definitionId: "api-sched-report", expression: $e, timezone: $tz,
                           input: $input) { id definitionId expression timezone input declared }
        }"""
        made = (
            await data(client, create, {"e": "*/5 * * * *", "tz": "UTC", "input": {"region": "q"}})
        )["createSchedule"]
        assert made["input"] == {"region": "q"} and made["declared"] is False
        listed = await data(client, "{ taskSchedules { id declared input } }")
        assert {s["id"]: s["declared"] for s in listed["taskSchedules"]} == {
            Report.id: True,
            made["id"]: False,
        }
        refused = await error(
            client, create, {"e": "61 * * * *", "tz": "UTC", "input": {"region": "q"}}
        )
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert refused["extensions"]["errors"][0]["loc"] == ["expression"]
        delete = "mutation($id: ID!) { deleteSchedule(id: $id) { id } }"
        assert (await data(client, delete, {"id": made["id"]}))["deleteSchedule"]["id"] == made[
            "id"
        ]
        assert (await error(client, delete, {"id": made["id"]}))["extensions"][
            "code"
        ] == "NOT_FOUND"
