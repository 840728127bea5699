"""StepsTaskDefinition on the real engine: steps in order, a step spanning
iterations, a retried step starting where it failed, progress from steps,
and a pause between steps resuming at the saved step."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from taskloom.definitions import Retry, StepsTaskDefinition, TaskController, TaskStatus
from taskloom.definitions.steps import STEP_KEY

WAIT = 10.0


class Pipeline(StepsTaskDefinition[Any]):
    id = "steps-pipeline"
    steps = ("fetch", "process", "publish")
    retry = Retry(attempts=1)
    calls: ClassVar[list[str]] = []

    async def fetch(self, controller: TaskController[Any]) -> Any:
        Pipeline.calls.append("fetch")

    async def process(self, controller: TaskController[Any]) -> Any:
        n = controller.state.get("n", 0) + 1
        Pipeline.calls.append(f"process{n}")
        if n == 2 and controller.run.attempt == 0:
            raise RuntimeError("flaky upstream")
        if n < 3:
            return controller.response.continue_(state={**controller.state, "n": n})
        controller.state["n"] = n  # kept: the next step sees it
        return None

    def publish(self, controller: TaskController[Any]) -> Any:  # a plain def: in a thread
        Pipeline.calls.append("publish")
        return {"processed": controller.state["n"]}


class Gate(StepsTaskDefinition[Any]):
    """The first step ends once a pause is requested; the second finishes."""

    id = "steps-gate"
    steps = ("first", "second")
    seen: ClassVar[list[str]] = []

    async def first(self, controller: TaskController[Any]) -> Any:
        Gate.seen.append("first")
        deadline = time.monotonic() + WAIT
        while True:
            if controller.runtime.is_pause_requested() or time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.01)

    async def second(self, controller: TaskController[Any]) -> Any:
        Gate.seen.append("second")
        return "end"


async def test_steps_run_in_order_and_a_retry_restarts_the_failed_step(make_app: Any) -> None:
    Pipeline.calls.clear()
    app = await make_app(Pipeline)
    run = await app.service.trigger("steps-pipeline")
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED, done.error
    assert done.output == {"processed": 3}
    assert Pipeline.calls == ["fetch", "process1", "process2", "process2", "process3", "publish"]
    assert done.attempt == 1
    assert done.progress is not None and done.progress.display == "3 of 3 steps"
    assert done.status_message == "Step 3 of 3: publish"


async def test_a_paused_steps_run_resumes_at_its_step(make_app: Any) -> None:
    Gate.seen.clear()
    app = await make_app(Gate)
    run = await app.service.trigger("steps-gate")
    await app.service.wait(run.id, {TaskStatus.RUNNING}, timeout=WAIT)
    await app.service.pause(run.id)
    paused = await app.service.wait(run.id, {TaskStatus.PAUSED}, timeout=WAIT)
    assert paused.state[STEP_KEY] == 1 and Gate.seen == ["first"]
    assert paused.progress is not None and paused.progress.display == "1 of 2 steps"
    await app.service.resume(run.id)
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.output == "end" and Gate.seen == ["first", "second"]
