"""What the trigger path may skip: `empty_input` is `{}` exactly when
validating no input surely gives `{}`; `new_id` is a UUIDv7 in its text form."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field, field_validator, model_validator

from taskloom.definitions.controller import new_id
from taskloom.definitions.definition import TaskDefinition


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WithField(BaseModel):
    size: int = 1


class WithValidator(BaseModel):
    @model_validator(mode="after")
    def check(self) -> WithValidator:
        return self


class WithComputed(BaseModel):
    @computed_field  # type: ignore[prop-decorator]
    @property
    def now(self) -> int:
        return 1


class WithFieldValidator(BaseModel):
    model_config = ConfigDict(extra="allow")

    @field_validator("*")
    @classmethod
    def check(cls, value: Any) -> Any:
        return value


class OwnDump(BaseModel):
    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        return {"own": True}


def definition(model: type[BaseModel]) -> type[TaskDefinition[Any]]:
    class Made(TaskDefinition[Any]):
        id = f"made-{model.__name__}"
        input_model = model

    return Made


def test_empty_input_only_when_validation_surely_gives_nothing() -> None:
    class Untyped(TaskDefinition[Any]):
        id = "untyped"

    for plain in (Untyped, definition(Strict)):
        empty = plain.empty_input()
        assert empty == {} == plain.parse_input(None).model_dump(mode="json")
        assert plain.empty_input() is not empty  # a fresh dict each time
    for model in (WithField, WithValidator, WithComputed, WithFieldValidator, OwnDump):
        assert definition(model).empty_input() is None, model


def test_new_id_is_a_time_ordered_uuid7() -> None:
    ids = [new_id() for _ in range(1000)]
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)  # millisecond prefix
