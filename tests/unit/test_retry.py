"""Retry arithmetic: how many retries, and how long each waits."""

from __future__ import annotations

import pytest

from taskloom.definitions.retry import NO_RETRY, Retry


def test_no_retry_by_default() -> None:
    assert NO_RETRY.attempts == 0
    assert not NO_RETRY.allows(0)


def test_attempts_counts_retries_after_the_first_try() -> None:
    retry = Retry(attempts=2, wait_seconds=1)
    # attempt 0 (first try) and 1 (first retry) may be followed by another;
    # attempt 2 (second retry) was the last of three tries.
    assert [retry.allows(a) for a in range(4)] == [True, True, False, False]


def test_minus_one_retries_forever() -> None:
    retry = Retry(attempts=-1, wait_seconds=0.1)
    assert all(retry.allows(a) for a in (0, 1, 10, 10_000))


@pytest.mark.parametrize(
    ("wait", "multiplier", "expected"),
    [
        (5, 1, [5, 10, 15]),  # the README's example
        (2, 0, [2, 2, 2]),  # constant wait
        (1, 0.5, [1, 1.5, 2]),
        (0, 3, [0, 0, 0]),
    ],
)
def test_wait_is_wait_seconds_times_one_plus_multiplier_times_attempt(
    wait: float, multiplier: float, expected: list[float]
) -> None:
    retry = Retry(attempts=3, wait_seconds=wait, multiplier=multiplier)
    assert [retry.wait_after(a) for a in range(3)] == pytest.approx(expected)


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": -2}, {"wait_seconds": -1}, {"multiplier": -0.5}],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Retry(**kwargs)  # type: ignore[arg-type]
