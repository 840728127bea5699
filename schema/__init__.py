"""The GraphQL API: strawberry types, queries, mutations, subscriptions.

`schema` is the executable schema; `sdl()` its SDL (what `taskloom schema`
prints and `schema.graphql` holds)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from taskloom.schema.context import Context
from taskloom.schema.errors import classify_all, hide_suggestions
from taskloom.schema.execution import ShortcutExecutionContext
from taskloom.schema.mutations import Mutation
from taskloom.schema.queries import Query
from taskloom.schema.query_cost import cost_limited
from taskloom.schema.subscriptions import Subscription
from taskloom.schema.tokens import TokenQueries
from taskloom.schema.webhooks import WebhookQueries


class TaskloomSchema(strawberry.Schema):
    def __init__(self, *, hide_suggestions: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self.hide_suggestions = hide_suggestions

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        classify_all(errors)
        if self.hide_suggestions:
            hide_suggestions(errors)


def build_schema(
    *, hide_suggestions: bool = False, max_cost: int | None = None, **options: Any
) -> TaskloomSchema:
    """`hide_suggestions`: no error names a field, argument, type or enum
    value the caller did not write ("Did you mean ..."); the server sets it
    when introspection is off, so the schema cannot be guessed through them.
    `max_cost`: operations costing more are refused before they execute
    (`schema/query_cost.py`)."""
    query = merge_types("Query", (Query, TokenQueries, WebhookQueries))
    options.setdefault("execution_context_class", ShortcutExecutionContext)
    if max_cost is not None:
        options["execution_context_class"] = cost_limited(
            options["execution_context_class"], max_cost
        )
    return TaskloomSchema(
        query=query,
        mutation=Mutation,
        subscription=Subscription,
        hide_suggestions=hide_suggestions,
        **options,
    )


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"


__all__ = ["Context", "TaskloomSchema", "build_schema", "schema", "sdl"]
