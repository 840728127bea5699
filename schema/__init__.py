"""The GraphQL API: strawberry types, queries, mutations, subscriptions.

`schema` is the executable schema; `sdl()` its SDL (what `taskloom schema`
prints and `schema.graphql` holds)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.context import Context
from schema.errors import classify_all
from schema.mutations import Mutation
from schema.queries import Query
from schema.subscriptions import Subscription
from schema.tokens import TokenQueries


class TaskloomSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        classify_all(errors)


def build_schema(**options: Any) -> TaskloomSchema:
    query = merge_types("Query", (Query, TokenQueries))
    return TaskloomSchema(query=query, mutation=Mutation, subscription=Subscription, **options)


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"


__all__ = ["Context", "TaskloomSchema", "build_schema", "schema", "sdl"]
