"""The leaf shortcut (schema/execution.py) answers exactly what graphql-core's
own path answers: the same data, and the same errors at the same paths for
values a field may not return."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema import schema as taskloom_schema
from schema.execution import LeafShortcutContext, plain_leaves


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    name: str
    size: int | None
    colour: Colour
    at: datetime
    tags: list[str]

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    items: list[Item]


QUERY = "{ items { name size colour at tags shout } }"
GOOD = Item(name="a", size=3, colour=Colour.BLUE, at=datetime(2026, 1, 2, tzinfo=UTC), tags=["x"])


def _item(**changes: Any) -> Item:
    item = Item(name=GOOD.name, size=GOOD.size, colour=GOOD.colour, at=GOOD.at, tags=GOOD.tags)
    for name, value in changes.items():
        object.__setattr__(item, name, value)
    return item


def _run(context_class: type, items: list[Item], extensions: list[Any] | None = None) -> Any:
    schema = strawberry.Schema(
        query=Query, execution_context_class=context_class, extensions=extensions or []
    )
    result = schema.execute_sync(QUERY, root_value=Query(items=items))
    errors = [(e.message, e.path) for e in result.errors or []]
    return result.data, errors


CASES = {
    "valid": [GOOD, _item(size=None)],
    "null in a non-null field": [GOOD, _item(name=None)],
    "a value the scalar refuses": [_item(size="many")],
    "a value the enum does not know": [_item(colour="green")],
    "an exception as the value": [_item(size=ValueError("no size"))],
    "a bare enum value": [_item(colour="red")],
}


@pytest.mark.parametrize("items", CASES.values(), ids=CASES.keys())
def test_the_shortcut_answers_as_graphql_core_does(items: list[Item]) -> None:
    assert _run(LeafShortcutContext, items) == _run(StrawberryGraphQLCoreExecutionContext, items)


def test_an_extension_that_resolves_every_field_turns_the_shortcut_off() -> None:
    seen: list[str] = []

    class Spy(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    data, errors = _run(LeafShortcutContext, [GOOD], extensions=[Spy])
    assert errors == []
    assert data["items"][0]["name"] == "a"
    assert {"name", "size", "colour", "at", "shout"} <= set(seen)


def test_only_attribute_fields_of_scalar_or_enum_type_take_the_shortcut() -> None:
    leaves = plain_leaves(strawberry.Schema(query=Query)._schema)
    assert set(leaves) == {("Item", "name"), ("Item", "size"), ("Item", "colour"), ("Item", "at")}
    assert leaves[("Item", "name")].non_null
    assert not leaves[("Item", "size")].non_null


def test_taskloom_schema_uses_it_for_run_fields_but_not_resolvers() -> None:
    leaves = plain_leaves(taskloom_schema._schema)
    assert {("TaskRun", "id"), ("TaskRun", "status"), ("TaskRun", "createdAt")} <= set(leaves)
    assert ("TaskRun", "logs") not in leaves
    assert ("TaskRun", "definition") not in leaves
    assert taskloom_schema.execution_context_class is LeafShortcutContext
