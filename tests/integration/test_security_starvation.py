"""Issue 21, item 7: a caller cannot starve others' runs through `runAt`.

The attack: Bob triggers 40 runs dated `runAt: "0001-01-01"` at the highest
priority after Alice's run. Before, the worker's oldest-first turn took due
runs by due time, so all 40 started before hers. A `runAt` in the past is
now taken as now, and the oldest-first turn goes by creation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from taskloom.server.store.claims import Claim
from taskloom.server.store.fair_claims import FIFO_EVERY
from tests.integration.security_support import Server, post, serve

ATTACKER_RUNS = 40
TRIGGER = """mutation($runAt: DateTime, $priority: Int!) {
  triggerTask(definitionId: "sec-hold", runAt: $runAt, priority: $priority) {
    id runAt createdAt
  }
}"""


async def trigger(
    client: httpx.AsyncClient, server: Server, who: str, priority: int, run_at: str | None = None
) -> dict[str, Any]:
    variables = {"runAt": run_at, "priority": priority}
    body = (await post(client, TRIGGER, variables, server.tokens[who])).json()
    assert "errors" not in body, body
    run: dict[str, Any] = body["data"]["triggerTask"]
    return run


async def started_before_victim(server: Server, victim: str) -> int:
    """Claims one run at a time as the worker does (every FIFO_EVERY-th claim
    the oldest-first turn, the first one included) until the victim's run
    starts; how many runs started before it."""
    database = server.taskloom.database
    started = 0
    for turn in range(ATTACKER_RUNS + 1):
        now = database.clock()
        claim = Claim("attack", 1, now, now + 60, ["sec-hold"], oldest_first=turn % FIFO_EVERY == 0)
        claimed = [row["id"] for row in await database.run_write(claim)]
        if claimed == [victim]:
            return started
        started += len(claimed)
    raise AssertionError("the victim's run never started")


async def test_runs_dated_in_the_past_do_not_jump_the_oldest_first_turn(database_url: str) -> None:
    async with serve(database_url, worker=False) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            victim = await trigger(client, server, "alice", priority=0)
            attackers = [
                await trigger(client, server, "bob", 1_000_000, "0001-01-01T00:00:00+00:00")
                for _ in range(ATTACKER_RUNS)
            ]
        for run in attackers:
            assert datetime.fromisoformat(run["runAt"]) >= datetime.fromisoformat(run["createdAt"])
        assert await started_before_victim(server, victim["id"]) == 0
