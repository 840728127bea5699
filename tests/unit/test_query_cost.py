"""The query cost: one per field, times the pages (`first`) of the lists it
sits in, with aliases and fragment spreads counted each time; worked out
from the document, the variables and the schema alone."""

from __future__ import annotations

from typing import Any

import graphql
import pytest

from taskloom.schema import build_schema
from taskloom.schema.query_cost import Coster
from tests.support.graphql_schema import graphql_schema_of

SCHEMA = graphql_schema_of(build_schema)


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    document = graphql.parse(query)
    assert graphql.validate(SCHEMA, document) == []
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    fragments = {
        d.name.value: d
        for d in document.definitions
        if isinstance(d, graphql.FragmentDefinitionNode)
    }
    (operation,) = operations
    coerced = graphql.execution.values.get_variable_values(
        SCHEMA, operation.variable_definitions or (), variables or {}
    )
    assert not isinstance(coerced, list), coerced
    return Coster(SCHEMA, fragments, coerced).operation(operation)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ __typename }", 1),
        ("{ viewer { owner role } }", 3),
        ("{ taskDefinitions { id title } }", 3),  # a list without `first` counts once
        # taskRuns 1 + 10 x (edges 1 + node 1 + id 1)
        ("{ taskRuns(first: 10) { edges { node { id } } } }", 31),
        # the default page is 50
        ("{ taskRuns { totalCount } }", 51),
        # pages past 500 are capped as the service caps them
        ("{ taskRuns(first: 100000) { totalCount } }", 501),
        ('{ a: taskRun(id: "x") { id } b: taskRun(id: "y") { id } }', 4),
        # taskRun 1 + children 1 + 60 x (edges + node + id + parent 1 + children 1 + 60 x 3)
        (
            '{ taskRun(id: "x") { children(first: 60) { edges { node { id parent { '
            "children(first: 60) { edges { node { id } } } } } } } } }",
            2 + 60 * (5 + 60 * 3),
        ),
        # a run's dependencies count as many as a run may have (100), nested too:
        # taskRun 1 + dependencies 1 + 100 x (id 1 + dependencies 1 + 100 x id 1)
        (
            '{ taskRun(id: "x") { dependencies { id dependencies { id } } } }',
            2 + 100 * (2 + 100),
        ),
    ],
)
def test_fields_times_the_pages_they_sit_in(query: str, expected: int) -> None:
    assert cost(query) == expected


def test_page_sizes_come_from_the_variables() -> None:
    query = "query($n: Int) { taskRuns(first: $n) { totalCount } }"
    assert cost(query, {"n": 7}) == 8
    assert cost(query) == 51  # not given: the argument's default


def test_fragments_count_every_time_they_are_spread() -> None:
    query = (
        "query { taskRuns(first: 10) { edges { node { ...A ...A } } } }\n"
        "fragment A on TaskRun { id b: id ...B ...B }\n"
        "fragment B on TaskRun { status }"
    )
    # per node: 2 x (id + b + 2 x status) = 8; per edge: edges + node + 8
    assert cost(query) == 1 + 10 * 10


def test_fragments_that_double_at_every_level_are_counted_without_walking_each_copy() -> None:
    levels = 40
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(levels)
    )
    query = "{ ...F0 }\n" + fragments + f"fragment F{levels} on Query {{ __typename }}"
    assert cost(query) == 2**levels
