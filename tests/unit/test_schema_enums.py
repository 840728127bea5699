"""Enum output through the shortcut: every member of every enum of the
executable schema is serialised to its GraphQL name by dict lookup, as
strawberry's own coercion (a scan of the values) names it
(schema/plain_fields.py)."""

from __future__ import annotations

from graphql import GraphQLEnumType

from taskloom.schema import build_schema
from taskloom.schema.plain_fields import serializer
from tests.support.graphql_schema import graphql_schema_of


def test_every_member_of_every_enum_is_output_as_strawberry_names_it() -> None:
    types = graphql_schema_of(build_schema).type_map.values()
    enums = [t for t in types if isinstance(t, GraphQLEnumType) and hasattr(t, "wrapped_cls")]
    assert {t.name for t in enums} >= {"TaskStatus", "RunRequest", "LogLevel", "TaskRunOrder"}
    for enum_type in enums:
        serialize = serializer(enum_type)
        assert serialize is not enum_type.coerce_output_value
        for name, value in enum_type.values.items():
            member = enum_type.wrapped_cls(value.value)
            assert serialize(member) == enum_type.coerce_output_value(member) == name
            # A bare value takes graphql-core's own lookup, as before.
            assert serialize(value.value) == enum_type.coerce_output_value(value.value) == name
