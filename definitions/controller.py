"""The controller handed to every call of `run()`."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from taskloom.definitions.logger import RunLogger
from taskloom.definitions.records import ChildRequest, Progress, RunInfo
from taskloom.definitions.responses import Responses
from taskloom.definitions.runtime import Runtime
from taskloom.definitions.text_limits import (
    NAME_CHARS,
    STATUS_MESSAGE_CHARS,
    UNITS_CHARS,
    clip,
    clip_optional,
)

InputT = TypeVar("InputT", bound=BaseModel)

# Validates a child's input for a definition id (or class); returns the dump.
ChildValidator = Callable[[Any, Any], tuple[str, dict[str, Any]]]
ChildLister = Callable[[], Awaitable[list[Any]]]

_current: ContextVar[TaskController[Any] | None] = ContextVar("taskloom_run", default=None)


def current_run() -> TaskController[Any]:
    """The controller of the iteration running in this context."""
    controller = _current.get()
    if controller is None:
        raise LookupError("current_run() is only available inside a task iteration")
    return controller


_RAND_BITS = (1 << 76) - 1
_VERSION_7 = 0x7 << 76
_VARIANT_CLEAR = ~(0xC << 60)
_VARIANT_RFC = 0x8 << 60


# The random part of ids: seeded from os.urandom, reseeded in every forked
# child so that processes never share a sequence; getrandbits costs well
# under a microsecond where os.urandom is a system call.
_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


def new_id() -> str:
    """A time-ordered id (UUIDv7 layout) so ids sort by creation; the same
    text as `str(uuid.UUID(...))`, formatted directly (triggers make many)."""
    ms = time.time_ns() // 1_000_000
    rand = _random.getrandbits(76)
    value = (ms << 80) | _VERSION_7 | (rand & _RAND_BITS)
    h = f"{(value & _VARIANT_CLEAR) | _VARIANT_RFC:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class TaskController(Generic[InputT]):
    """What an iteration sees: input, saved state, the run, logging, progress,
    responses, the runtime, and child runs."""

    response = Responses()

    def __init__(
        self,
        *,
        input: InputT | Callable[[], InputT],
        state: dict[str, Any],
        run: RunInfo | Callable[[], RunInfo],
        runtime: Runtime,
        validate_child: ChildValidator | None = None,
        list_children: ChildLister | None = None,
    ) -> None:
        # The engine passes factories where building the value cannot fail
        # and most iterations never look at it (an empty input, the run).
        self._input = input
        self.state = state
        self._run = run
        self.runtime = runtime
        self.log = RunLogger()
        self.progress_value: Progress | None = None
        self.status_message: str | None = None
        # Bumped by progress() and status(): the worker flushes a changed
        # value during long iterations without one write per call.
        self.changes = 0
        # Standard `logging` records at or above this level (set by the engine
        # from the definition's `log_capture_level`) land in the run's logs.
        self.capture_level: int | None = None
        # The definition's module (set by the engine): the frames of a
        # captured record's exception that non-admins are shown.
        self.task_module: str | None = None
        self.children_requested: list[ChildRequest] = []
        self._validate_child = validate_child
        self._list_children = list_children

    @property
    def input(self) -> InputT:
        """The run's input, validated into the definition's input model."""
        value = self._input
        if not isinstance(value, BaseModel):
            value = self._input = value()
        return value

    @input.setter
    def input(self, value: InputT) -> None:
        self._input = value

    @property
    def run(self) -> RunInfo:
        """Who this run is: its id, definition, iteration, attempt, parent."""
        run = self._run
        if not isinstance(run, RunInfo):
            run = self._run = run()
        return run

    def progress(
        self, current: float, total: float | None = None, units: str | None = None
    ) -> None:
        """Records how far the run is; saved with the iteration, not per call."""
        units = clip_optional(units, UNITS_CHARS)
        self.progress_value = Progress(current=current, total=total, units=units)
        self.changes += 1

    def status(self, message: str | None) -> None:
        """A short human line about what the run is doing now."""
        self.status_message = None if message is None else clip(str(message), STATUS_MESSAGE_CHARS)
        self.changes += 1

    def trigger(
        self,
        definition: Any,
        input: Any = None,
        *,
        name: str | None = None,
        priority: int = 0,
        delay: float | datetime | None = None,
    ) -> str:
        """Asks for a child run; it is written with this iteration's outcome,
        so a re-run iteration never duplicates children. Returns its id."""
        if self._validate_child is None:
            raise RuntimeError("this controller cannot trigger child runs")
        definition_id, data = self._validate_child(definition, input)
        child = ChildRequest(
            id=new_id(),
            definition_id=definition_id,
            input=data,
            name=clip_optional(name, NAME_CHARS),
            priority=priority,
            delay=delay,
        )
        self.children_requested.append(child)
        return child.id

    async def children(self) -> list[Any]:
        """The child runs already saved for this run."""
        if self._list_children is None:
            return []
        return await self._list_children()

    def activate(self) -> Any:
        """Makes this controller `current_run()`; returns a reset token."""
        return _current.set(self)

    @staticmethod
    def deactivate(token: Any) -> None:
        _current.reset(token)
