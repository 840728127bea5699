"""Progress and status messages persisted while a long iteration runs.

`controller.progress()` and `controller.status()` only change memory; the
outcome of the iteration saves the last values. For iterations that run
long, the worker's control loop calls `ProgressFlusher.collect` every
`progress_interval` seconds and writes only the runs whose values changed
since the last flush, all in one statement: many calls, one write per
interval at most."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskloom.definitions.controller import TaskController


class ProgressFlusher:
    def __init__(self) -> None:
        self._flushed: dict[str, int] = {}

    def collect(self, live: Mapping[str, TaskController[Any]]) -> list[dict[str, Any]]:
        """The parameters of the runs whose progress or status changed."""
        rows: list[dict[str, Any]] = []
        for run_id, controller in list(live.items()):
            changes = controller.changes
            if changes == 0 or self._flushed.get(run_id) == changes:
                continue
            self._flushed[run_id] = changes
            progress = controller.progress_value
            rows.append(
                {
                    "b_id": run_id,
                    "b_current": progress.current if progress else None,
                    "b_progress_set": progress is not None,
                    "b_total": progress.total if progress else None,
                    "b_units": progress.units if progress else None,
                    "b_message": controller.status_message,
                }
            )
        for run_id in [r for r in self._flushed if r not in live]:
            del self._flushed[run_id]
        return rows
