"""Execution with a short path for plain leaf and object fields.

graphql-core completes every field the same general way: it builds a
`GraphQLResolveInfo`, calls the resolver through strawberry's wrapper, asks
whether the result is awaitable, then walks `complete_value` through the
non-null and leaf checks. A page of 50 runs has about 150 leaf fields that
are plain attributes (`id`, `status`, `createdAt`...), and that walk cost
about half of a `taskRuns(first: 50)` request's execution.

`ShortcutExecutionContext` reads such a field (`schema/plain_fields.py`)
and coerces it directly, with the same resolver and the same output
coercion. Anything not plainly valid (a null in a non-null field, a value
the scalar refuses, an exception) goes back to graphql-core's own path,
which builds the error exactly as before. A plain object field (an edge's
`node`) is read the same way and its sub-selection executed at once,
skipping the resolve info and the walk through `complete_value` to
`complete_object_value`, which would end in the same call; a null, an
exception or a type with `is_type_of` takes the general path.

This is the one module that leans on graphql-core's internals: it overrides
`execute_fields` and `execute_field` and calls `collect_and_execute_subfields`
and `handle_field_error`, methods of graphql-core's `Executor` (which
strawberry's execution context extends) outside its documented API.
pyproject.toml pins graphql-core's minor version, and
tests/unit/test_schema_execution.py fails when these methods change (and
holds every answer to graphql-core's own). The public way, strawberry's own
execution context, takes 2.5 ms instead of 1.45 ms to execute a
`taskRuns(first: 50)` request (in process, 2026-12-06).
"""

from __future__ import annotations

from types import CoroutineType, GeneratorType
from typing import Any

from graphql import GraphQLObjectType, Undefined
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from taskloom.schema.plain_fields import PlainLeaf, PlainObject, plain_fields


class ShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        # A middleware (a custom directive) must see every field: no shortcut.
        self._plain = (
            plain_fields(self.schema) if middleware is None or not middleware.middlewares else {}
        )
        # By type and the id of a grouped field set (graphql-core collects a
        # list's sub-selection once for all its items), kept alive with it.
        self._leaf_plans: dict[tuple[str, int], tuple[Any, list[tuple[str, PlainLeaf]] | None]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plan = self._leaf_plan(parent_type, grouped_field_set)
        if plan is not None:
            results = {}
            for response_name, leaf in plan:
                completed = _complete_leaf(leaf, source_value)
                if completed is _GENERAL:
                    break
                results[response_name] = completed
            else:
                return results
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _leaf_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: Any
    ) -> list[tuple[str, PlainLeaf]] | None:
        """The fields of a selection made only of plain leaves (a run's
        `id status createdAt`), completed without a path or a resolve info
        each; None when any field needs graphql-core's own execution."""
        key = (parent_type.name, id(grouped_field_set))
        known = self._leaf_plans.get(key)
        if known is not None:
            return known[1]
        plan: list[tuple[str, PlainLeaf]] | None = []
        for response_name, field_details_list in grouped_field_set.items():
            plain = self._plain.get((parent_type.name, field_details_list[0].node.name.value))
            if not isinstance(plain, PlainLeaf) or plan is None:
                plan = None
                break
            plan.append((response_name, plain))
        self._leaf_plans[key] = (grouped_field_set, plan)
        return plan

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        plain = self._plain.get((parent_type.name, field_details_list[0].node.name.value))
        if isinstance(plain, PlainLeaf):
            completed = _complete_leaf(plain, source)
            if completed is not _GENERAL:
                return completed
        elif plain is not None:
            value = _read_object(plain, source)
            if value is not _GENERAL and not _maybe_awaitable(value):
                return self._subfields(plain, field_details_list, path, value, position_context)
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _subfields(
        self,
        plain: PlainObject,
        field_details_list: Any,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """What `complete_object_value` would do for `value`, with the
        errors `execute_field` would report."""
        try:
            completed = self.collect_and_execute_subfields(
                plain.object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plain.return_type, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, plain.return_type, field_details_list, path)
                return None

        return await_completed()


# What the readers below answer when graphql-core's general path must
# complete the field (and report what is wrong with it).
_GENERAL = object()


def _read_object(plain: PlainObject, source: Any) -> Any:
    """The field's object, or `_GENERAL` for anything else."""
    try:
        value = plain.resolve(source, plain.python_name)
    except Exception:
        return _GENERAL
    if value is None or value is Undefined or isinstance(value, Exception):
        return _GENERAL
    return value


def _maybe_awaitable(value: Any) -> bool:
    """graphql-core's awaitable check, asked of the type, so that an
    object's `__getattr__` (a `TaskRun`'s) is not called for `__await__`;
    any generator counts (graphql-core's path then looks closer)."""
    return isinstance(value, CoroutineType | GeneratorType) or hasattr(type(value), "__await__")


def _complete_leaf(leaf: PlainLeaf, source: Any) -> Any:
    """The field's completed value, or `_GENERAL`."""
    try:
        value = leaf.resolve(source, leaf.python_name)
        if value is None or value is Undefined:
            return _GENERAL if leaf.non_null else None
        if isinstance(value, Exception):
            return _GENERAL
        coerced = leaf.serialize(value)
    except Exception:
        return _GENERAL
    return _GENERAL if coerced is None or coerced is Undefined else coerced
