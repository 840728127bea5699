"""TaskService.trigger and trigger_many: validation before anything is
written, all-or-none batches, not-found errors, due times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, Field

from taskloom.definitions import (
    InvalidInput,
    NotFound,
    TaskController,
    TaskDefinition,
    TaskloomError,
    TaskStatus,
)
from taskloom.server.taskloom import Taskloom

MISSING = "00000000-0000-7000-8000-000000000000"


class MailInput(BaseModel):
    to: str
    subject: str = "hello"
    copies: int = Field(1, ge=1, le=5)


class Mail(TaskDefinition[MailInput]):
    id = "svc-mail"

    def validate_input(self, input: MailInput) -> None:
        if "@" not in input.to:
            raise ValueError("`to` must be an e-mail address")

    async def run(self, controller: TaskController[MailInput]) -> Any:
        return None


class Free(TaskDefinition[Any]):
    id = "svc-free"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    started: Taskloom = await make_app(Mail, Free, worker=False)
    return started


async def count(app: Taskloom) -> int:
    return await app.service.count_runs()


async def test_trigger_writes_a_pending_run_with_validated_input(app: Taskloom) -> None:
    before = app.database.clock()
    run = await app.service.trigger("svc-mail", {"to": "a@b.c"}, name="welcome", priority=7)
    assert run.status is TaskStatus.PENDING
    assert run.definition_id == "svc-mail"
    assert run.input == {"to": "a@b.c", "subject": "hello", "copies": 1}
    assert (run.name, run.priority) == ("welcome", 7)
    assert (run.iterations, run.attempt, run.state, run.output, run.error) == (0, 0, {}, None, None)
    # By the database's clock (PostgreSQL's), which stamps the run.
    assert before <= run.created_at.timestamp() <= app.database.clock()
    assert run.run_at == run.created_at
    assert run.started_at is None and run.finished_at is None
    stored = await app.service.get(run.id)
    assert stored == run


async def test_a_definition_may_be_given_by_class(app: Taskloom) -> None:
    run = await app.service.trigger(Mail, MailInput(to="x@y.z", copies=2))
    assert run.definition_id == "svc-mail"
    assert run.input["copies"] == 2


async def test_a_delay_or_a_time_sets_run_at(app: Taskloom) -> None:
    delayed = await app.service.trigger("svc-free", delay=30)
    gap = delayed.run_at.timestamp() - delayed.created_at.timestamp()
    assert gap == pytest.approx(30, abs=0.01)
    at = datetime.now(UTC) + timedelta(hours=1)
    scheduled = await app.service.trigger("svc-free", run_at=at)
    assert scheduled.run_at.timestamp() == pytest.approx(at.timestamp(), abs=0.001)


async def test_invalid_input_raises_with_field_errors_and_writes_nothing(app: Taskloom) -> None:
    with pytest.raises(InvalidInput) as caught:
        await app.service.trigger("svc-mail", {"copies": 9})
    error = caught.value
    assert isinstance(error, TaskloomError)
    assert error.code == "BAD_USER_INPUT"
    fields = {tuple(e["loc"]): e["message"] for e in error.errors}
    assert set(fields) == {("to",), ("copies",)}
    assert "5" in fields[("copies",)]
    assert await count(app) == 0


async def test_validate_input_failures_are_invalid_input(app: Taskloom) -> None:
    with pytest.raises(InvalidInput, match="e-mail") as caught:
        await app.service.trigger("svc-mail", {"to": "nobody"})
    assert caught.value.errors == [{"loc": ["input"], "message": "`to` must be an e-mail address"}]
    assert await count(app) == 0


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"delay": -1}, "delay"),
        ({"delay": 1, "run_at": datetime.now(UTC)}, "runAt"),
        ({"name": "n" * 501}, "name"),
        ({"priority": 10**7}, "priority"),
    ],
)
async def test_invalid_options_are_invalid_input(
    app: Taskloom, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await app.service.trigger("svc-free", {}, **options)
    assert caught.value.errors[0]["loc"] == [field]
    assert await count(app) == 0


async def test_an_unknown_definition_is_not_found(app: Taskloom) -> None:
    with pytest.raises(NotFound, match="no-such-task"):
        await app.service.trigger("no-such-task", {})
    with pytest.raises(NotFound):
        await app.service.trigger_many("no-such-task", [{}])
    assert await count(app) == 0


async def test_an_unknown_run_is_not_found(app: Taskloom) -> None:
    with pytest.raises(NotFound, match=MISSING):
        await app.service.get(MISSING)
    assert await app.service.find(MISSING) is None
    with pytest.raises(NotFound):
        await app.service.trigger("svc-free", parent_id=MISSING)
    assert await count(app) == 0


async def test_trigger_many_writes_every_run(app: Taskloom) -> None:
    inputs = [{"to": f"user{i}@example.com"} for i in range(20)]
    runs = await app.service.trigger_many("svc-mail", inputs, priority=2)
    assert len(runs) == 20
    assert len({r.id for r in runs}) == 20
    assert [r.input["to"] for r in runs] == [i["to"] for i in inputs]
    assert all(r.status is TaskStatus.PENDING and r.priority == 2 for r in runs)
    assert await count(app) == 20
    assert await app.service.get(runs[7].id) == runs[7]


async def test_trigger_many_is_all_or_none(app: Taskloom) -> None:
    inputs: list[Any] = [{"to": "a@b.c"}, {"to": "d@e.f"}, {"to": "g@h.i", "copies": 0}]
    with pytest.raises(InvalidInput) as caught:
        await app.service.trigger_many("svc-mail", inputs)
    assert caught.value.errors[0]["loc"] == ["copies"]
    assert await count(app) == 0


async def test_trigger_many_with_nothing_writes_nothing(app: Taskloom) -> None:
    assert await app.service.trigger_many("svc-mail", []) == []
    assert await count(app) == 0


async def test_the_definition_catalogue(app: Taskloom) -> None:
    assert [d.id for d in app.service.definitions()] == ["svc-free", "svc-mail"]
    assert app.service.definition("svc-mail") is Mail
    with pytest.raises(NotFound):
        app.service.definition("nope")
