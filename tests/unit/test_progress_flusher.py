"""The worker flushes progress of running iterations only when it changed:
many progress() calls between two flushes make one row, none when idle."""

from __future__ import annotations

from typing import Any

from taskloom.definitions import AnyInput, RunInfo, Runtime, TaskController
from taskloom.server.engine.progress import ProgressFlusher


def controller() -> TaskController[Any]:
    return TaskController(
        input=AnyInput(), state={}, run=RunInfo(id="r", definition_id="d"), runtime=Runtime(10)
    )


def test_only_changes_are_flushed_once_each() -> None:
    flusher, live = ProgressFlusher(), {"r": controller()}
    assert flusher.collect(live) == []  # nothing reported yet
    for i in range(1, 1001):
        live["r"].progress(i, 1000, "rows")
    (row,) = flusher.collect(live)
    assert (row["b_id"], row["b_current"], row["b_total"], row["b_units"]) == (
        "r",
        1000,
        1000,
        "rows",
    )
    assert row["b_progress_set"] and row["b_message"] is None
    assert flusher.collect(live) == []  # unchanged since the last flush
    live["r"].status("almost there")
    (row,) = flusher.collect(live)
    assert row["b_message"] == "almost there" and row["b_current"] == 1000


def test_a_status_alone_leaves_progress_untouched() -> None:
    flusher, live = ProgressFlusher(), {"r": controller()}
    live["r"].status("warming up")
    (row,) = flusher.collect(live)
    assert not row["b_progress_set"] and row["b_current"] is None
    del live["r"]
    assert flusher.collect(live) == []
