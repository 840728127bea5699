"""The remote client's operations against the committed contract: every
document `Client` may send validates against `schema.graphql`, and its
answers' errors become the service's exceptions."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from taskloom.definitions import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TaskloomError,
    Unauthenticated,
    WaitTimeout,
)
from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.server.remote.client import Client, due
from taskloom.server.remote.decode import log_filter, run_filter
from taskloom.server.remote.operations import OPERATIONS
from taskloom.server.remote.transport import endpoints, raised

CONTRACT = build_schema((Path(__file__).resolve().parents[2] / "schema.graphql").read_text())


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_operation_validates_against_the_committed_schema(name: str) -> None:
    assert validate(CONTRACT, parse(OPERATIONS[name])) == []


def test_every_client_call_has_its_operation() -> None:
    sent = {"trigger", "trigger_many", "get", "list_runs", "count_runs", "logs", "history"}
    sent |= {"dependencies"}
    sent |= {"abort", "pause", "resume", "retry", "set_priority", "abort_many", "retry_many"}
    sent |= {"watch", "follow_logs", "definitions", "pause_definition", "resume_definition"}
    sent |= {"schedules", "create_schedule", "delete_schedule"}
    assert set(OPERATIONS) == sent
    assert all(callable(getattr(Client, name, None)) for name in sent)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("NOT_FOUND", NotFound),
        ("CONFLICT", Conflict),
        ("FORBIDDEN", Forbidden),
        ("UNAUTHENTICATED", Unauthenticated),
        ("TIMEOUT", WaitTimeout),
        ("INTERNAL_SERVER_ERROR", TaskloomError),
    ],
)
def test_error_codes_become_the_services_exceptions(code: str, kind: type[Exception]) -> None:
    error = raised({"message": "no", "extensions": {"code": code}})
    assert type(error) is kind and error.message == "no" and error.code == code


def test_bad_user_input_keeps_its_field_errors() -> None:
    items = [{"loc": ["text"], "message": "required", "index": 2}]
    error = raised({"message": "bad", "extensions": {"code": "BAD_USER_INPUT", "errors": items}})
    assert isinstance(error, InvalidInput) and error.errors == items


def test_filters_become_the_schemas_inputs() -> None:
    where = RunFilter(definition_id="d", statuses=("FAILED",), created_after=0.5, created_by="a")
    assert run_filter(where) == {
        "definitionId": "d",
        "status": ["FAILED"],
        "createdAfter": "1970-01-01T00:00:00.500000+00:00",
        "createdBy": "a",
    }
    assert run_filter(None) == {}
    assert log_filter(LogFilter(levels=("ERROR",), period="2h")) == {
        "levels": ["ERROR"],
        "period": "2h",
    }
    with pytest.raises(InvalidInput):
        log_filter(LogFilter(created_by="a"))


def test_delays_in_whole_seconds_or_as_a_time() -> None:
    assert due(None, None) == {"delaySeconds": None, "runAt": None}
    assert due(30.0, None) == {"delaySeconds": 30, "runAt": None}
    assert due(-0.5, None)["delaySeconds"] == -1  # refused by the server, as in process
    fractional = due(1.5, None)
    assert fractional["delaySeconds"] is None and fractional["runAt"] is not None


def test_endpoints() -> None:
    assert endpoints("http://h:8000") == ("http://h:8000/graphql", "ws://h:8000/graphql")
    assert endpoints("https://h/graphql/") == ("https://h/graphql", "wss://h/graphql")
    with pytest.raises(ValueError, match="http"):
        endpoints("h:8000")
