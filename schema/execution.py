"""Execution with a short path for plain leaf fields.

graphql-core completes every field the same general way: it builds a
`GraphQLResolveInfo`, calls the resolver through strawberry's wrapper, asks
whether the result is awaitable, then walks `complete_value` through the
non-null and leaf checks. A page of 50 runs has about 150 leaf fields that
are plain attributes (`id`, `status`, `createdAt`...), and that walk cost
about half of a `taskRuns(first: 50)` request's execution.

`LeafShortcutContext` reads such a field and coerces it directly, with the
same resolver and the same output coercion. Anything not plainly valid (a
null in a non-null field, a value the scalar refuses, an exception) goes
back to graphql-core's own path, which builds the error exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class PlainLeaf(NamedTuple):
    resolve: Callable[[Any, str], Any]
    python_name: str
    leaf_type: GraphQLLeafType
    non_null: bool


def plain_leaf(field: GraphQLField) -> PlainLeaf | None:
    """How to read `field` directly: only for a strawberry field without a
    resolver, arguments or field extensions whose type is a scalar or enum."""
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(definition, StrawberryField)
        or not getattr(field.resolve, "_is_default", False)
        or not definition.is_basic_field
        or field.args
    ):
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    leaf_type = get_nullable_type(field.type)
    if not is_leaf_type(leaf_type):
        return None
    return PlainLeaf(definition.default_resolver, definition.python_name, leaf_type, non_null)


_tables: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], PlainLeaf]] = WeakKeyDictionary()


def plain_leaves(schema: GraphQLSchema) -> dict[tuple[str, str], PlainLeaf]:
    """Every plain leaf field of `schema`, by (type name, field name)."""
    table = _tables.get(schema)
    if table is None:
        table = {
            (type_name, field_name): leaf
            for type_name, graphql_type in schema.type_map.items()
            if isinstance(graphql_type, GraphQLObjectType)
            for field_name, field in graphql_type.fields.items()
            if (leaf := plain_leaf(field)) is not None
        }
        _tables[schema] = table
    return table


class LeafShortcutContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        # A middleware (a custom directive) must see every field: no shortcut.
        self._leaves = (
            plain_leaves(self.schema) if middleware is None or not middleware.middlewares else {}
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        leaf = self._leaves.get((parent_type.name, field_details_list[0].node.name.value))
        if leaf is not None:
            completed = _complete(leaf, source)
            if completed is not _GENERAL:
                return completed
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


_GENERAL = object()


def _complete(leaf: PlainLeaf, source: Any) -> Any:
    """The field's completed value, or `_GENERAL` when graphql-core's own
    path must complete it (and report what is wrong with it)."""
    try:
        value = leaf.resolve(source, leaf.python_name)
        if value is None or value is Undefined:
            return _GENERAL if leaf.non_null else None
        if isinstance(value, Exception):
            return _GENERAL
        coerced = leaf.leaf_type.coerce_output_value(value)
    except Exception:
        return _GENERAL
    return _GENERAL if coerced is None or coerced is Undefined else coerced
