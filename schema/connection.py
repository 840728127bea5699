"""Relay-style connections: `edges { cursor node }`, `pageInfo`, and a
`totalCount` that is computed only when a client selects it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Generic, TypeVar

import strawberry

from taskloom.definitions.filters import DEFAULT_PAGE, MAX_PAGE
from taskloom.definitions.views import Page

NodeT = TypeVar("NodeT")
ItemT = TypeVar("ItemT")


@strawberry.type(description="Where a page ends and whether more follow.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null for an empty page."
    )


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue here.")
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match in all pages (costs a query).")
    async def total_count(self) -> int:
        return await self.count()


def connection(
    page: Page[ItemT],
    node: Callable[[ItemT], NodeT],
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    return Connection(
        edges=[
            Edge(cursor=cursor, node=node(item))
            for item, cursor in zip(page.items, page.cursors, strict=True)
        ],
        page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        count=count,
    )


# The arguments of every paged field.
First = Annotated[
    int | None,
    strawberry.argument(description=f"Page size: {DEFAULT_PAGE} unless given, at most {MAX_PAGE}."),
]
After = Annotated[str | None, strawberry.argument(description="Cursor of the previous page.")]
