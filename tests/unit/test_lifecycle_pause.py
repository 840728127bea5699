"""`decide` with a pause request: honoured only where the run would wait."""

from __future__ import annotations

from taskloom.definitions import Retry
from taskloom.definitions.responses import Aborted, Continue, Done, Error
from taskloom.server.engine.lifecycle import RunPosition, decide

NOW = 1_000.0


def position(**changes: object) -> RunPosition:
    base: dict[str, object] = {
        "iterations": 2,
        "attempt": 0,
        "state": {"cursor": 1},
        "max_iterations": 10,
        "retry": Retry(attempts=1, wait_seconds=5),
        "pause_requested": True,
    }
    base.update(changes)
    return RunPosition(**base)  # type: ignore[arg-type]


def test_continue_becomes_paused_with_the_new_state_saved() -> None:
    t = decide(position(), Continue(state={"cursor": 2}, delay=60), NOW)
    assert (t.status, t.state, t.iterations, t.run_at) == ("PAUSED", {"cursor": 2}, 3, NOW)
    assert t.clear_request and not t.finished and t.hook is None


def test_a_retry_becomes_paused_as_the_next_attempt() -> None:
    t = decide(position(), Error("boom"), NOW)
    assert (t.status, t.attempt, t.new_attempt, t.record_attempt) == ("PAUSED", 1, True, True)
    assert t.clear_request and t.state == {"cursor": 1}


def test_endings_win_over_a_pause() -> None:
    assert decide(position(), Done(output=1), NOW).status == "SUCCEEDED"
    assert decide(position(attempt=1), Error("boom"), NOW).status == "FAILED"
    assert decide(position(), Aborted(), NOW).status == "ABORTED"
    assert decide(position(abort_requested=True), Continue(), NOW).status == "ABORTED"
    limit = decide(position(iterations=9), Continue(), NOW)
    assert (limit.status, limit.error and limit.error.code) == ("FAILED", "MAX_ITERATIONS")


def test_without_a_request_nothing_pauses() -> None:
    assert decide(position(pause_requested=False), Continue(), NOW).status == "PENDING"
