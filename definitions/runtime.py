"""`controller.runtime`: the iteration's time budget and pending requests."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class Runtime:
    """Answers the questions a long iteration asks between units of work.

    `clock` is monotonic seconds; tests inject their own.
    """

    def __init__(
        self,
        timeout: float,
        *,
        clock: Clock = time.monotonic,
        simulate: bool = False,
        aborted: bool = False,
        pause_requested: bool = False,
    ) -> None:
        self._clock = clock
        self._timeout = timeout
        self._deadline = clock() + timeout
        self._aborted = aborted
        self._pause_requested = pause_requested
        self.simulate = simulate
        self._abort_listeners: list[Callable[[], None]] = []
        self._pause_listeners: list[Callable[[], None]] = []

    @property
    def default_margin(self) -> float:
        """What "close" means when no margin is given: a tenth of the budget."""
        return self._timeout * 0.1

    def remaining_seconds(self) -> float:
        return max(0.0, self._deadline - self._clock())

    def is_close_to_timeout(self, seconds: float | None = None) -> bool:
        margin = self.default_margin if seconds is None else seconds
        return self.remaining_seconds() <= margin

    def is_aborted(self) -> bool:
        return self._aborted

    def is_pause_requested(self) -> bool:
        return self._pause_requested

    # Set by the engine when a request arrives while the iteration runs.
    def request_abort(self) -> None:
        self._aborted = True
        for listener in tuple(self._abort_listeners):
            listener()

    def on_abort(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Calls `listener` when an abort request arrives (the engine uses it
        for `abort_mode = "cancel"`); returns a function that removes it."""
        return _listen(self._abort_listeners, listener)

    def request_pause(self) -> None:
        self._pause_requested = True
        for listener in tuple(self._pause_listeners):
            listener()

    def on_pause(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Calls `listener` when a pause request arrives (the engine uses it
        for `pause_mode = "cancel"`); returns a function that removes it."""
        return _listen(self._pause_listeners, listener)


def _listen(
    listeners: list[Callable[[], None]], listener: Callable[[], None]
) -> Callable[[], None]:
    listeners.append(listener)

    def remove() -> None:
        if listener in listeners:
            listeners.remove(listener)

    return remove
