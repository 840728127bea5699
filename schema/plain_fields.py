"""Which fields of a schema are plain, and how to read one directly.

A plain field is a strawberry field without a resolver, arguments or field
extensions (an attribute of its object: a run's `id`, `status`, an edge's
`node`) whose type is a scalar or enum (a `PlainLeaf`) or an object type
without `is_type_of` (a `PlainObject`). `schema/execution.py` completes
such fields without graphql-core's general path. Everything here is read
through strawberry's and graphql-core's public names."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    get_nullable_type,
    is_leaf_type,
)
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class PlainLeaf(NamedTuple):
    resolve: Callable[[Any, str], Any]
    python_name: str
    serialize: Callable[[Any], Any]  # the type's output coercion, or the same by dict lookup
    non_null: bool


class PlainObject(NamedTuple):
    resolve: Callable[[Any, str], Any]
    python_name: str
    object_type: GraphQLObjectType
    return_type: GraphQLOutputType


Plain = PlainLeaf | PlainObject


def plain_field(field: GraphQLField) -> Plain | None:
    """How to read `field` directly, or None when it is not plain."""
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(definition, StrawberryField)
        or field.resolve is None
        or not is_default_resolver(field.resolve)
        or not definition.is_basic_field
        or field.args
    ):
        return None
    resolve, name = definition.default_resolver, definition.python_name
    nullable = get_nullable_type(field.type)
    if is_leaf_type(nullable):
        non_null = isinstance(field.type, GraphQLNonNull)
        return PlainLeaf(resolve, name, serializer(nullable), non_null)
    if isinstance(nullable, GraphQLObjectType) and nullable.is_type_of is None:
        return PlainObject(resolve, name, nullable, field.type)
    return None


def serializer(leaf_type: GraphQLLeafType) -> Callable[[Any], Any]:
    """`leaf_type.coerce_output_value`; for a strawberry enum, the same
    answer by dict lookup. Strawberry compares a member with each value in
    turn through `Enum.value` (a property): 2% of a `taskRuns(first: 50)`
    request's instructions, one status per run."""
    coerce = leaf_type.coerce_output_value
    if not isinstance(leaf_type, CustomGraphQLEnumType):
        return coerce
    enum_class = leaf_type.wrapped_cls
    members: list[Enum] = list(enum_class)
    names = {
        member: name
        for name, value in leaf_type.values.items()
        for member in members
        if member.value == value.value
    }

    def serialize(output_value: Any) -> Any:
        if isinstance(output_value, enum_class):
            return names[output_value]
        return coerce(output_value)

    return serialize


_tables: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], Plain]] = WeakKeyDictionary()


def plain_fields(schema: GraphQLSchema) -> dict[tuple[str, str], Plain]:
    """Every plain field of `schema`, by (type name, field name)."""
    table = _tables.get(schema)
    if table is None:
        table = {
            (type_name, field_name): plain
            for type_name, graphql_type in schema.type_map.items()
            if isinstance(graphql_type, GraphQLObjectType)
            for field_name, field in graphql_type.fields.items()
            if (plain := plain_field(field)) is not None
        }
        _tables[schema] = table
    return table
