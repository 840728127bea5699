"""The document memo counts bytes: its estimate of a parsed document is not
below what the document really holds (tracemalloc), and it forgets the least
recently used documents once the budget is spent."""

from __future__ import annotations

import tracemalloc

import graphql
import pytest

from taskloom.schema.memo import MAX_MEMO_DOCUMENT, DocumentMemo, weight

DOCUMENTS = {
    "wide": "{ " + " ".join("taskDefinitions { id title description }" for _ in range(400)) + " }",
    "deep": "{ taskRuns(first: 10) { edges { node { id status "
    + "children { edges { node { " * 6
    + "id"
    + " } } }" * 6
    + " } } } }",
    "many names": "{ " + " ".join(f'a{i}: taskRun(id: "{i}") {{ id }}' for i in range(300)) + " }",
    "small": "{ viewer { owner role } }",
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_the_weight_of_a_document_covers_what_its_syntax_tree_holds(name: str) -> None:
    query = DOCUMENTS[name]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        document = graphql.parse(query)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert document.definitions
    assert held <= weight(query), (held, weight(query))


def test_the_budget_in_bytes_evicts_the_least_recently_used() -> None:
    queries = [f"{{ a{i}: viewer {{ owner }} }}" for i in range(10)]
    memo = DocumentMemo(budget=sum(weight(q) for q in queries[:3]))
    for query in queries[:3]:
        memo.remember(query, graphql.parse(query))
    assert memo.document(queries[0]) is not None  # now the most recent
    memo.remember(queries[3], graphql.parse(queries[3]))
    assert memo.document(queries[1]) is None
    assert all(memo.document(q) is not None for q in (queries[0], queries[2], queries[3]))
    assert memo.used == sum(weight(q) for q in (queries[0], queries[2], queries[3])) <= memo.budget


def test_documents_too_large_for_the_memo_are_not_kept() -> None:
    large = "{ viewer { owner } }" + " " * MAX_MEMO_DOCUMENT
    memo = DocumentMemo()
    memo.remember(large, graphql.parse(large))
    small = "{ viewer { owner } }"
    tiny = DocumentMemo(budget=weight(small) - 1)
    tiny.remember(small, graphql.parse(small))
    assert memo.used == tiny.used == 0 and memo.document(large) is None
