"""Responses: what `controller.response` builds and what a plain value means."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taskloom.definitions.responses import Aborted, Continue, Done, Error, Responses, as_response

response = Responses()


def test_done_carries_output_and_message() -> None:
    assert response.done() == Done(output=None, message=None)
    assert response.done({"n": 1}, "finished") == Done(output={"n": 1}, message="finished")


def test_continue_carries_state_and_delay() -> None:
    assert response.continue_() == Continue(state=None, delay=None)
    assert response.continue_(state={"cursor": 3}, delay=1.5) == Continue({"cursor": 3}, 1.5)
    at = datetime(2030, 1, 1, tzinfo=UTC)
    assert response.continue_(delay=at).delay == at


def test_continue_rejects_a_state_that_is_not_a_dict() -> None:
    with pytest.raises(TypeError, match="dict"):
        response.continue_(state=[1, 2])  # type: ignore[arg-type]


def test_continue_rejects_a_negative_delay() -> None:
    with pytest.raises(ValueError, match="negative"):
        response.continue_(delay=-1)
    assert response.continue_(delay=0).delay == 0


def test_error_carries_message_code_and_data() -> None:
    assert response.error("boom") == Error(message="boom", code=None, data=None)
    assert response.error("boom", "E42", {"x": 1}) == Error("boom", "E42", {"x": 1})


def test_aborted_carries_an_optional_message() -> None:
    assert response.aborted() == Aborted(message=None)
    assert response.aborted("stop") == Aborted(message="stop")


@pytest.mark.parametrize(
    "answer",
    [Done(1), Continue({"a": 1}), Error("x"), Aborted("y")],
)
def test_a_response_is_passed_through(answer: object) -> None:
    assert as_response(answer) is answer


@pytest.mark.parametrize("value", [None, 0, "text", [1, 2], {"k": "v"}])
def test_a_plain_value_means_done_with_that_output(value: object) -> None:
    assert as_response(value) == Done(output=value)


def test_responses_are_immutable() -> None:
    done = response.done(1)
    with pytest.raises(AttributeError):
        done.output = 2  # type: ignore[misc]
