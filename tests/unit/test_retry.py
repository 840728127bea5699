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


def test_exponential_backoff_multiplies_by_factor_up_to_max_wait() -> None:
    retry = Retry.exponential(attempts=6, wait_seconds=1, factor=3, max_wait=20)
    assert retry.backoff == "exponential"
    assert [retry.wait_after(a) for a in range(5)] == pytest.approx([1, 3, 9, 20, 20])


def test_max_wait_caps_the_linear_formula_too() -> None:
    retry = Retry(attempts=5, wait_seconds=5, multiplier=1, max_wait=12)
    assert [retry.wait_after(a) for a in range(4)] == pytest.approx([5, 10, 12, 12])


def test_exponential_without_max_wait_stops_at_a_day_even_past_float_range() -> None:
    retry = Retry.exponential(attempts=-1, wait_seconds=1)
    assert retry.wait_after(20) == 86_400
    assert retry.wait_after(5_000) == 86_400


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 2.0), (0.5, 5.0), (1.0, 8.0)])
def test_jitter_draws_within_the_lower_fraction_of_the_wait(draw: float, expected: float) -> None:
    retry = Retry.exponential(attempts=3, wait_seconds=2, jitter=0.75)
    # attempt 2: 2 * 2**2 = 8, drawn from [8 * 0.25, 8].
    assert retry.wait_after(2, draw) == pytest.approx(expected)


def test_full_jitter_may_retry_at_once() -> None:
    assert Retry(attempts=1, wait_seconds=4, jitter=1).wait_after(0, 0.0) == 0


class Permanent(Exception):
    pass


class Specific(Permanent):
    pass


def test_give_up_on_matches_codes_and_exception_types_with_subclasses() -> None:
    retry = Retry(attempts=3, give_up_on=["BAD_REQUEST", Permanent])
    assert retry.gives_up_on("BAD_REQUEST", None)
    assert retry.gives_up_on("Specific", Specific)
    assert not retry.gives_up_on("ConnectionError", ConnectionError)
    assert not retry.gives_up_on(None, None)
    assert retry.give_up_on == ("BAD_REQUEST", Permanent)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backoff": "quadratic"},
        {"factor": 0.5},
        {"max_wait": -1},
        {"jitter": 1.5},
        {"give_up_on": [42]},
        {"give_up_on": [int]},
    ],
)
def test_invalid_new_options_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Retry(attempts=1, **kwargs)  # type: ignore[arg-type]
