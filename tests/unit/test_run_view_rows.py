"""`RunView.from_row` builds the same view as the dataclass's constructor,
with every field set, and converts equal instants once; a deferred view is
the same view, converted field by field as it is read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from taskloom.definitions.records import RunRequest, TaskStatus, WaitReason
from taskloom.definitions.run_view import RunView, Waiting, shown_status
from taskloom.definitions.timestamps import to_datetime
from taskloom.server.store.new_runs import new_run_row


def _row(**changes: Any) -> dict[str, Any]:
    row = new_run_row(
        definition_id="d", input={"a": 1}, now=1_700_000_000.1234567, run_at=1_700_000_000.1234567
    )
    row.update(changes)
    return row


CHANGES: list[dict[str, Any]] = [
    {},
    {
        "status": "SUCCEEDED",
        "started_at": 1_700_000_001.5,
        "finished_at": 1_700_000_002.25,
        "updated_at": 1_700_000_002.25,
    },
    {
        "status": "FAILED",
        "error_message": "boom",
        "error_code": "E",
        "error_data": {"x": 1},
        "requested": "ABORT",
    },
    {
        "progress_current": 3.0,
        "progress_total": 10.0,
        "progress_units": "steps",
        "has_errors": 1,
        "simulate": 1,
    },
    {"input": None, "state": None, "run_at": 1_700_000_100.0},
    # started, stored PENDING between iterations: reads RUNNING, waiting
    {"started_at": 1_700_000_001.5, "run_at": 1_700_000_100.0, "iterations": 1},
]


@pytest.mark.parametrize("changes", CHANGES, ids=range(len(CHANGES)))
def test_from_row_equals_the_constructor(changes: dict[str, Any]) -> None:
    row = _row(**changes)
    view = RunView.from_row(row, pausable=False)
    rebuilt = RunView(**{f.name: getattr(view, f.name) for f in dataclasses.fields(RunView)})
    assert view == rebuilt
    assert set(vars(view)) == {f.name for f in dataclasses.fields(RunView)}
    assert view.pausable is False
    assert view.status is shown_status(row["status"], row["started_at"])
    assert view.requested == (RunRequest(row["requested"]) if row["requested"] else None)
    for name in ("created_at", "run_at", "scheduled_at", "started_at", "finished_at", "updated_at"):
        assert getattr(view, name) == to_datetime(row[name])
    assert view.input == (row["input"] or {}) and view.state == (row["state"] or {})
    assert isinstance(view.has_errors, bool) and isinstance(view.simulate, bool)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = TaskStatus.PENDING  # type: ignore[misc]


def test_times_are_truncated_to_the_microsecond() -> None:
    view = RunView.from_row(_row())
    assert view.created_at == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert view.created_at == view.run_at == view.scheduled_at


@pytest.mark.parametrize("changes", CHANGES, ids=range(len(CHANGES)))
def test_a_deferred_view_converts_each_field_as_it_is_read(changes: dict[str, Any]) -> None:
    row = _row(**changes)
    view = RunView.deferred(row, pausable=False)
    assert "status" not in vars(view) and "created_at" not in vars(view)
    assert view.status is shown_status(row["status"], row["started_at"])
    assert "status" in vars(view) and "created_at" not in vars(view)
    assert view == RunView.from_row(row, pausable=False)
    assert view.pausable is False
    with pytest.raises(AttributeError):
        view.no_such_field  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = TaskStatus.PENDING  # type: ignore[misc]


def test_a_started_run_between_iterations_reads_running_and_waiting() -> None:
    row = _row(started_at=1_700_000_001.5, run_at=1_700_000_100.0, iterations=1)
    view = RunView.from_row(row)
    assert view.status is TaskStatus.RUNNING and view.can_pause and not view.can_resume
    assert view.waiting == Waiting(to_datetime(1_700_000_100.0), WaitReason.TIME)
    never_started = RunView.from_row(_row())
    assert never_started.status is TaskStatus.PENDING and never_started.waiting is None
    executing = RunView.from_row(_row(status="RUNNING", started_at=1_700_000_001.5))
    assert executing.status is TaskStatus.RUNNING and executing.waiting is None
    paused = RunView.from_row(_row(status="PAUSED", started_at=1_700_000_001.5))
    assert paused.status is TaskStatus.PAUSED and paused.waiting is None
