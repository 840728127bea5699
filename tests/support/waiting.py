"""Waiting in tests for something that happens in the background: poll a
condition until it holds or a deadline passes, never a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

WAIT = 10.0


async def eventually(
    condition: Callable[[], Any | Awaitable[Any]], timeout: float = WAIT, interval: float = 0.01
) -> None:
    """Returns once `condition()` (plain or async) is truthy; fails the test
    if it is not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(interval)


def reason_of(run: Any) -> Any:
    """What a `RunView` waits for (`run.waiting.reason`), or None."""
    return None if run.waiting is None else run.waiting.reason
