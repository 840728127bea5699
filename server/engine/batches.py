"""A claimed batch's iterations run one after another in one asyncio task.

A task per iteration cost the worker about a sixth of its time in a drain
of no-op runs (creating, scheduling and stepping 256 tasks a claim), yet
most iterations never wait: `run()` answers at once. So a batch starts in
one task, which runs each iteration in turn. When one suspends (it awaits
I/O, a thread, a timer), the iterations after it go on in a new task and
this task stays with the one that waits: an iteration that waits always has
a task of its own, the one it started in, so its deadline, its cancellation
and `asyncio.current_task()` are what they would be with a task per
iteration. Each iteration runs in its own copy of the context, as a task of
its own would, so context variables do not leak from one run to the next.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from taskloom.server.stepping import finish

log = logging.getLogger("taskloom.worker")

T = TypeVar("T")
Start = Callable[[T], Coroutine[Any, Any, None]]


async def run_batch(
    items: Sequence[T], start: Start[T], handoff: Callable[[Sequence[T]], None]
) -> None:
    """Runs `start(item)` for each item in turn in this task; when one
    suspends, `handoff` gets the items after it and this task finishes
    that one."""
    for index, item in enumerate(items):
        context = contextvars.copy_context()
        coroutine = start(item)
        try:
            waiting_on = context.run(coroutine.send, None)
        except StopIteration:
            continue
        except Exception:  # start() reports its own failures; this is a bug
            log.exception("an iteration failed outside its error handling")
            continue
        if index + 1 < len(items):
            handoff(items[index + 1 :])
        await finish(coroutine, waiting_on, context)
        return
