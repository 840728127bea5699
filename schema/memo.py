"""Parsing and validation, once per distinct document.

graphql-core parses and validates every request's document (validation
against every rule: the standard ones plus the depth, alias and
introspection limits), which costs more than executing a small query. The
parse options and the rules are fixed when the schema is built, so both
results depend on the document text alone: `DocumentMemo` remembers the
parsed document (when it parsed) and the validation errors (none when
valid) for the last `size` distinct documents. strawberry's own
`ValidationCache` cannot, because its limiters create new rule classes for
every operation and the cache key includes them.

graphql-core never changes a parsed `DocumentNode`, so one may serve many
requests (strawberry's `ParserCache` relies on the same).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, TypeVar

from graphql import DocumentNode

# Documents larger than this are parsed every time (they are rare, and a
# memo of large syntax trees would hold a lot of memory).
MAX_MEMO_DOCUMENT = 20_000

V = TypeVar("V")


class DocumentMemo:
    """Parsed documents and validation results by document text (LRU)."""

    def __init__(self, size: int = 1_000) -> None:
        self.size = size
        self.documents: OrderedDict[str, DocumentNode] = OrderedDict()
        self.validations: OrderedDict[str, list[Any]] = OrderedDict()

    def document(self, query: str) -> DocumentNode | None:
        return _get(self.documents, query)

    def remember_document(self, query: str, document: DocumentNode) -> None:
        if len(query) <= MAX_MEMO_DOCUMENT:
            _put(self.documents, query, document, self.size)

    def validation(self, query: str) -> list[Any] | None:
        """The errors validation found in `query` (empty: valid), or None
        when it was not validated yet."""
        found = _get(self.validations, query)
        return None if found is None else list(found)

    def remember_validation(self, query: str, errors: list[Any]) -> None:
        _put(self.validations, query, list(errors), self.size)


def _get(memo: OrderedDict[str, V], key: str) -> V | None:
    found = memo.get(key)
    if found is not None:
        memo.move_to_end(key)
    return found


def _put(memo: OrderedDict[str, V], key: str, value: V, size: int) -> None:
    memo[key] = value
    memo.move_to_end(key)
    while len(memo) > size:
        memo.popitem(last=False)
