"""Calling task code that may be sync or async, on the loop or in a thread."""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import Callable
from concurrent.futures import Executor
from contextvars import copy_context
from typing import Any

from definitions.definition import TaskDefinition


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


def describe(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """A log message and data for an exception raised by task code."""
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return message, {"type": type(exc).__name__, "traceback": trace}
