"""Definitions run by the reliability tests' and the soak's worker
processes (TASKLOOM_DEFINITIONS=tests.reliability.defs). Every iteration
writes a start and an end line to the ledger (ledger.py) and an "iter N"
log line, saved with its outcome: a log line there twice means an outcome
saved twice."""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any

from pydantic import BaseModel

from taskloom.definitions import TaskController, TaskDefinition, register
from tests.reliability import ledger


class StepsInput(BaseModel):
    steps: int = 3
    sleep: float = 0.05
    child: bool = True


class SleepInput(BaseModel):
    sleep: float = 5.0


def scale() -> float:
    """REL_SLEEP_SCALE: how much of their `sleep` this process's iterations
    sleep (a second worker finishes quickly what the first was given)."""
    return float(os.environ.get("REL_SLEEP_SCALE", "1"))


@register
class Steps(TaskDefinition[StepsInput]):
    """`steps` iterations of about `sleep` seconds; the first triggers one
    child (written with its outcome, so never twice)."""

    id = "rel.steps"
    max_iterations = 100

    async def run(self, controller: TaskController[StepsInput]) -> Any:
        data = controller.input
        i = controller.run.iteration
        ledger.append("start", controller.run.id, i)
        controller.log.info(f"iter {i}")
        if i == 0 and data.child:
            controller.trigger(Child.id, {"parent": controller.run.id}, name="child")
        sleep = data.sleep
        await asyncio.sleep(sleep * random.uniform(0.5, 1.5))
        ledger.append("end", controller.run.id, i)
        if i + 1 < data.steps:
            return controller.response.continue_(state={"done": i + 1})
        return {"iterations": i + 1}


@register
class Child(TaskDefinition[Any]):
    id = "rel.child"

    async def run(self, controller: TaskController[Any]) -> Any:
        ledger.append("start", controller.run.id, 0)
        controller.log.info("iter 0")
        ledger.append("end", controller.run.id, 0)
        return None


@register
class Blocking(TaskDefinition[SleepInput]):
    """A plain `def` iteration of `sleep` seconds, on a thread."""

    id = "rel.blocking"

    def run(self, controller: TaskController[SleepInput]) -> Any:
        ledger.append("start", controller.run.id, 0)
        time.sleep(controller.input.sleep * scale())
        ledger.append("end", controller.run.id, 0)
        return None


@register
class Sleeping(TaskDefinition[SleepInput]):
    """An async iteration of `sleep` seconds."""

    id = "rel.sleeping"

    async def run(self, controller: TaskController[SleepInput]) -> Any:
        ledger.append("start", controller.run.id, 0)
        try:
            await asyncio.sleep(controller.input.sleep * scale())
        except asyncio.CancelledError:
            ledger.append("cancelled", controller.run.id, 0)
            raise
        ledger.append("end", controller.run.id, 0)
        return None


@register
class Stubborn(TaskDefinition[SleepInput]):
    """An async iteration of `sleep` seconds that swallows its cancellation
    (task code that catches CancelledError and goes on)."""

    id = "rel.stubborn"

    async def run(self, controller: TaskController[SleepInput]) -> Any:
        ledger.append("start", controller.run.id, 0)
        until = time.monotonic() + controller.input.sleep * scale()
        while time.monotonic() < until:
            try:
                await asyncio.sleep(until - time.monotonic())
            except asyncio.CancelledError:
                ledger.append("cancelled", controller.run.id, 0)
        ledger.append("end", controller.run.id, 0)
        return None


@register
class Surrogate(TaskDefinition[Any]):
    """Writes a lone surrogate where a file name would go."""

    id = "rel.surrogate"

    async def run(self, controller: TaskController[Any]) -> Any:
        name = "report-\udcff.csv"
        controller.log.info(f"read {name}")
        controller.status(name)
        return {"file": name}
