"""Retry policy: how many retries follow a failure, how long each waits, and
which failures are not worth retrying."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Backoff = Literal["linear", "exponential"]
EXPONENTIAL_CEILING = 86_400.0


@dataclass(frozen=True)
class Retry:
    """`attempts` counts retries after the first try; -1 retries forever.

    The wait before retry number `attempt + 1`, where `attempt` is the
    attempt that just failed (0 for the first try):

    * `backoff="linear"` (the default): `wait_seconds * (1 + multiplier * attempt)`;
    * `backoff="exponential"`: `wait_seconds * factor ** attempt`;

    then at most `max_wait` (None: no cap, except that an exponential wait
    never exceeds a day, `EXPONENTIAL_CEILING`). `jitter` (0 to 1) draws the
    wait at random from `[wait * (1 - jitter), wait]`: 1 is "full jitter",
    so that runs failing together do not retry together.

    `give_up_on` lists error codes (strings) and exception types: a failure
    with one of those codes, or an exception of one of those types (or a
    subclass), fails the run at once, whatever `attempts` allows.
    """

    attempts: int = 0
    wait_seconds: float = 0.0
    multiplier: float = 1.0
    backoff: Backoff = "linear"
    factor: float = 2.0
    max_wait: float | None = None
    jitter: float = 0.0
    give_up_on: Sequence[str | type[BaseException]] = field(default=())

    def __post_init__(self) -> None:
        if self.attempts < -1:
            raise ValueError("Retry.attempts must be -1 (forever) or >= 0")
        if self.wait_seconds < 0 or self.multiplier < 0:
            raise ValueError("Retry.wait_seconds and multiplier must be >= 0")
        if self.backoff not in ("linear", "exponential"):
            raise ValueError('Retry.backoff must be "linear" or "exponential"')
        if self.factor < 1:
            raise ValueError("Retry.factor must be >= 1")
        if self.max_wait is not None and self.max_wait < 0:
            raise ValueError("Retry.max_wait must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ValueError("Retry.jitter must be between 0 and 1")
        for reason in self.give_up_on:
            if not isinstance(reason, str) and not (
                isinstance(reason, type) and issubclass(reason, BaseException)
            ):
                raise ValueError(
                    f"Retry.give_up_on takes codes and exception types, not {reason!r}"
                )
        # A tuple: the policy stays hashable and immutable.
        object.__setattr__(self, "give_up_on", tuple(self.give_up_on))

    @classmethod
    def exponential(
        cls,
        attempts: int,
        wait_seconds: float,
        *,
        factor: float = 2.0,
        max_wait: float | None = None,
        jitter: float = 0.0,
        give_up_on: Sequence[str | type[BaseException]] = (),
    ) -> Retry:
        """`Retry(backoff="exponential", ...)`: waits `wait_seconds`,
        `wait_seconds * factor`, `wait_seconds * factor**2`, ..."""
        return cls(
            attempts,
            wait_seconds,
            backoff="exponential",
            factor=factor,
            max_wait=max_wait,
            jitter=jitter,
            give_up_on=give_up_on,
        )

    def allows(self, failed_attempt: int) -> bool:
        """True when the attempt that just failed may be followed by another."""
        return self.attempts == -1 or failed_attempt < self.attempts

    def gives_up_on(self, code: str | None, exception: type[BaseException] | None) -> bool:
        """True when a failure with this code (or raised as this exception
        type) is not to be retried."""
        for reason in self.give_up_on:
            if isinstance(reason, str):
                if reason == code:
                    return True
            elif exception is not None and issubclass(exception, reason):
                return True
        return False

    def wait_after(self, failed_attempt: int, draw: float = 1.0) -> float:
        """The wait before the next attempt; `draw` (0 to 1, a random number
        when `jitter` is set) picks it within the jitter's range."""
        if self.backoff == "exponential":
            try:
                wait = self.wait_seconds * self.factor**failed_attempt
            except OverflowError:
                wait = EXPONENTIAL_CEILING
            if self.max_wait is None:
                wait = min(wait, EXPONENTIAL_CEILING)
        else:
            wait = self.wait_seconds * (1 + self.multiplier * failed_attempt)
        if self.max_wait is not None:
            wait = min(wait, self.max_wait)
        if self.jitter:
            wait -= wait * self.jitter * (1 - draw)
        return wait


NO_RETRY = Retry()
