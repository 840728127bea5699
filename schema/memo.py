"""Parsing and validation, once per distinct valid document.

graphql-core parses and validates every request's document (validation
against every rule: the standard ones plus the depth, alias, cost and
introspection limits), which costs more than executing a small query. The
parse options and the rules are fixed when the schema is built, so both
results depend on the document text alone: `DocumentMemo` remembers the
parsed documents that validated, least recently used first out, within a
budget of bytes. strawberry's own `ValidationCache` cannot, because its
limiters create new rule classes for every operation and the cache key
includes them.

What it never keeps (`OperationGuard` decides): a document that failed to
parse or validate (its errors hold the syntax tree and locations, over a
megabyte for 23 KB of unknown fields), and a document sent without a token
while authentication is on. Nobody without a token can make the server keep
anything, and a valid document costs what its syntax tree costs.

graphql-core never changes a parsed `DocumentNode`, so one may serve many
requests (strawberry's `ParserCache` relies on the same).
"""

from __future__ import annotations

from collections import OrderedDict

from graphql import DocumentNode

# Documents larger than this are parsed every time (they are rare).
MAX_MEMO_DOCUMENT = 20_000
# What a parsed document holds per character of its text: its nodes, and
# the tokens its locations keep alive (75 to 115 bytes measured with
# tracemalloc, from wide selections to deep ones; tests/unit/test_memo.py).
BYTES_PER_CHARACTER = 128
ENTRY_OVERHEAD = 1_024
DEFAULT_BUDGET = 64 * 1024 * 1024


def weight(query: str) -> int:
    """The bytes `DocumentMemo` counts for remembering `query`'s document."""
    return len(query) * BYTES_PER_CHARACTER + ENTRY_OVERHEAD


class DocumentMemo:
    """Valid parsed documents by document text (LRU within `budget` bytes)."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.used = 0
        self.documents: OrderedDict[str, DocumentNode] = OrderedDict()

    def document(self, query: str) -> DocumentNode | None:
        """The parsed `query`, known to be valid, or None."""
        found = self.documents.get(query)
        if found is not None:
            self.documents.move_to_end(query)
        return found

    def remember(self, query: str, document: DocumentNode) -> None:
        """Keeps `document`, which parsed from `query` and validated."""
        size = weight(query)
        if len(query) > MAX_MEMO_DOCUMENT or size > self.budget or query in self.documents:
            return
        self.documents[query] = document
        self.used += size
        while self.used > self.budget:
            oldest, _ = self.documents.popitem(last=False)
            self.used -= weight(oldest)
