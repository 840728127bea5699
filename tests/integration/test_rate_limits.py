"""Rate limits enforced in the claim, on SQLite and PostgreSQL: at most N
starts in any period, per concurrency key with `rate_limit_key`; held-back
runs read as waiting for the rate limit; a started run's further
iterations are never held back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from bench.rate_limit import max_in_window
from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.rate_limit import RateLimit
from taskloom.definitions.records import WaitReason
from taskloom.server.store import rate_limits
from taskloom.server.store.claims import Claim
from taskloom.server.store.fair_claims import limits_of
from taskloom.server.store.models import rate_limit_starts
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, served

WAIT = 20.0


class ThreePerMinute(TaskDefinition[Any]):
    id = "rate-3-per-minute"
    rate_limit = "3/m"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ran"


class TwoPerKey(TaskDefinition[Any]):
    id = "rate-2-per-key"
    rate_limit = "2/m"
    rate_limit_key = True

    def concurrency_key(self, input: Any) -> str | None:
        return str(input.model_dump()["tenant"])

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ran"


class LongRuns(TaskDefinition[Any]):
    """Three iterations per run, one start per minute."""

    id = "rate-long-runs"
    rate_limit = "1/m"

    async def run(self, controller: TaskController[Any]) -> Any:
        done = controller.state.get("done", 0) + 1
        if done < 3:
            return controller.response.continue_(state={"done": done})
        return done


class FivePerSecond(TaskDefinition[Any]):
    id = "rate-5-per-second"
    rate_limit = "5/s"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ran"


async def _settled(app: Taskloom, definition_id: str, succeeded: int) -> list[Any]:
    """The definition's runs once `succeeded` of them have, after a few more
    claim rounds (a limit that leaked would show by then)."""
    deadline = time.monotonic() + WAIT
    where = RunFilter(definition_id=definition_id, statuses=("SUCCEEDED",))
    while await app.service.count_runs(where) < succeeded:
        assert time.monotonic() < deadline, "the admitted runs did not finish"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.6)
    page = await app.service.list_runs(RunFilter(definition_id=definition_id), first=100)
    return list(page.items)


async def test_starts_beyond_the_limit_wait_with_a_reason(make_app: Any) -> None:
    app: Taskloom = await make_app(ThreePerMinute)
    for _ in range(5):
        await app.service.trigger(ThreePerMinute.id)
    runs = await _settled(app, ThreePerMinute.id, 3)
    statuses = sorted(r.status for r in runs)
    assert statuses.count(TaskStatus.SUCCEEDED) == 3
    held = [r.id for r in runs if r.status is TaskStatus.PENDING]
    assert len(held) == 2
    assert await app.service.waiting_reasons(held) == [WaitReason.RATE_LIMIT] * 2


async def test_rate_limit_key_holds_the_limit_per_key(make_app: Any) -> None:
    app: Taskloom = await make_app(TwoPerKey)
    for tenant in ("a", "a", "a", "b", "b", "b"):
        await app.service.trigger(TwoPerKey.id, {"tenant": tenant})
    runs = await _settled(app, TwoPerKey.id, 4)
    done = [r.input["tenant"] for r in runs if r.status is TaskStatus.SUCCEEDED]
    assert sorted(done) == ["a", "a", "b", "b"]
    held = [r for r in runs if r.status is TaskStatus.PENDING]
    assert sorted(r.input["tenant"] for r in held) == ["a", "b"]


async def test_a_started_run_is_never_held_back_midway(make_app: Any) -> None:
    app: Taskloom = await make_app(LongRuns)
    first = await app.service.trigger(LongRuns.id)
    second = await app.service.trigger(LongRuns.id, priority=-1)
    assert (await app.service.wait(first.id, timeout=WAIT)).output == 3
    await asyncio.sleep(0.6)
    held = await app.service.get(second.id)
    assert (held.status, held.iterations) == (TaskStatus.PENDING, 0)


async def test_no_window_holds_more_starts_than_the_limit(make_app: Any) -> None:
    app: Taskloom = await make_app(FivePerSecond)
    runs = await app.service.trigger_many(FivePerSecond.id, [None] * 16)
    ended = [await app.service.wait(run.id, timeout=WAIT) for run in runs]
    starts = sorted(run.started_at.timestamp() for run in ended if run.started_at)
    assert max_in_window(starts, 1.0) == 5
    # 16 starts at 5 per second take three seconds at least: each start
    # after the first five is given the time its slot frees.
    assert starts[-1] - starts[0] >= 3.0 - 1e-6


class Recorder(TaskDefinition[Any]):
    """Notes when run() was called, by the clock starts are given by (the
    database's: PostgreSQL's is the server's)."""

    id = "rate-recorder"
    rate_limit = "5/s"
    calls: ClassVar[dict[str, float]] = {}
    clock: ClassVar[Callable[[], float]] = time.time

    async def run(self, controller: TaskController[Any]) -> Any:
        Recorder.calls[controller.run.id] = Recorder.clock()
        return "ran"


async def _claim(app: Taskloom, now: float, most: int = 10) -> list[Any]:
    limits = limits_of([FivePerSecond])
    op = Claim("w", most, now, now + 30, [FivePerSecond.id], limits)
    return await app.database.run_write(op)


async def _recorded(app: Taskloom) -> list[float]:
    def read(conn: Any) -> list[float]:
        query = select(rate_limit_starts.c.started_at).order_by(rate_limit_starts.c.started_at)
        return [float(at) for at in conn.execute(query).scalars()]

    return await app.database.read(read)


async def test_a_start_is_given_the_time_its_slot_frees(make_app: Any) -> None:
    """A claim made a moment before the window's oldest start leaves it
    (within the lookahead) takes the start at the time the slot frees, and
    records it then; a claim late for its slot starts the run when it is
    made; earlier than the lookahead, nothing is taken."""
    app: Taskloom = await make_app(FivePerSecond, worker=False)
    await app.service.trigger_many(FivePerSecond.id, [None] * 12)
    t0 = time.time()
    first = await _claim(app, t0)
    assert [row["attempt_started_at"] for row in first] == [t0] * 5
    ahead = rate_limits.lookahead(RateLimit.parse(FivePerSecond.rate_limit))
    assert await _claim(app, t0 + 1.0 - 2 * ahead) == []
    early = await _claim(app, t0 + 1.0 - ahead / 2)
    assert [row["attempt_started_at"] for row in early] == [t0 + 1.0] * 5
    assert await _recorded(app) == [t0] * 5 + [t0 + 1.0] * 5
    late = await _claim(app, t0 + 2.3)
    assert [row["attempt_started_at"] for row in late] == [t0 + 2.3] * 2
    assert [at for at in await _recorded(app) if at > t0 + 1.3] == [t0 + 2.3] * 2
    runs = await app.service.list_runs(RunFilter(definition_id=FivePerSecond.id), first=20)
    started = sorted(r.started_at.timestamp() for r in runs.items if r.started_at)
    assert max_in_window(started, 1.0) == 5


async def test_run_is_not_called_before_the_start_its_slot_gave(make_app: Any) -> None:
    Recorder.calls.clear()
    app: Taskloom = await make_app(Recorder)
    Recorder.clock = app.database.clock
    runs = await app.service.trigger_many(Recorder.id, [None] * 12)
    ended = [await app.service.wait(run.id, timeout=WAIT) for run in runs]
    assert all(run.status is TaskStatus.SUCCEEDED for run in ended)
    for run in ended:
        assert run.started_at is not None
        assert Recorder.calls[run.id] >= run.started_at.timestamp()


async def test_graphql_shows_the_limit_and_the_reason(database_url: str) -> None:
    async with served(database_url, definitions=(ThreePerMinute,)) as (app, client):
        ids = [(await app.service.trigger(ThreePerMinute.id)).id for _ in range(4)]
        await _settled(app, ThreePerMinute.id, 3)
        query = """query($ids: [ID!]) {
            taskDefinition(id: "rate-3-per-minute") { rateLimit rateLimitKey }
            taskRuns(where: {definitionIds: $ids}) { edges { node { status waiting { reason } } } }
        }"""
        found = await data(client, query, {"ids": [ThreePerMinute.id]})
        assert found["taskDefinition"] == {"rateLimit": "3/m", "rateLimitKey": False}
        reasons = sorted(
            (e["node"]["status"], (e["node"]["waiting"] or {}).get("reason", ""))
            for e in found["taskRuns"]["edges"]
        )
        assert reasons == [("PENDING", "RATE_LIMIT")] + [("SUCCEEDED", "")] * 3
        assert len(ids) == 4


@pytest.mark.parametrize(
    ("spec", "count", "period"),
    [("100/m", 100, 60), ("10/s", 10, 1), ("30/10s", 30, 10), ("5000/h", 5000, 3600)],
)
def test_rate_limit_specs(spec: str, count: int, period: float) -> None:
    assert RateLimit.parse(spec) == RateLimit(count, period)


@pytest.mark.parametrize("spec", ["100", "0/m", "10/w", "ten/m", "10/0s", ""])
def test_wrong_specs_are_refused_when_the_class_is_made(spec: str) -> None:
    with pytest.raises(ValueError, match="invalid rate limit"):
        type("Wrong", (TaskDefinition,), {"id": "wrong", "rate_limit": spec})


async def test_an_idle_worker_claims_again_when_the_next_slot_comes_within_reach(
    make_app: Any,
) -> None:
    """`next_claim_at`: when the window's count-th newest start, plus the
    period, comes within the lookahead; a slot within reach of the worker's
    last claim (offered to it, left untaken) is no reason to claim again."""
    app: Taskloom = await make_app(FivePerSecond, worker=False)
    await app.service.trigger_many(FivePerSecond.id, [None] * 12)
    rate = RateLimit.parse(FivePerSecond.rate_limit)
    rates, ahead = {FivePerSecond.id: rate}, rate_limits.lookahead(rate)

    async def next_claim(now: float, claimed_at: float) -> float | None:
        return await app.database.read(
            lambda c: rate_limits.next_claim_at(c, [], rates, now, claimed_at)
        )

    t0 = time.time()
    assert len(await _claim(app, t0, most=3)) == 3
    assert len(await _claim(app, t0 + 0.15)) == 2
    assert await next_claim(t0 + 0.2, t0 + 0.15) == t0 + 1.0 - ahead
    claimed_at = t0 + 1.0 - ahead / 2
    assert len(await _claim(app, claimed_at, most=3)) == 3  # the slots of t0's starts
    assert await next_claim(claimed_at, claimed_at) == t0 + 1.15 - ahead
    # A claim whose reach covered the slot of t0 + 0.15's starts took none.
    assert await next_claim(claimed_at, t0 + 1.15 - ahead / 2) is None
