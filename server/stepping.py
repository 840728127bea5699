"""A coroutine's first step taken by hand, the rest driven as `await` does.

`await coroutine` runs it in the caller's task until it first suspends.
Taking that first step by hand (`coroutine.send(None)`) tells the caller
whether it finished without ever suspending, before paying for what only a
coroutine that waits needs: a task for the rest of a claimed batch
(engine/batches.py), a write timeout's timer (store/database.py).
`finish` then drives a suspended one to its end from the calling task."""

from __future__ import annotations

import contextvars
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


@types.coroutine
def finish(
    coroutine: Coroutine[Any, Any, T],
    waiting_on: Any,
    context: contextvars.Context | None = None,
) -> Generator[Any, Any, T]:
    """Drives `coroutine`, suspended on `waiting_on` after its first step,
    to its end (in `context`, if given): what `await coroutine` does from
    its second step on, values and exceptions (a cancellation) passed
    through, its result returned."""
    while True:
        try:
            sent = yield waiting_on
        except GeneratorExit:
            coroutine.close()
            raise
        except BaseException as exc:  # handed to the coroutine, as await does
            step: Callable[..., Any] = coroutine.throw
            argument: Any = exc
        else:
            step, argument = coroutine.send, sent
        try:
            waiting_on = step(argument) if context is None else context.run(step, argument)
        except StopIteration as stop:
            result: T = stop.value
            return result
