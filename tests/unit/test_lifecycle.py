"""`decide`: every branch of a run's life (docs/architecture.md, section 3), no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from taskloom.definitions.records import RunError
from taskloom.definitions.responses import Aborted, Continue, Done, Error, Response
from taskloom.definitions.retry import Retry
from taskloom.server.engine.lifecycle import RunPosition, Transition, decide

NOW = 1_700_000_000.0


def position(**changes: Any) -> RunPosition:
    values: dict[str, Any] = {
        "iterations": 2,
        "attempt": 0,
        "state": {"saved": True},
        "max_iterations": 10,
        "retry": Retry(),
        "abort_requested": False,
    }
    values.update(changes)
    return RunPosition(**values)


def assert_finished(t: Transition) -> None:
    assert t.finished
    assert t.clear_request
    assert t.record_attempt
    assert not t.new_attempt
    assert t.run_at == NOW


def test_done_succeeds_with_its_output_and_calls_on_done() -> None:
    t = decide(position(), Done(output={"n": 1}), NOW)
    assert t.status == "SUCCEEDED"
    assert t.output == {"n": 1}
    assert t.error is None
    assert t.hook == "on_done"
    assert t.iterations == 3
    assert t.attempt == 0
    assert t.state == {"saved": True}
    assert_finished(t)


def test_done_wins_over_an_abort_request() -> None:
    # The iteration really finished; a late abort request does not undo it.
    t = decide(position(abort_requested=True), Done(output=1), NOW)
    assert t.status == "SUCCEEDED"
    assert t.hook == "on_done"


def test_aborted_ends_the_run_with_its_message() -> None:
    t = decide(position(), Aborted("user said stop"), NOW)
    assert t.status == "ABORTED"
    assert t.error == RunError("user said stop", "ABORTED")
    assert t.hook == "on_abort"
    assert t.iterations == 3
    assert_finished(t)


def test_aborted_without_a_message_gets_a_default_one() -> None:
    t = decide(position(), Aborted(), NOW)
    assert t.error == RunError("aborted on request", "ABORTED")


def test_an_abort_request_turns_continue_into_aborted_keeping_the_new_state() -> None:
    t = decide(position(abort_requested=True), Continue(state={"cursor": 9}), NOW)
    assert t.status == "ABORTED"
    assert t.state == {"cursor": 9}
    assert t.hook == "on_abort"
    assert_finished(t)


def test_an_abort_request_with_continue_and_no_state_keeps_the_saved_state() -> None:
    t = decide(position(abort_requested=True), Continue(), NOW)
    assert t.status == "ABORTED"
    assert t.state == {"saved": True}


def test_an_abort_request_turns_an_error_into_aborted_without_retry() -> None:
    retry = Retry(attempts=5, wait_seconds=1)
    t = decide(position(abort_requested=True, retry=retry), Error("boom"), NOW)
    assert t.status == "ABORTED"
    assert t.attempt == 0
    assert t.hook == "on_abort"


def test_continue_saves_state_and_requeues_now() -> None:
    t = decide(position(), Continue(state={"cursor": 5}), NOW)
    assert t.status == "PENDING"
    assert t.state == {"cursor": 5}
    assert t.iterations == 3
    assert t.attempt == 0
    assert t.run_at == NOW
    assert t.hook is None
    assert not t.finished
    assert not t.record_attempt
    assert not t.clear_request
    assert t.error is None


def test_continue_without_state_keeps_the_saved_state() -> None:
    t = decide(position(), Continue(), NOW)
    assert t.state == {"saved": True}


def test_continue_with_an_empty_state_replaces_the_saved_state() -> None:
    t = decide(position(), Continue(state={}), NOW)
    assert t.state == {}


def test_continue_with_a_delay_in_seconds() -> None:
    t = decide(position(), Continue(delay=2.5), NOW)
    assert t.run_at == pytest.approx(NOW + 2.5)


def test_continue_with_a_datetime() -> None:
    at = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    t = decide(position(), Continue(delay=at), NOW)
    assert t.run_at == at.timestamp()


def test_continue_below_the_limit_is_fine() -> None:
    t = decide(position(iterations=8, max_iterations=10), Continue(), NOW)
    assert t.status == "PENDING"
    assert t.iterations == 9


def test_continue_at_max_iterations_fails_and_calls_on_max_iterations() -> None:
    t = decide(position(iterations=9, max_iterations=10), Continue(state={"c": 1}), NOW)
    assert t.status == "FAILED"
    assert t.error is not None
    assert t.error.code == "MAX_ITERATIONS"
    assert "10" in t.error.message
    assert t.hook == "on_max_iterations"
    assert t.iterations == 10
    assert t.state == {"c": 1}
    assert_finished(t)


def test_done_at_max_iterations_still_succeeds() -> None:
    t = decide(position(iterations=9, max_iterations=10), Done(1), NOW)
    assert t.status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("attempt", "wait"),
    [(0, 2.0), (1, 2.0 * (1 + 0.5 * 1)), (2, 2.0 * (1 + 0.5 * 2))],
)
def test_an_error_with_retries_left_requeues_after_the_wait(attempt: int, wait: float) -> None:
    retry = Retry(attempts=3, wait_seconds=2, multiplier=0.5)
    t = decide(position(attempt=attempt, retry=retry), Error("boom", "E", {"d": 1}), NOW)
    assert t.status == "PENDING"
    assert t.attempt == attempt + 1
    assert t.run_at == pytest.approx(NOW + wait)
    assert t.error == RunError("boom", "E", {"d": 1})
    assert t.new_attempt
    assert t.record_attempt
    assert t.hook is None
    assert not t.finished
    assert t.state == {"saved": True}, "a retry keeps the state of the last continue_"


def test_an_error_without_retries_left_fails_and_calls_on_error() -> None:
    retry = Retry(attempts=2, wait_seconds=1)
    t = decide(position(attempt=2, retry=retry), Error("boom", "E"), NOW)
    assert t.status == "FAILED"
    assert t.error == RunError("boom", "E", None)
    assert t.hook == "on_error"
    assert t.attempt == 2
    assert_finished(t)


def test_an_error_with_no_retry_policy_fails_at_once() -> None:
    t = decide(position(), Error("boom"), NOW)
    assert t.status == "FAILED"
    assert t.hook == "on_error"


def test_attempts_minus_one_retries_forever() -> None:
    retry = Retry(attempts=-1, wait_seconds=0.5, multiplier=0)
    t = decide(position(attempt=999, retry=retry), Error("boom"), NOW)
    assert t.status == "PENDING"
    assert t.attempt == 1000
    assert t.run_at == pytest.approx(NOW + 0.5)


@pytest.mark.parametrize(
    "response",
    [Done(), Continue(), Error("x"), Aborted()],
)
def test_every_answer_counts_one_iteration(response: Response) -> None:
    assert decide(position(iterations=4), response, NOW).iterations == 5


def test_an_error_marked_retry_false_fails_at_once_whatever_the_policy() -> None:
    retry = Retry(attempts=5, wait_seconds=1)
    t = decide(position(retry=retry), Error("bad input", "BAD", retry=False), NOW)
    assert t.status == "FAILED"
    assert t.hook == "on_error"
    assert t.error == RunError("bad input", "BAD", None)
    assert_finished(t)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (Error("x", "PERMANENT"), False),
        (Error("x", "KeyError", exception=KeyError), False),
        (Error("x", "LookupError", exception=LookupError), False),
        (Error("x", "ValueError", exception=ValueError), True),
        (Error("x", "OTHER"), True),
    ],
)
def test_give_up_on_codes_and_exception_types(error: Error, retried: bool) -> None:
    retry = Retry(attempts=5, wait_seconds=1, give_up_on=["PERMANENT", LookupError])
    t = decide(position(retry=retry), error, NOW)
    assert t.status == ("PENDING" if retried else "FAILED")


def test_the_draw_places_a_jittered_wait() -> None:
    retry = Retry.exponential(attempts=5, wait_seconds=10, jitter=1)
    assert decide(position(attempt=1, retry=retry), Error("x"), NOW, 0.25).run_at == (
        pytest.approx(NOW + 5)
    )
