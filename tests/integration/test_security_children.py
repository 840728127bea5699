"""Issue 21, item 9, over real HTTP on SQLite and PostgreSQL: a user's
`children` of its own run (its count, pages and edges) hold only the
children it may see. Before, `totalCount` counted every child (3 counted,
2 visible) and a first page could come back empty while the user's own
children came after others'."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.security_support import post, serve

CHILDREN = """query($id: ID!, $first: Int!) {
  taskRun(id: $id) {
    children(first: $first) {
      totalCount
      pageInfo { hasNextPage }
      edges { node { id createdBy } }
    }
  }
}"""


async def test_a_user_counts_and_pages_only_the_children_it_may_see(database_url: str) -> None:
    async with serve(database_url, worker=False) as server:
        service = server.taskloom.service
        parent = await service.trigger("sec-hold", delay=3600, created_by="alice")
        for owner in ("developer", "developer", "alice", "alice", "alice"):
            await service.trigger("sec-hold", delay=3600, parent_id=parent.id, created_by=owner)
        seen: dict[str, Any] = {}
        async with httpx.AsyncClient(base_url=server.url) as client:
            for who in ("alice", "developer"):
                body = (
                    await post(client, CHILDREN, {"id": parent.id, "first": 2}, server.tokens[who])
                ).json()
                seen[who] = body["data"]["taskRun"]["children"]
    alice, developer = seen["alice"], seen["developer"]
    assert alice["totalCount"] == 3
    assert [edge["node"]["createdBy"] for edge in alice["edges"]] == ["alice", "alice"]
    assert alice["pageInfo"]["hasNextPage"] is True
    assert developer["totalCount"] == 5
    assert [edge["node"]["createdBy"] for edge in developer["edges"]] == ["developer"] * 2
