"""schema/errors.py: each Taskloom exception maps to its extensions.code in
one place; anything else is hidden behind an error id."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError

from taskloom.definitions.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    StoreError,
    TaskloomError,
    Unauthenticated,
    WaitTimeout,
)
from taskloom.schema.errors import classify


def located(original: Exception | None, path: list[str | int] | None = None) -> GraphQLError:
    return GraphQLError(str(original or "syntax"), original_error=original, path=path)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (NotFound("no run"), "NOT_FOUND"),
        (Conflict("already ended"), "CONFLICT"),
        (Forbidden("not yours"), "FORBIDDEN"),
        (Unauthenticated("who are you"), "UNAUTHENTICATED"),
        (WaitTimeout("too slow"), "TIMEOUT"),
    ],
)
def test_taskloom_errors_keep_their_message_and_code(exc: TaskloomError, code: str) -> None:
    error = located(exc, ["taskRun"])
    classify(error)
    assert error.extensions == {"code": code}
    assert error.message == exc.message


def test_invalid_input_carries_its_field_errors() -> None:
    exc = InvalidInput("bad", errors=[{"loc": ["text"], "message": "Field required"}])
    error = located(exc, ["triggerTask"])
    classify(error)
    assert error.extensions == {
        "code": "BAD_USER_INPUT",
        "errors": [{"loc": ["text"], "message": "Field required"}],
    }


def test_request_errors_from_graphql_core_are_bad_user_input() -> None:
    error = located(None)
    classify(error)
    assert error.extensions == {"code": "BAD_USER_INPUT"}


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("/srv/app.py: SELECT secret"),
        StoreError("database is locked: INSERT INTO task_runs"),
    ],
)
def test_unexpected_errors_are_internal_with_a_logged_id(
    exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    error = located(exc, ["taskRuns"])
    with caplog.at_level(logging.ERROR, logger="taskloom.graphql"):
        classify(error)
    assert error.extensions is not None
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error.extensions["errorId"]
    assert error.message == f"Internal server error (error id {error_id})"
    assert "SELECT" not in str(error.formatted) and "/srv/" not in str(error.formatted)
    assert any(error_id in record.getMessage() for record in caplog.records)


def test_classifying_twice_changes_nothing() -> None:
    error = located(RuntimeError("boom"), ["x"])
    classify(error)
    first = dict(error.extensions or {})
    classify(error)
    assert error.extensions == first
