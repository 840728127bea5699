"""Errors that say what is wrong: InvalidInput names its fields, an unknown
definition id the closest or the known ids, and unknown input fields are
refused unless the definition accepts them."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.errors import InvalidInput, NotFound
from taskloom.definitions.examples import Countdown
from taskloom.definitions.registry import Registry


def refusal(definition: type[TaskDefinition[Any]], raw: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        definition.parse_input(raw)
    return refused.value


def test_invalid_input_names_each_field_and_its_error() -> None:
    refused = refusal(Countdown, {"start": 0, "delay_seconds": "soon"})
    text = str(refused)
    assert text.startswith("invalid input for 'countdown': ")
    assert "start: Input should be greater than or equal to 1" in text
    assert "delay_seconds: Input should be a valid number" in text
    assert refused.message == "invalid input for 'countdown'"  # GraphQL's message stays short


def test_an_unknown_field_is_a_field_error_beside_the_others() -> None:
    refused = refusal(Countdown, {"start": 3, "bogus": 1})
    assert refused.errors == [
        {
            "loc": ["bogus"],
            "message": "unknown field; the input accepts: delay_seconds, start",
            "type": "extra_forbidden",
        }
    ]
    both = refusal(Countdown, {"start": 0, "strat": 2})
    assert [e["loc"] for e in both.errors] == [["strat"], ["start"]]


class Aliased(BaseModel):
    start: int = Field(1, validation_alias=AliasChoices("start", "from"))
    step: int = Field(1, alias="stepSize")


class Tolerant(TaskDefinition[Aliased]):
    id = "tolerant"
    input_model = Aliased
    accepts_extra_input: ClassVar[bool] = True

    async def run(self, controller: TaskController[Aliased]) -> Any:
        return None


class Strict(Tolerant):
    id = "strict"
    accepts_extra_input: ClassVar[bool] = False


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int = 0


class OpenModel(TaskDefinition[Open]):
    id = "open-model"
    input_model = Open

    async def run(self, controller: TaskController[Open]) -> Any:
        return None


def test_aliases_are_known_fields_and_definitions_may_accept_extras() -> None:
    assert Strict.parse_input({"from": 2, "stepSize": 3}).model_dump() == {"start": 2, "step": 3}
    assert [e["loc"] for e in refusal(Strict, {"from": 2, "extra": 1}).errors] == [["extra"]]
    assert Tolerant.parse_input({"from": 2, "extra": 1}).model_dump() == {"start": 2, "step": 1}
    assert OpenModel.parse_input({"a": 1, "b": 2}).model_dump() == {"a": 1, "b": 2}


def test_an_unknown_definition_names_the_closest_or_the_known_ids() -> None:
    registry = Registry([Countdown, Strict, Tolerant])
    with pytest.raises(NotFound, match=r"id 'countdwn'; did you mean 'countdown'\?"):
        registry.get("countdwn")
    with pytest.raises(NotFound, match=r"id 'zzz'; known ids: countdown, strict, tolerant$"):
        registry.get("zzz")
    many = Registry([type(f"D{i}", (Strict,), {"id": f"def-{i:02}"}) for i in range(12)])
    with pytest.raises(NotFound, match=r"known ids: def-00, .*, def-09 and 2 more$"):
        many.get("zzz")
