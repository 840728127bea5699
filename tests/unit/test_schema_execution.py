"""The shortcut for plain leaf and object fields (schema/execution.py)
answers exactly what graphql-core's own path answers: the same data, and
the same errors at the same paths for values a field may not return; and
the graphql-core internals it overrides are still what it was written for."""

from __future__ import annotations

import enum
import inspect
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import graphql
import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from taskloom.schema import build_schema
from taskloom.schema import schema as taskloom_schema
from taskloom.schema.execution import ShortcutExecutionContext
from taskloom.schema.plain_fields import PlainLeaf, PlainObject, plain_fields
from tests.support.graphql_schema import graphql_schema_of


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Owner:
    name: str

    @strawberry.field
    def loud(self) -> str:
        if self.name == "boom":
            raise ValueError("no voice")
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str:
        if self.name == "late boom":
            raise ValueError("too late")
        return self.name


@strawberry.type
class Item:
    name: str
    size: int | None
    colour: Colour
    at: datetime
    tags: list[str]
    owner: Owner | None
    maker: Owner

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    items: list[Item]


QUERY = "{ items { name size colour at tags shout owner { name loud } maker { name } } }"
ASYNC_QUERY = "{ items { owner { name later } maker { later } } }"
GOOD = Item(
    name="a",
    size=3,
    colour=Colour.BLUE,
    at=datetime(2026, 1, 2, tzinfo=UTC),
    tags=["x"],
    owner=Owner(name="o"),
    maker=Owner(name="m"),
)


def _item(**changes: Any) -> Item:
    item = Item(**{name: getattr(GOOD, name) for name in GOOD.__annotations__})
    for name, value in changes.items():
        object.__setattr__(item, name, value)
    return item


def _schema(context_class: type, extensions: list[Any] | None = None) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query, execution_context_class=context_class, extensions=extensions or []
    )


def _answer(result: Any) -> Any:
    return result.data, [(e.message, e.path) for e in result.errors or []]


def _run(
    context_class: type,
    items: list[Item],
    extensions: list[Any] | None = None,
    query: str = QUERY,
) -> Any:
    result = _schema(context_class, extensions).execute_sync(query, root_value=Query(items=items))
    return _answer(result)


CASES = {
    "valid": [GOOD, _item(size=None)],
    "null in a non-null field": [GOOD, _item(name=None)],
    "a value the scalar refuses": [_item(size="many")],
    "a value the enum does not know": [_item(colour="green")],
    "an exception as the value": [_item(size=ValueError("no size"))],
    "a bare enum value": [_item(colour="red")],
    "no object in a nullable object field": [_item(owner=None)],
    "no object in a non-null object field": [GOOD, _item(maker=None)],
    "an exception as the object": [_item(owner=ValueError("no owner"))],
    "a null inside a nullable object": [_item(owner=Owner(name=None))],  # type: ignore[arg-type]
    "a null inside a non-null object": [GOOD, _item(maker=Owner(name=None))],  # type: ignore[arg-type]
    "a resolver inside an object raises": [_item(owner=Owner(name="boom"))],
}


@pytest.mark.parametrize("items", CASES.values(), ids=CASES.keys())
def test_the_shortcut_answers_as_graphql_core_does(items: list[Item]) -> None:
    assert _run(ShortcutExecutionContext, items) == _run(
        StrawberryGraphQLCoreExecutionContext, items
    )


ASYNC_CASES = {
    "valid": [GOOD],
    "an awaited field raises in a nullable object": [_item(owner=Owner(name="late boom"))],
    "an awaited field raises in a non-null object": [GOOD, _item(maker=Owner(name="late boom"))],
}


@pytest.mark.parametrize("items", ASYNC_CASES.values(), ids=ASYNC_CASES.keys())
async def test_objects_with_awaited_fields_answer_as_graphql_core_does(items: list[Item]) -> None:
    root = Query(items=items)
    ours = await _schema(ShortcutExecutionContext).execute(ASYNC_QUERY, root_value=root)
    general = await _schema(StrawberryGraphQLCoreExecutionContext).execute(
        ASYNC_QUERY, root_value=root
    )
    assert _answer(ours) == _answer(general)


