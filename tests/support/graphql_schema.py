"""The graphql-core schema behind a strawberry schema, read without
strawberry's private `_schema`: an execution context built for it is handed
the schema it runs on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLSchema

from taskloom.schema.execution import ShortcutExecutionContext


def graphql_schema_of(build: Callable[..., strawberry.Schema]) -> GraphQLSchema:
    """The graphql-core schema of `build(execution_context_class=...)`."""
    seen: list[GraphQLSchema] = []

    class Capture(ShortcutExecutionContext):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.schema)

    result = build(execution_context_class=Capture).execute_sync("{ __typename }")
    assert not result.errors, result.errors
    return seen[0]
