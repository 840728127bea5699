"""`decide` for fan-in and deadlines: `wait_for_children` parks the run (not
due until store/waits.py wakes it), and a run whose deadline passed or that
expired unstarted ends FAILED whatever it answered short of done."""

from __future__ import annotations

from typing import Any

import pytest

from taskloom.definitions.records import RunError
from taskloom.definitions.responses import Continue, Done, Error, Responses, WaitForChildren
from taskloom.definitions.retry import Retry
from taskloom.server.engine.lifecycle import FAILED, PAUSED, PENDING, RunPosition, decide
from taskloom.server.store.transitions import WAITING_RUN_AT

NOW = 1_700_000_000.0
DEADLINE = RunError("the run passed its deadline of 5 s", "DEADLINE")


def position(**changes: Any) -> RunPosition:
    values: dict[str, Any] = {
        "iterations": 2,
        "attempt": 0,
        "state": {"saved": True},
        "max_iterations": 10,
        "retry": Retry(attempts=5),
    }
    values.update(changes)
    return RunPosition(**values)


def test_waiting_for_children_parks_the_run_with_its_state() -> None:
    t = decide(position(), WaitForChildren(state={"fanned": True}), NOW)
    assert (t.status, t.waiting, t.run_at) == (PENDING, "CHILDREN", WAITING_RUN_AT)
    assert t.state == {"fanned": True}
    assert t.iterations == 3, "the iteration that answered counts; the wait does not"
    assert not t.finished and not t.new_attempt


def test_waiting_without_state_keeps_the_runs() -> None:
    t = decide(position(), WaitForChildren(), NOW)
    assert t.state == {"saved": True}


def test_a_pause_asked_while_it_starts_to_wait_keeps_the_wait() -> None:
    t = decide(position(pause_requested=True), WaitForChildren(), NOW)
    assert (t.status, t.waiting, t.run_at) == (PAUSED, "CHILDREN", WAITING_RUN_AT)
    assert t.clear_request


def test_waiting_counts_against_max_iterations() -> None:
    t = decide(position(iterations=9), WaitForChildren(), NOW)
    assert t.status == FAILED
    assert t.error is not None and t.error.code == "MAX_ITERATIONS"


def test_a_continue_does_not_wait() -> None:
    t = decide(position(), Continue(delay=5), NOW)
    assert (t.waiting, t.run_at) == (None, NOW + 5)


def test_past_the_deadline_any_answer_short_of_done_fails_without_retry() -> None:
    for response in (Continue(), WaitForChildren(), Error("boom", "E")):
        t = decide(position(ending=DEADLINE), response, NOW)
        assert (t.status, t.error) == (FAILED, DEADLINE)
        assert t.finished and not t.new_attempt
        assert t.hook == "on_error"
        assert t.iterations == 3


def test_done_before_the_deadline_noticed_still_succeeds() -> None:
    t = decide(position(ending=DEADLINE), Done(output=1), NOW)
    assert t.output == 1 and t.error is None


def test_a_run_ended_before_it_ran_counts_no_iteration() -> None:
    expired = RunError("expired before it started", "EXPIRED")
    t = decide(position(iterations=0, ending=expired, ran=False), Error("x", "EXPIRED"), NOW)
    assert (t.status, t.error, t.iterations) == (FAILED, expired, 0)


def test_wait_for_children_takes_a_dict_state_only() -> None:
    responses = Responses()
    assert responses.wait_for_children() == WaitForChildren()
    with pytest.raises(TypeError, match="takes a dict"):
        responses.wait_for_children(state=[1])  # type: ignore[arg-type]
