"""How much one operation may ask for, known before it executes.

Depth and alias limits do not bound an answer's size: five aliases of
`taskRun { children(first: 60) { … parent { children(first: 60) … } } }`
three levels deep stay under both, and ask for a million nodes. The cost
counts what the answer can hold:

* every field selected costs 1, times the page sizes of the lists it sits
  in: a field under `children(first: 60)` inside `taskRuns(first: 50)` costs
  3,000; `first` is read with the request's variables and the argument's
  default (50), capped at the largest page (500) as the service caps it;
* aliases and fragment spreads count each time they are selected (a
  fragment's cost is worked out once and multiplied, so the count is linear
  in the document even when spreads multiply);
* lists without `first` (`taskDefinitions`, `apiTokens`, `schedules`) count
  as one: they are short and not the caller's to make longer; but a run's
  `dependencies` count as many as a run may have (MAX_AFTER), since
  callers make them and they nest (`dependencies { dependencies … }`).

`CostLimited` applies it through graphql-core's `Executor.build`, which may
refuse to build an executor by returning errors, so nothing runs when an
operation costs more than `max_cost`; the error is `QUERY_TOO_COSTLY`, with
the cost and the limit in its extensions.
"""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from taskloom.definitions.filters import MAX_AFTER, MAX_PAGE

DEFAULT_MAX_COST = 50_000
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
PAGE_ARGUMENT = "first"
# Lists without `first` that callers make long: (type, field) -> the most items.
LIST_SIZES = {("TaskRun", "dependencies"): MAX_AFTER}


class Coster:
    """The cost of one operation's selections, with its variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Any,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.fragment_costs: dict[str, int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        return 0 if root is None else self.selections(operation.selection_set, root)

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> int:
        """The cost of `selection_set` on `parent`, once (no enclosing pages)."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                narrowed = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, narrowed or parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        known = self.fragment_costs.get(name)
        if known is None:
            self.fragment_costs[name] = 0  # a cycle (refused by validation) costs nothing more
            definition = self.fragments.get(name)
            on = self.schema.get_type(definition.type_condition.name.value) if definition else None
            known = (
                0
                if definition is None or on is None
                else self.selections(definition.selection_set, on)
            )
            self.fragment_costs[name] = known
        return known

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        definition = _field_definition(self.schema, parent, node.name.value)
        if definition is None:
            return 1
        inner = self.selections(node.selection_set, get_named_type(definition.type))
        if PAGE_ARGUMENT in definition.args:
            inner *= self.page(definition, node)
        elif (parent.name, node.name.value) in LIST_SIZES:
            inner *= LIST_SIZES[parent.name, node.name.value]
        return 1 + inner

    def page(self, definition: GraphQLField, node: FieldNode) -> int:
        first = get_argument_values(definition, node, self.variables).get(PAGE_ARGUMENT)
        return MAX_PAGE if not isinstance(first, int) else max(0, min(first, MAX_PAGE))


def _field_definition(
    schema: GraphQLSchema, parent: GraphQLNamedType, name: str
) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is schema.query_type and name in ("__schema", "__type"):
        return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    return None if fields is None else fields.get(name)


class CostLimited(StrawberryGraphQLCoreExecutionContext):
    """An execution context that refuses to be built for an operation
    costing more than `max_cost` (None: no limit). `cost_limited` makes
    the subclass with the limit."""

    max_cost: ClassVar[int | None] = None

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        built = super().build(*args, **kwargs)
        if isinstance(built, list) or cls.max_cost is None:
            return built
        coster = Coster(built.schema, built.fragment_definitions, built.variable_values)
        cost = coster.operation(built.operation)
        if cost > cls.max_cost:
            return [
                GraphQLError(
                    f"Query cost {cost} is over the limit of {cls.max_cost}: ask for "
                    "smaller pages (`first`), fewer nested lists or fewer aliases",
                    extensions={"code": QUERY_TOO_COSTLY, "cost": cost, "maxCost": cls.max_cost},
                )
            ]
        return built


def cost_limited(base: type[Any], max_cost: int) -> type[Any]:
    """`base` (an execution context class) with `CostLimited` in front."""
    return type(f"CostLimited{base.__name__}", (CostLimited, base), {"max_cost": max_cost})


__all__ = ["DEFAULT_MAX_COST", "QUERY_TOO_COSTLY", "CostLimited", "Coster", "cost_limited"]
