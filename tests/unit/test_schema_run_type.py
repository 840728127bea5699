"""`TaskRun.of` copies a view's stored fields in one step and computes the
derived ones on demand: every field the schema declares without a resolver
reads as the view says, for runs in every kind of state, from views built
whole or deferred."""

from __future__ import annotations

from typing import Any

import pytest

from taskloom.definitions.run_view import RunView
from taskloom.schema.types.run import TaskProgress, TaskRun, TaskRunError
from taskloom.server.store.new_runs import new_run_row

NOW = 1_700_000_000.25

STATES: dict[str, dict[str, Any]] = {
    "pending": {},
    "running with progress": {
        "status": "RUNNING",
        "started_at": NOW + 1,
        "worker_id": "w1",
        "progress_current": 3.0,
        "progress_total": 10.0,
        "progress_units": "files",
        "requested": "PAUSE",
    },
    "failed": {
        "status": "FAILED",
        "started_at": NOW + 1,
        "finished_at": NOW + 2.5,
        "error_message": "boom",
        "error_code": "E",
        "error_data": {"x": 1},
        "has_errors": True,
    },
    "succeeded child": {
        "status": "SUCCEEDED",
        "started_at": NOW,
        "finished_at": NOW + 0.01,
        "output": {"n": 2},
        "parent_id": "p1",
        "created_by": "ops",
        "name": "nightly",
    },
}


def _plain_fields() -> list[str]:
    definition = TaskRun.__strawberry_definition__  # type: ignore[attr-defined]
    return [f.python_name for f in definition.fields if f.base_resolver is None]


@pytest.mark.parametrize("make", [RunView.from_row, RunView.deferred], ids=["eager", "deferred"])
@pytest.mark.parametrize("changes", STATES.values(), ids=STATES.keys())
def test_every_plain_field_reads_as_the_view_says(changes: dict[str, Any], make: Any) -> None:
    row = new_run_row(definition_id="d", input={"a": 1}, now=NOW, run_at=NOW)
    row.update(changes)
    view = make(row, pausable=False)
    run = TaskRun.of(view)
    for name in _plain_fields():
        value = getattr(run, name)
        if name == "error":
            assert value == (
                None
                if view.error is None
                else TaskRunError(
                    message=view.error.message, code=view.error.code, data=view.error.data
                )
            )
        elif name == "progress":
            expected = view.progress
            assert (value is None) == (expected is None)
            if expected is not None:
                assert isinstance(value, TaskProgress)
                assert (value.current, value.total, value.percent, value.display) == (
                    expected.current,
                    expected.total,
                    expected.percent,
                    expected.display,
                )
        elif name == "duration_ms" and view.finished_at is None and view.started_at is not None:
            assert value >= (view.duration_ms or 0) - 1  # runs on, read an instant apart
        else:
            assert value == getattr(view, name), name


def test_an_unknown_attribute_is_still_an_attribute_error() -> None:
    run = TaskRun.of(
        RunView.from_row(new_run_row(definition_id="d", input={}, now=NOW, run_at=NOW))
    )
    with pytest.raises(AttributeError, match="no_such_field"):
        run.no_such_field  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(run, "__await__")
    assert not hasattr(run, "from_row")  # the view's methods are not fields
