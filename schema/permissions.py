"""Who may call the API, and how much one operation may ask for.

* `RequireAuthentication`: with authentication on, every operation needs the
  actor that `server/auth` put on the context (`UNAUTHENTICATED` otherwise);
  only pure introspection (`__schema`, `__type`, `__typename`) is answered
  without one, so GraphiQL can show the docs before a token is pasted.
  What an authenticated actor may do is decided by the service it acts
  through (`info.context.service` is bound to the actor): `NOT_FOUND` for a
  user's view of other people's runs, `FORBIDDEN` for what its role may not do.
* `security_extensions(limits)`: strawberry's own `QueryDepthLimiter`,
  `MaxAliasesLimiter` (which counts aliases reached through fragment spreads)
  and `MaxTokensLimiter`, a cap on the document's size, and optionally
  `DisableIntrospection`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from schema.memo import validation_memo

UNAUTHENTICATED = "UNAUTHENTICATED"


@dataclass(frozen=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 50
    max_tokens: int = 5_000
    max_document_bytes: int = 100_000
    introspection: bool = True


def _top_level_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _top_level_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                yield name  # unknown or cyclic: not introspection
            else:
                yield from _top_level_fields(fragment.selection_set, fragments, seen | {name})


def is_introspection_only(document: DocumentNode | None, operation_name: str | None) -> bool:
    """Whether the chosen operation selects nothing but `__schema`, `__type`
    and `__typename` at its root."""
    if document is None:
        return False
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return False
    names = list(_top_level_fields(operations[0].selection_set, fragments))
    return bool(names) and all(name.startswith("__") for name in names)


def unauthenticated() -> GraphQLError:
    return GraphQLError(
        "Authentication required: send `Authorization: Bearer <token>` "
        "(WebSocket: in the connection_init payload)",
        extensions={"code": UNAUTHENTICATED},
    )


class RequireAuthentication(SchemaExtension):
    """Refuses to execute an operation without an actor when the context says
    authentication is required (`context.auth_required`)."""

    def on_execute(self) -> Iterator[None]:
        context: Any = self.execution_context.context
        required = bool(getattr(context, "auth_required", False))
        if required and getattr(context, "actor", None) is None:
            ctx = self.execution_context
            if not is_introspection_only(ctx.graphql_document, ctx.operation_name):
                raise unauthenticated()
        yield


class DocumentSizeLimiter(SchemaExtension):
    """Refuses a document larger than `max_bytes` before parsing it."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def on_operation(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and len(query.encode("utf-8", "replace")) > self.max_bytes:
            raise GraphQLError(
                f"Document is larger than {self.max_bytes} bytes",
                extensions={"code": "BAD_USER_INPUT"},
            )
        yield


ExtensionFactory = Callable[[], SchemaExtension]


def security_extensions(limits: Limits) -> list[ExtensionFactory]:
    """Factories of the schema extensions that enforce authentication and
    `limits` (strawberry builds fresh extensions for every operation)."""
    factories: list[ExtensionFactory] = [
        partial(DocumentSizeLimiter, limits.max_document_bytes),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(QueryDepthLimiter, max_depth=limits.max_depth),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
        RequireAuthentication,
    ]
    if not limits.introspection:
        factories.append(DisableIntrospection)
    # The rules above are fixed from here on: validate each document once.
    factories.append(validation_memo())
    return factories
