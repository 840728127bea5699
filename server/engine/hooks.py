"""Calling task code that may be sync or async, on the loop or in a thread."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from contextvars import copy_context
from typing import Any

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.records import RunError, RunInfo, TaskStatus
from taskloom.server.engine import tracebacks


def overrides(instance: TaskDefinition[Any], name: str) -> bool:
    """False for hooks the definition left as the base class's no-op."""
    return getattr(type(instance), name) is not getattr(TaskDefinition, name)


async def call(fn: Callable[..., Any], *args: Any, executor: Executor | None = None) -> Any:
    """Awaits `fn(*args)`: coroutines on the loop, plain functions in a
    thread (with the caller's context variables)."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(executor, copy_context().run, fn, *args)
    if inspect.isawaitable(result):
        return await result
    return result


def describe(exc: BaseException, definition: type[Any] | None) -> tuple[str, dict[str, Any]]:
    """A log message and data for an exception raised by task code of
    `definition`: its traceback whole, and only its frames in the
    definition's module (engine/tracebacks.py)."""
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    source = None if definition is None else tracebacks.module_file(definition.__module__)
    return message, {
        "type": type(exc).__name__,
        "traceback": tracebacks.whole(exc),
        "task_traceback": tracebacks.task_only(exc, source),
    }


def run_info(
    row: Mapping[Any, Any],
    *,
    attempt: int,
    state: dict[str, Any],
    status: TaskStatus = TaskStatus.RUNNING,
    output: Any = None,
    error: RunError | None = None,
) -> RunInfo:
    """The RunInfo that task code sees for a task run row; the caller says
    which attempt, state and outcome it is at."""
    return RunInfo(
        id=row["id"],
        definition_id=row["definition_id"],
        name=row["name"],
        iteration=row["iterations"],
        attempt=attempt,
        parent_id=row["parent_id"],
        created_by=row["created_by"],
        status=status,
        input=row["input"],
        state=state,
        output=output,
        error=error,
    )
