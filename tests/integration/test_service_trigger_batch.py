"""trigger_many builds what is common to its runs once: the runs and views
it returns are those `trigger` and a read give, input by input."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, model_validator

from taskloom.definitions import InvalidInput, TaskController, TaskDefinition
from taskloom.definitions.run_view import RunView
from taskloom.server.taskloom import Taskloom


class Free(TaskDefinition[Any]):
    id = "batch-free"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class Defaults(BaseModel):
    size: int = 3


class WithDefaults(TaskDefinition[Defaults]):
    id = "batch-defaults"

    async def run(self, controller: TaskController[Defaults]) -> Any:
        return None


class Stamped(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def stamp(cls, data: Any) -> Any:
        return {**(data or {}), "stamped": True}

    model_config = {"extra": "allow"}


class WithValidator(TaskDefinition[Stamped]):
    id = "batch-validator"

    async def run(self, controller: TaskController[Stamped]) -> Any:
        return None


class Hooked(TaskDefinition[Any]):
    id = "batch-hooked"
    seen: list[Any] = []

    def on_before_trigger(self, input: Any) -> Any:
        Hooked.seen.append(input.model_dump())
        return None

    def validate_input(self, input: Any) -> None:
        if input.model_dump().get("bad"):
            raise ValueError("bad input")

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class Keyed(TaskDefinition[Any]):
    id = "batch-keyed"
    concurrency_per_key = 1

    def concurrency_key(self, input: Any) -> str | None:
        return str(input.model_dump().get("k"))

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    started: Taskloom = await make_app(
        Free, WithDefaults, WithValidator, Hooked, Keyed, worker=False
    )
    return started


@pytest.mark.parametrize(
    ("definition", "inputs", "stored"),
    [
        (Free, [None, {"a": 1}, None], [{}, {"a": 1}, {}]),
        (WithDefaults, [None, {"size": 5}], [{"size": 3}, {"size": 5}]),
        (WithValidator, [None, {"x": 1}], [{"stamped": True}, {"x": 1, "stamped": True}]),
        (Hooked, [None, {"b": 2}], [{}, {"b": 2}]),
        (Keyed, [{"k": "a"}, None], [{"k": "a"}, {}]),
    ],
)
async def test_views_and_rows_match_a_read_back(
    app: Taskloom, definition: type[TaskDefinition[Any]], inputs: list[Any], stored: list[Any]
) -> None:
    views = await app.service.trigger_many(definition.id, inputs, priority=4, delay=30)
    assert [v.input for v in views] == stored
    assert len({v.id for v in views}) == len(inputs)
    read = [await app.service.get(v.id) for v in views]
    assert views == read
    assert all(isinstance(v, RunView) for v in views)
    one = await app.service.trigger(definition.id, inputs[0], priority=4)
    assert one.input == stored[0]


async def test_each_input_gets_its_own_hook_call_and_checks(app: Taskloom) -> None:
    Hooked.seen.clear()
    await app.service.trigger_many(Hooked.id, [None, {"x": 1}])
    assert Hooked.seen == [{}, {"x": 1}]
    with pytest.raises(InvalidInput, match="bad input"):
        await app.service.trigger_many(Hooked.id, [None, {"bad": True}])
    assert await app.service.count_runs() == 1 + 1  # the first batch only


async def test_concurrency_keys_are_per_input(app: Taskloom) -> None:
    views = await app.service.trigger_many(Keyed.id, [{"k": "a"}, {"k": "b"}, None])
    keys = await app.database.read(
        lambda c: {
            r[0]: r[1]
            for r in c.exec_driver_sql("SELECT id, concurrency_key FROM task_runs").fetchall()
        }
    )
    assert [keys[v.id] for v in views] == ["a", "b", "None"]


async def test_the_first_input_is_checked_before_the_options(app: Taskloom) -> None:
    app.service.max_input_bytes = 10
    with pytest.raises(InvalidInput, match=r"^input"):
        await app.service.trigger_many(Free.id, [{"long": "x" * 50}], delay=-1)
    with pytest.raises(InvalidInput, match=r"^delay"):
        await app.service.trigger_many(Free.id, [None], delay=-1)
    assert await app.service.trigger_many(Free.id, [], delay=-1) == []
