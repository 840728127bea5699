"""Who may call the API, and how much one operation may ask for.

* `OperationGuard`: with authentication on, every operation needs the
  actor that `server/auth` put on the context (`UNAUTHENTICATED` otherwise);
  only pure introspection (`__schema`, `__type`, `__typename`) is answered
  without one, so GraphiQL can show the docs before a token is pasted.
  What an authenticated actor may do is decided by the service it acts
  through (`info.context.service` is bound to the actor): `NOT_FOUND` for a
  user's view of other people's runs, `FORBIDDEN` for what its role may not do.
* `security_extensions(limits)`: the same extension also applies the rules
  of strawberry's own `QueryDepthLimiter`, `MaxAliasesLimiter` (which counts
  aliases reached through fragment spreads) and optionally
  `DisableIntrospection`, the parser's token limit (what strawberry's
  `MaxTokensLimiter` sets), and a cap on the document's size.
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
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from taskloom.schema.memo import DEFAULT_BUDGET, DocumentMemo

UNAUTHENTICATED = "UNAUTHENTICATED"


@dataclass(frozen=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 50
    max_tokens: int = 5_000
    max_document_bytes: int = 100_000
    introspection: bool = True
    memo_bytes: int = DEFAULT_BUDGET


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


AUTHENTICATION_REQUIRED = (
    "Authentication required: send `Authorization: Bearer <token>` "
    "(WebSocket: in the connection_init payload)"
)
TOKEN_REJECTED = (
    "API token not recognised or revoked: check it, or have an admin create one "
    "(`taskloom token create`)"
)


def unauthenticated(token_rejected: bool = False) -> GraphQLError:
    """UNAUTHENTICATED, telling a token that was sent but is unknown or
    revoked apart from no token at all."""
    message = TOKEN_REJECTED if token_rejected else AUTHENTICATION_REQUIRED
    return GraphQLError(message, extensions={"code": UNAUTHENTICATED})


def _anonymous(context: Any) -> bool:
    """Whether authentication is required and the caller brought none."""
    required = bool(getattr(context, "auth_required", False))
    return required and getattr(context, "actor", None) is None


class OperationGuard(SchemaExtension):
    """Every per-operation check in one extension (strawberry runs each
    extension's hooks around every phase of every operation, so one
    extension costs less than six):

    * refuses a document larger than `max_document_bytes` before parsing it;
    * parses with graphql-core's token limit (as strawberry's
      `MaxTokensLimiter` sets it) and validates with
      the rules of its `QueryDepthLimiter`, `MaxAliasesLimiter` and (when
      introspection is off) `DisableIntrospection`, built once;
    * parses and validates each distinct valid document of a caller with a
      token once (`DocumentMemo`);
    * refuses to execute an operation without an actor when the context says
      authentication is required (`context.auth_required`).
    """

    def __init__(self, shared: GuardSettings) -> None:
        self.shared = shared
        self.known_valid = False  # the memo had the document

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        shared = self.shared
        query = context.query
        if query is not None and len(query.encode("utf-8", "replace")) > shared.max_bytes:
            raise GraphQLError(
                f"Document is larger than {shared.max_bytes} bytes",
                extensions={"code": "BAD_USER_INPUT"},
            )
        context.parse_options["max_tokens"] = shared.max_tokens
        context.validation_rules = context.validation_rules + shared.rules
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if query is not None and context.graphql_document is None:
            known = self.shared.memo.document(query)
            if known is not None:
                context.graphql_document = known  # strawberry then skips parsing
                self.known_valid = True
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.known_valid and context.pre_execution_errors is None:
            context.pre_execution_errors = []  # strawberry then skips validating
            yield
            return
        yield
        query, document = context.query, context.graphql_document
        if (
            query is not None
            and document is not None
            and context.pre_execution_errors == []
            and not _anonymous(context.context)
        ):
            self.shared.memo.remember(query, document)

    def on_execute(self) -> Iterator[None]:
        if _anonymous(self.execution_context.context):
            ctx = self.execution_context
            if not is_introspection_only(ctx.graphql_document, ctx.operation_name):
                raise unauthenticated(bool(getattr(ctx.context, "token_rejected", False)))
        yield


@dataclass(frozen=True)
class GuardSettings:
    """What every `OperationGuard` of one schema shares."""

    max_bytes: int
    max_tokens: int
    rules: tuple[type[ASTValidationRule], ...]
    memo: DocumentMemo


ExtensionFactory = Callable[[], SchemaExtension]


def security_extensions(limits: Limits) -> list[ExtensionFactory]:
    """The factory of the extension that enforces authentication and
    `limits` (strawberry builds fresh extensions for every operation). The
    validation rules are strawberry's own limiters', fixed from here on."""
    limiters: list[AddValidationRules] = [
        QueryDepthLimiter(max_depth=limits.max_depth),
        MaxAliasesLimiter(max_alias_count=limits.max_aliases),
    ]
    if not limits.introspection:
        limiters.append(DisableIntrospection())
    shared = GuardSettings(
        max_bytes=limits.max_document_bytes,
        max_tokens=limits.max_tokens,
        rules=tuple(rule for limiter in limiters for rule in limiter.validation_rules),
        memo=DocumentMemo(limits.memo_bytes),
    )
    return [partial(OperationGuard, shared)]
