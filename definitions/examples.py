"""Example definitions that `make serve` loads (TASKLOOM_DEFINITIONS)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from pydantic import BaseModel, Field

from taskloom.definitions import Retry, RunInfo, TaskController, TaskDefinition, register, task


class CountdownInput(BaseModel):
    start: int = Field(5, ge=1, le=10_000, description="Number to count down from")
    delay_seconds: float = Field(0.5, ge=0, le=60, description="Pause between steps")


@register
class Countdown(TaskDefinition[CountdownInput]):
    """Counts down one step per iteration, saving its position each time."""

    id = "countdown"
    title = "Countdown"
    description = "Counts down from `start`, one iteration per step, with progress."
    max_iterations = 10_001

    async def run(self, controller: TaskController[CountdownInput]) -> Any:
        remaining = controller.state.get("remaining", controller.input.start)
        if controller.runtime.is_aborted():
            return controller.response.aborted(f"stopped at {remaining}")
        controller.log.info(f"{remaining}...", data={"remaining": remaining})
        done = controller.input.start - remaining + 1
        controller.progress(done, controller.input.start, "steps")
        if remaining <= 1:
            return controller.response.done(output={"counted": controller.input.start})
        return controller.response.continue_(
            state={"remaining": remaining - 1}, delay=controller.input.delay_seconds
        )


class ImportInput(BaseModel):
    rows: int = Field(10_000, ge=0, le=10_000_000, description="Rows to import")
    batch_size: int = Field(500, ge=1, le=100_000)


@register
class BatchImport(TaskDefinition[ImportInput]):
    """Imports in batches until its time budget is nearly spent, then
    continues in a new iteration from the saved cursor."""

    id = "batch-import"
    title = "Batch import"
    description = "Imports rows in batches, yielding before the iteration's timeout."
    iteration_timeout = 2.0

    async def run(self, controller: TaskController[ImportInput]) -> Any:
        cursor = controller.state.get("cursor", 0)
        total = controller.input.rows
        while not controller.runtime.is_close_to_timeout(0.5):
            if controller.runtime.is_aborted():
                return controller.response.aborted(f"stopped at row {cursor}")
            if cursor >= total:
                return controller.response.done(output={"imported": cursor})
            await asyncio.sleep(0.01)  # stands in for writing one batch
            cursor = min(total, cursor + controller.input.batch_size)
            controller.progress(cursor, total, "rows")
        controller.log.info("time budget nearly spent; continuing", data={"cursor": cursor})
        return controller.response.continue_(state={"cursor": cursor})


class FlakyInput(BaseModel):
    failure_rate: float = Field(0.5, ge=0, le=1, description="Chance that an attempt fails")


@register
class Flaky(TaskDefinition[FlakyInput]):
    """Fails at random; retried up to three times with a growing wait."""

    id = "flaky"
    title = "Flaky task"
    description = "Fails at random to show retries with back-off."
    retry = Retry(attempts=3, wait_seconds=0.5, multiplier=1)

    def run(self, controller: TaskController[FlakyInput]) -> Any:
        if random.random() < controller.input.failure_rate:
            raise ConnectionError(f"upstream unavailable (attempt {controller.run.attempt})")
        return {"attempt": controller.run.attempt}

    def on_error(self, run: RunInfo) -> None:
        print(f"flaky run {run.id} gave up: {run.error}")


class FanOutInput(BaseModel):
    children: int = Field(3, ge=1, le=100, description="Child countdowns to start")


@task(id="fan-out", title="Fan out", input=FanOutInput)
async def fan_out(controller: TaskController[FanOutInput]) -> Any:
    """Starts child countdowns, then waits for them to finish."""
    if not controller.state.get("started"):
        ids = [
            controller.trigger("countdown", {"start": 3, "delay_seconds": 0.1}, name=f"child {i}")
            for i in range(controller.input.children)
        ]
        controller.log.info(f"started {len(ids)} children", data={"children": ids})
        return controller.response.continue_(state={"started": ids}, delay=0.2)
    children = await controller.children()
    finished = [c for c in children if c.has_ended]
    controller.progress(len(finished), len(children), "children")
    if len(finished) < len(children):
        return controller.response.continue_(state=controller.state, delay=0.2)
    return controller.response.done(output={"children": len(children)})
