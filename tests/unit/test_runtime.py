"""The time budget and pending requests, with an injected clock."""

from __future__ import annotations

import pytest

from taskloom.definitions.runtime import Runtime


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_remaining_seconds_follow_the_clock() -> None:
    clock = FakeClock()
    runtime = Runtime(10, clock=clock)
    assert runtime.remaining_seconds() == pytest.approx(10)
    clock.advance(3.5)
    assert runtime.remaining_seconds() == pytest.approx(6.5)
    clock.advance(100)
    assert runtime.remaining_seconds() == 0.0


def test_close_to_timeout_by_default_means_the_last_tenth() -> None:
    clock = FakeClock()
    runtime = Runtime(20, clock=clock)
    assert runtime.default_margin == pytest.approx(2)
    clock.advance(17.9)
    assert not runtime.is_close_to_timeout()
    clock.advance(0.1)  # exactly 2 s left
    assert runtime.is_close_to_timeout()
    clock.advance(5)
    assert runtime.is_close_to_timeout()


def test_close_to_timeout_with_an_explicit_margin() -> None:
    clock = FakeClock()
    runtime = Runtime(10, clock=clock)
    assert not runtime.is_close_to_timeout(5)
    clock.advance(4.9)
    assert not runtime.is_close_to_timeout(5)
    clock.advance(0.1)
    assert runtime.is_close_to_timeout(5)
    assert not runtime.is_close_to_timeout(0)
    assert runtime.is_close_to_timeout(10)


def test_the_budget_starts_when_the_runtime_is_made() -> None:
    clock = FakeClock(start=50)
    clock.advance(30)
    runtime = Runtime(1, clock=clock)
    assert runtime.remaining_seconds() == pytest.approx(1)


def test_requests_start_as_given_and_can_arrive_later() -> None:
    runtime = Runtime(1, clock=FakeClock())
    assert not runtime.is_aborted()
    assert not runtime.is_pause_requested()
    runtime.request_pause()
    assert runtime.is_pause_requested()
    runtime.request_abort()
    assert runtime.is_aborted()
    preset = Runtime(1, clock=FakeClock(), aborted=True, pause_requested=True, simulate=True)
    assert preset.is_aborted()
    assert preset.is_pause_requested()
    assert preset.simulate
