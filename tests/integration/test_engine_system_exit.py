"""Task code that calls sys.exit() ends its own iteration with an error; it
does not stop the worker (or the server around it)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus

WAIT = 15.0


class ExitsAsync(TaskDefinition[Any]):
    id = "exit-async"

    async def run(self, controller: TaskController[Any]) -> Any:
        sys.exit(3)


class ExitsSync(TaskDefinition[Any]):
    id = "exit-sync"

    def run(self, controller: TaskController[Any]) -> Any:
        raise SystemExit("bye")


class ExitsCancellable(TaskDefinition[Any]):
    """abort_mode "cancel" runs the iteration in a task of its own."""

    id = "exit-cancellable"
    abort_mode = "cancel"

    async def run(self, controller: TaskController[Any]) -> Any:
        await asyncio.sleep(0)
        sys.exit("from its own task")


class ExitsInHook(TaskDefinition[Any]):
    id = "exit-hook"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "done before the hook"

    def on_done(self, run: Any) -> None:
        sys.exit(4)


class Fine(TaskDefinition[Any]):
    id = "exit-fine"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "still here"


async def test_sys_exit_in_task_code_fails_the_iteration_only(make_app: Any) -> None:
    app = await make_app(ExitsAsync, ExitsSync, ExitsCancellable, ExitsInHook, Fine)
    cases = ((ExitsAsync, "3"), (ExitsSync, "bye"), (ExitsCancellable, "from its own task"))
    for definition, message in cases:
        run = await app.service.wait((await app.service.trigger(definition)).id, timeout=WAIT)
        assert run.status is TaskStatus.FAILED
        assert run.error is not None
        assert run.error.code == "SystemExit"
        assert message in run.error.message
    hooked = await app.service.wait((await app.service.trigger(ExitsInHook)).id, timeout=WAIT)
    assert hooked.status is TaskStatus.SUCCEEDED  # a failing hook does not change the run
    lines = (await app.service.logs(hooked.id)).items
    assert any("hook on_done failed: SystemExit: 4" in line.message for line in lines)
    after = await app.service.wait((await app.service.trigger(Fine)).id, timeout=WAIT)
    assert after.status is TaskStatus.SUCCEEDED
    assert after.output == "still here"
