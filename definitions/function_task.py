"""`@task(...)`: a definition written as one function taking the controller."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from taskloom.definitions.controller import TaskController
from taskloom.definitions.definition import AnyInput, TaskDefinition
from taskloom.definitions.registry import register
from taskloom.definitions.retry import NO_RETRY, Retry

TaskFunction = Callable[[TaskController[Any]], Any]


def task(
    *,
    id: str,
    title: str | None = None,
    description: str = "",
    input: type[BaseModel] = AnyInput,
    max_iterations: int = 1_000,
    iteration_timeout: float = 300.0,
    retry: Retry = NO_RETRY,
    **options: Any,
) -> Callable[[TaskFunction], type[TaskDefinition[Any]]]:
    """Registers `fn` as a definition and returns the definition class.

    An `async def` runs on the event loop; a plain `def` runs in a worker
    thread. Extra keyword options become class attributes (e.g. hooks).
    """

    def decorate(fn: TaskFunction) -> type[TaskDefinition[Any]]:
        attrs: dict[str, Any] = {
            "id": id,
            "title": title or id,
            "description": description or inspect.getdoc(fn) or "",
            "input_model": input,
            "max_iterations": max_iterations,
            "iteration_timeout": iteration_timeout,
            "retry": retry,
            "__module__": fn.__module__,
            "__doc__": fn.__doc__,
            **options,
        }
        if inspect.iscoroutinefunction(fn):

            async def run_async(self: Any, controller: TaskController[Any]) -> Any:
                return await fn(controller)

            attrs["run"] = run_async
        else:

            def run_sync(self: Any, controller: TaskController[Any]) -> Any:
                return fn(controller)

            attrs["run"] = run_sync
        cls = type(fn.__name__, (TaskDefinition,), attrs)
        return register(cls)

    return decorate
