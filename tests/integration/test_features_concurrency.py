"""Concurrency limits enforced in the claim: `concurrency = N` per
definition, `concurrency_per_key` per key (1 = a mutex); runs over a limit
wait PENDING without blocking other definitions' runs."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from pydantic import BaseModel

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.filters import RunFilter
from tests.support.waiting import eventually

WAIT = 10.0


class Gated(TaskDefinition[Any]):
    """Holds its iteration until the test opens the gate; counts how many
    run at once."""

    id = "conc-capped"
    concurrency: ClassVar[int | None] = 2
    gate: ClassVar[asyncio.Event | None] = None
    running: ClassVar[Counter[str]] = Counter()
    most: ClassVar[Counter[str]] = Counter()

    def key(self, controller: TaskController[Any]) -> str:
        return self.id

    async def run(self, controller: TaskController[Any]) -> Any:
        key = self.key(controller)
        cls = type(self)
        cls.running[key] += 1
        cls.most[key] = max(cls.most[key], cls.running[key])
        try:
            assert cls.gate is not None
            await cls.gate.wait()
        finally:
            cls.running[key] -= 1
        return key


class CustomerInput(BaseModel):
    customer: str


class PerCustomer(Gated, TaskDefinition[CustomerInput]):
    id = "conc-per-customer"
    concurrency = None
    concurrency_per_key = 1
    running: ClassVar[Counter[str]] = Counter()
    most: ClassVar[Counter[str]] = Counter()

    def concurrency_key(self, input: CustomerInput) -> str:
        return input.customer

    def key(self, controller: TaskController[Any]) -> str:
        return str(controller.input.customer)


class Free(TaskDefinition[Any]):
    id = "conc-free"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "free"


async def _statuses(app: Any, definition: str) -> Counter[TaskStatus]:
    page = await app.service.list_runs(RunFilter(definition_id=definition), first=100)
    return Counter(r.status for r in page.items)


async def test_concurrency_caps_running_runs_of_a_definition(make_app: Any) -> None:
    Gated.gate = asyncio.Event()
    app = await make_app(Gated, Free)
    runs = [await app.service.trigger("conc-capped") for _ in range(5)]

    async def two_running() -> bool:
        return (await _statuses(app, "conc-capped"))[TaskStatus.RUNNING] == 2

    await eventually(two_running)
    # another definition's run is not blocked by the waiting ones
    free = await app.service.wait((await app.service.trigger("conc-free")).id, timeout=WAIT)
    assert free.status is TaskStatus.SUCCEEDED
    assert await _statuses(app, "conc-capped") == {TaskStatus.RUNNING: 2, TaskStatus.PENDING: 3}
    Gated.gate.set()
    for run in runs:
        assert (await app.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    assert Gated.most["conc-capped"] == 2


async def test_concurrency_per_key_is_a_mutex_per_customer(make_app: Any) -> None:
    PerCustomer.gate = asyncio.Event()
    app = await make_app(PerCustomer)
    first_a = await app.service.trigger("conc-per-customer", {"customer": "a"})
    second_a = await app.service.trigger("conc-per-customer", {"customer": "a"})
    only_b = await app.service.trigger("conc-per-customer", {"customer": "b"})

    async def a_and_b_running() -> bool:
        return (await _statuses(app, "conc-per-customer"))[TaskStatus.RUNNING] == 2

    await eventually(a_and_b_running)
    assert (await app.service.get(first_a.id)).status is TaskStatus.RUNNING
    assert (await app.service.get(only_b.id)).status is TaskStatus.RUNNING
    assert (await app.service.get(second_a.id)).status is TaskStatus.PENDING
    PerCustomer.gate.set()
    for run in (first_a, second_a, only_b):
        assert (await app.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    assert PerCustomer.most == {"a": 1, "b": 1}


async def test_oldest_first_claims_bound_the_starvation_of_low_priorities(make_app: Any) -> None:
    from taskloom.server.store.claims import Claim

    app = await make_app(Free, worker=False)
    old_low = await app.service.trigger("conc-free", priority=-100)
    await app.service.trigger("conc-free", priority=100)
    now = app.database.clock()

    async def claim(oldest_first: bool) -> list[str]:
        op = Claim("w", 1, now + 1, now + 60, ["conc-free"], oldest_first=oldest_first)
        return [row["id"] for row in await app.database.run_write(op)]

    assert await claim(oldest_first=True) == [old_low.id]
    assert await claim(oldest_first=False) != [old_low.id]


async def test_the_cap_holds_across_two_workers(make_app: Any) -> None:
    Gated.gate = asyncio.Event()
    Gated.running.clear()
    Gated.most.clear()
    first = await make_app(Gated)
    await make_app(Gated)
    runs = [await first.service.trigger("conc-capped") for _ in range(6)]

    async def two_running() -> bool:
        return (await _statuses(first, "conc-capped"))[TaskStatus.RUNNING] == 2

    await eventually(two_running)
    assert Gated.most["conc-capped"] == 2
    Gated.gate.set()
    for run in runs:
        assert (await first.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    assert Gated.most["conc-capped"] == 2
