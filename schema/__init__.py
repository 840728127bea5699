"""The GraphQL API: strawberry types, queries, mutations, subscriptions.

`schema` is the executable schema; `sdl()` its SDL (what `taskloom schema`
prints and `schema.graphql` holds)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLEnumType, GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from taskloom.schema.context import Context
from taskloom.schema.errors import classify_all
from taskloom.schema.execution import LeafShortcutContext
from taskloom.schema.mutations import Mutation
from taskloom.schema.queries import Query
from taskloom.schema.subscriptions import Subscription
from taskloom.schema.tokens import TokenQueries


class TaskloomSchema(strawberry.Schema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for graphql_type in self._schema.type_map.values():
            if isinstance(graphql_type, GraphQLEnumType) and hasattr(graphql_type, "wrapped_cls"):
                names_members_directly(graphql_type)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        classify_all(errors)


def names_members_directly(enum_type: GraphQLEnumType) -> None:
    """Serialises a strawberry enum's members by dict lookup. Strawberry's
    own output coercion compares the member with each value in turn through
    `Enum.value` (a property): 2% of a `taskRuns(first: 50)` request's
    instructions, one status per run."""
    wrapped = enum_type.wrapped_cls  # type: ignore[attr-defined]
    names = {
        member: name
        for name, value in enum_type.values.items()
        for member in wrapped
        if member.value == value.value
    }
    slow = enum_type.coerce_output_value

    def coerce_output_value(output_value: Any) -> Any:
        if isinstance(output_value, wrapped):
            return names[output_value]
        return slow(output_value)

    enum_type.coerce_output_value = coerce_output_value  # type: ignore[method-assign]


def build_schema(**options: Any) -> TaskloomSchema:
    query = merge_types("Query", (Query, TokenQueries))
    options.setdefault("execution_context_class", LeafShortcutContext)
    return TaskloomSchema(query=query, mutation=Mutation, subscription=Subscription, **options)


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"


__all__ = ["Context", "TaskloomSchema", "build_schema", "schema", "sdl"]
