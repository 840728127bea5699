"""Validation, once per distinct document.

graphql-core validates every request's document against every rule (the
standard ones plus the depth, alias and introspection limits), which costs
more than executing a small query. The rules are fixed when the schema is
built, so the result depends on the document text alone: `ValidationMemo`
remembers it (errors or none) for the last `size` distinct documents.
strawberry's own `ValidationCache` cannot, because the limiters create new
rule classes for every operation and the cache key includes them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

Memo = OrderedDict[str, list[Any]]


def validation_memo(size: int = 1_000) -> Callable[[], SchemaExtension]:
    """A factory of extensions sharing one memo of `size` documents."""
    memo: Memo = OrderedDict()

    def make() -> SchemaExtension:
        return ValidationMemo(memo, size)

    return make


class ValidationMemo(SchemaExtension):
    def __init__(self, memo: Memo, size: int) -> None:
        self.memo = memo
        self.size = size

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        known = self.memo.get(query) if query is not None else None
        if known is not None and context.pre_execution_errors is None:
            self.memo.move_to_end(query)  # type: ignore[arg-type]
            # A list (empty when valid) tells strawberry not to validate again.
            context.pre_execution_errors = list(known)
            yield
            return
        yield
        errors = context.pre_execution_errors
        if query is not None and errors is not None and known is None:
            self.memo[query] = list(errors)
            if len(self.memo) > self.size:
                self.memo.popitem(last=False)
