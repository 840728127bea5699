"""The definition class and the function form: input models, defaults,
validation, registration."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from taskloom.definitions import (
    InvalidInput,
    NotFound,
    Registry,
    Retry,
    TaskController,
    TaskDefinition,
    task,
)
from taskloom.definitions.definition import AnyInput
from taskloom.definitions.registry import registry as global_registry


class Input(BaseModel):
    name: str
    times: int = Field(3, ge=1)


class Typed(TaskDefinition[Input]):
    id = "typed"

    async def run(self, controller: TaskController[Input]) -> Any:
        return controller.input.times


class Untyped(TaskDefinition[Any]):
    id = "untyped"
    title = "Untyped task"

    def run(self, controller: TaskController[Any]) -> Any:
        return None


def test_the_input_model_comes_from_the_generic_argument() -> None:
    assert Typed.input_model is Input
    assert Untyped.input_model is AnyInput


def test_title_defaults_to_the_id() -> None:
    assert Typed.title == "typed"
    assert Untyped.title == "Untyped task"


def test_defaults() -> None:
    assert Typed.max_iterations == 1_000
    assert Typed.iteration_timeout == 300.0
    assert Typed.retry == Retry()


def test_is_async_tells_sync_from_async_run() -> None:
    assert Typed.is_async()
    assert not Untyped.is_async()


def test_parse_input_validates_and_applies_defaults() -> None:
    parsed = Typed.parse_input({"name": "ada"})
    assert isinstance(parsed, Input)
    assert (parsed.name, parsed.times) == ("ada", 3)
    assert Untyped.parse_input(None).model_dump() == {}
    assert Untyped.parse_input({"free": 1}).model_dump() == {"free": 1}


def test_parse_input_refuses_bad_input_with_field_errors() -> None:
    with pytest.raises(InvalidInput) as caught:
        Typed.parse_input({"times": 0})
    locs = {tuple(e["loc"]) for e in caught.value.errors}
    assert locs == {("name",), ("times",)}
    assert caught.value.code == "BAD_USER_INPUT"
    assert caught.value.details["errors"] == caught.value.errors


def test_parse_input_accepts_an_instance_or_another_model() -> None:
    given = Input(name="x")
    assert Typed.parse_input(given) is given

    class Other(BaseModel):
        name: str

    assert Typed.parse_input(Other(name="y")).model_dump() == {"name": "y", "times": 3}


def test_input_schema_is_the_models_json_schema() -> None:
    schema = Typed.input_schema()
    assert schema["required"] == ["name"]
    assert set(schema["properties"]) == {"name", "times"}


def test_the_function_form_builds_and_registers_a_definition() -> None:
    @task(id="unit-fn-async", input=Input, retry=Retry(attempts=1), max_iterations=7)
    async def fn_async(controller: TaskController[Input]) -> Any:
        """Docstring description."""
        return controller.input.name

    @task(id="unit-fn-sync", title="Sync one")
    def fn_sync(controller: TaskController[Any]) -> Any:
        return 1

    try:
        assert fn_async.id == "unit-fn-async"
        assert fn_async.title == "unit-fn-async"
        assert fn_async.description == "Docstring description."
        assert fn_async.input_model is Input
        assert fn_async.max_iterations == 7
        assert fn_async.retry == Retry(attempts=1)
        assert fn_async.is_async()
        assert fn_sync.title == "Sync one"
        assert not fn_sync.is_async()
        assert global_registry.get("unit-fn-async") is fn_async
    finally:
        global_registry._by_id.pop("unit-fn-async", None)
        global_registry._by_id.pop("unit-fn-sync", None)


def test_registry_resolves_by_id_or_class() -> None:
    registry = Registry([Typed, Untyped])
    assert registry.resolve("typed") is Typed
    assert registry.resolve(Typed) is Typed
    assert "untyped" in registry
    assert [d.id for d in registry] == ["typed", "untyped"]
    assert len(registry) == 2
    with pytest.raises(NotFound):
        registry.get("missing")
    with pytest.raises(NotFound):
        registry.resolve(42)


def test_registry_refuses_two_classes_with_one_id() -> None:
    class Again(TaskDefinition[Any]):
        id = "typed"

    registry = Registry([Typed])
    registry.add(Typed)  # the same class again is fine
    with pytest.raises(ValueError, match="two classes"):
        registry.add(Again)


def test_registry_refuses_a_definition_without_an_id() -> None:
    class NoId(TaskDefinition[Any]):
        pass

    with pytest.raises(TypeError):
        Registry([NoId])
