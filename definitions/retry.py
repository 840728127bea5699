"""Retry policy: how many retries follow a failure and how long each waits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Retry:
    """`attempts` counts retries after the first try; -1 retries forever.

    The wait before retry number `attempt + 1` is
    `wait_seconds * (1 + multiplier * attempt)`, where `attempt` is the
    attempt that just failed (0 for the first try).
    """

    attempts: int = 0
    wait_seconds: float = 0.0
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        if self.attempts < -1:
            raise ValueError("Retry.attempts must be -1 (forever) or >= 0")
        if self.wait_seconds < 0 or self.multiplier < 0:
            raise ValueError("Retry.wait_seconds and multiplier must be >= 0")

    def allows(self, failed_attempt: int) -> bool:
        """True when the attempt that just failed may be followed by another."""
        return self.attempts == -1 or failed_attempt < self.attempts

    def wait_after(self, failed_attempt: int) -> float:
        return self.wait_seconds * (1 + self.multiplier * failed_attempt)


NO_RETRY = Retry()
