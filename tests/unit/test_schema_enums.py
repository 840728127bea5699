"""Enum output in the executable schema: every member of every enum is
serialised to its GraphQL name (the schema names members by dict lookup
instead of strawberry's scan, see schema/__init__.py)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLEnumType

from taskloom.schema import schema


def _enums() -> list[Any]:
    types = schema._schema.type_map.values()
    return [t for t in types if isinstance(t, GraphQLEnumType) and hasattr(t, "wrapped_cls")]


def test_every_member_of_every_enum_is_output_as_its_name() -> None:
    enums = _enums()
    assert {t.name for t in enums} >= {"TaskStatus", "RunRequest", "LogLevel", "TaskRunOrder"}
    for enum_type in enums:
        for name, value in enum_type.values.items():
            member = enum_type.wrapped_cls(value.value)
            assert enum_type.coerce_output_value(member) == name
            # A bare value takes graphql-core's own lookup, as before.
            assert enum_type.coerce_output_value(value.value) == name
