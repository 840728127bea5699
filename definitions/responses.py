"""What one call of `run()` answers: done, continue, wait for the children,
error or aborted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Done:
    output: Any = None
    message: str | None = None


@dataclass(frozen=True)
class Continue:
    state: dict[str, Any] | None = None
    delay: float | datetime | None = None


@dataclass(frozen=True)
class WaitForChildren:
    """Continue once every child run has ended, holding no worker slot and
    using no iteration meanwhile (fan-in)."""

    state: dict[str, Any] | None = None


@dataclass(frozen=True)
class Error:
    """A failed iteration. `retry=False`: the run fails at once, whatever
    its `Retry` policy allows. `exception`: the type of the exception that
    ended the iteration, if one did (for `Retry(give_up_on=...)`)."""

    message: str
    code: str | None = None
    data: Any = None
    retry: bool = True
    exception: type[BaseException] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Aborted:
    message: str | None = None


Response = Done | Continue | WaitForChildren | Error | Aborted
_RESPONSE_TYPES = (Done, Continue, WaitForChildren, Error, Aborted)


class Responses:
    """`controller.response`: builds the answer of an iteration."""

    def done(self, output: Any = None, message: str | None = None) -> Done:
        return Done(output=output, message=message)

    def continue_(
        self, state: dict[str, Any] | None = None, delay: float | datetime | None = None
    ) -> Continue:
        if state is not None and not isinstance(state, dict):
            raise TypeError("continue_(state=...) takes a dict")
        if isinstance(delay, int | float) and delay < 0:
            raise ValueError("continue_(delay=...) must not be negative")
        return Continue(state=state, delay=delay)

    def wait_for_children(self, state: dict[str, Any] | None = None) -> WaitForChildren:
        """The run waits until every child it triggered has ended, then its
        next iteration reads their outcomes (`await controller.children()`).
        `state`, as in `continue_`, is what that iteration starts from."""
        if state is not None and not isinstance(state, dict):
            raise TypeError("wait_for_children(state=...) takes a dict")
        return WaitForChildren(state=state)

    def error(
        self, message: str, code: str | None = None, data: Any = None, *, retry: bool = True
    ) -> Error:
        """A failure; `retry=False` makes it final (no retry, whatever the
        definition's `Retry` allows)."""
        return Error(message=message, code=code, data=data, retry=retry)

    def aborted(self, message: str | None = None) -> Aborted:
        return Aborted(message=message)


def as_response(value: Any) -> Response:
    """A plain return value means done with that value as output."""
    if isinstance(value, _RESPONSE_TYPES):
        return value
    return Done(output=value)