def test_an_extension_that_resolves_every_field_turns_the_shortcut_off() -> None:
    seen: list[str] = []

    class Spy(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    data, errors = _run(ShortcutExecutionContext, [GOOD], extensions=[Spy])
    assert errors == []
    assert data["items"][0]["name"] == "a"
    assert {"name", "size", "colour", "at", "shout", "owner", "loud", "maker"} <= set(seen)


def test_only_attribute_fields_of_scalar_enum_or_object_type_take_the_shortcut() -> None:
    plain = plain_fields(
        graphql_schema_of(lambda **options: strawberry.Schema(query=Query, **options))
    )
    leaves = {key for key, field in plain.items() if isinstance(field, PlainLeaf)}
    objects = {key for key, field in plain.items() if isinstance(field, PlainObject)}
    assert leaves == {("Item", "name"), ("Item", "size"), ("Item", "colour"), ("Item", "at")} | {
        ("Owner", "name")
    }
    assert objects == {("Item", "owner"), ("Item", "maker")}
    name, size = plain[("Item", "name")], plain[("Item", "size")]
    assert isinstance(name, PlainLeaf) and name.non_null
    assert isinstance(size, PlainLeaf) and not size.non_null


def test_taskloom_schema_uses_it_for_run_fields_and_edges_but_not_resolvers() -> None:
    plain = plain_fields(graphql_schema_of(build_schema))
    assert {("TaskRun", "id"), ("TaskRun", "status"), ("TaskRun", "createdAt")} <= set(plain)
    assert any(
        isinstance(field, PlainObject) and name == "node" for (_type, name), field in plain.items()
    )
    assert ("TaskRun", "logs") not in plain
    assert ("TaskRun", "definition") not in plain
    assert taskloom_schema.execution_context_class is ShortcutExecutionContext


def test_plain_object_fields_are_completed_without_the_general_path() -> None:
    taken: list[str] = []

    class Recording(ShortcutExecutionContext):
        def _subfields(self, plain: PlainObject, *args: Any) -> Any:
            taken.append(plain.python_name)
            return super()._subfields(plain, *args)

    assert _run(Recording, [GOOD]) == _run(StrawberryGraphQLCoreExecutionContext, [GOOD])
    assert taken == ["owner", "maker"]


LEAVES_QUERY = "{ items { name size colour at renamed: name } }"


@pytest.mark.parametrize("items", CASES.values(), ids=CASES.keys())
def test_selections_of_plain_leaves_answer_as_graphql_core_does(items: list[Item]) -> None:
    ours = _run(ShortcutExecutionContext, items, query=LEAVES_QUERY)
    assert ours == _run(StrawberryGraphQLCoreExecutionContext, items, query=LEAVES_QUERY)


def test_a_selection_of_plain_leaves_is_completed_without_executing_each_field() -> None:
    executed: list[str] = []

    class Recording(ShortcutExecutionContext):
        def execute_field(self, parent_type: Any, source: Any, details: Any, *args: Any) -> Any:
            executed.append(details[0].node.name.value)
            return super().execute_field(parent_type, source, details, *args)

    data, errors = _run(Recording, [GOOD, GOOD], query=LEAVES_QUERY)
    assert errors == []
    assert data["items"][1] == {
        "name": "a",
        "size": 3,
        "colour": "BLUE",
        "at": "2026-01-02T00:00:00+00:00",
        "renamed": "a",
    }
    assert executed == ["items"]
    executed.clear()
    _run(Recording, [GOOD], query="{ items { name shout } }")
    assert executed == ["items", "name", "shout"]


# The methods of graphql-core's executor (strawberry's execution context
# extends it) that the shortcut overrides or calls, as it was written for them.
INTERNALS = {
    "execute_fields": [
        "self",
        "parent_type",
        "source_value",
        "path",
        "grouped_field_set",
        "position_context",
    ],
    "execute_field": [
        "self",
        "parent_type",
        "source",
        "field_details_list",
        "path",
        "position_context",
    ],
    "collect_and_execute_subfields": [
        "self",
        "return_type",
        "field_details_list",
        "path",
        "result",
        "position_context",
    ],
    "handle_field_error": ["self", "raw_error", "return_type", "field_details_list", "path"],
}


@pytest.mark.parametrize("name", INTERNALS)
def test_the_graphql_core_methods_the_shortcut_relies_on_are_unchanged(name: str) -> None:
    method = getattr(StrawberryGraphQLCoreExecutionContext, name)
    assert list(inspect.signature(method).parameters) == INTERNALS[name], (
        f"graphql-core's Executor.{name} changed: check schema/execution.py against it"
    )


def test_graphql_core_is_the_minor_version_pyproject_pins() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("graphql-core")]
    assert pins, "pyproject.toml must pin graphql-core (schema/execution.py uses its internals)"
    lowest = re.search(r">=(\d+)\.(\d+)", pins[0])
    assert lowest is not None and re.search(r",<\d+\.\d+", pins[0]), pins[0]
    minor = (int(lowest.group(1)), int(lowest.group(2)))
    assert graphql.version_info[:2] == minor
