"""What a reliability run left behind, counted from the database and the
ledger: lost and stuck runs, duplicated children, outcomes saved twice,
and repeated iterations, each explained by a kill or not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from taskloom.server.store.models import logs, runs
from taskloom.server.taskloom import Taskloom
from tests.reliability import ledger

FINISHED = ("SUCCEEDED", "FAILED", "ABORTED")


@dataclass
class Report:
    runs: int = 0
    lost_runs: int = 0
    stuck_runs: int = 0
    failed_runs: int = 0
    duplicated_children: int = 0
    missing_children: int = 0
    outcomes_saved_twice: int = 0
    repeated_iterations: int = 0
    unexplained_repeats: int = 0
    kills: int = 0
    details: list[str] = field(default_factory=list)

    def zeros(self) -> dict[str, int]:
        """What must be 0."""
        return {
            "lost_runs": self.lost_runs,
            "stuck_runs": self.stuck_runs,
            "failed_runs": self.failed_runs,
            "duplicated_children": self.duplicated_children,
            "missing_children": self.missing_children,
            "outcomes_saved_twice": self.outcomes_saved_twice,
            "unexplained_repeats": self.unexplained_repeats,
        }


def _counts(conn: Connection, parent_ids: list[str]) -> dict[str, Any]:
    found = {
        run_id: (status, definition)
        for run_id, status, definition in conn.execute(
            select(runs.c.id, runs.c.status, runs.c.definition_id)
        )
    }
    children = Counter(
        parent
        for (parent,) in conn.execute(select(runs.c.parent_id).where(runs.c.parent_id.is_not(None)))
    )
    saved = conn.execute(
        select(logs.c.run_id, logs.c.message, func.count())
        .where(logs.c.message.like("iter %"))
        .group_by(logs.c.run_id, logs.c.message)
        .having(func.count() > 1)
    ).all()
    return {"found": found, "children": children, "twice": saved, "parents": parent_ids}


async def build(
    app: Taskloom, parent_ids: list[str], ledger_path: Path, killed_pids: set[int]
) -> Report:
    """`parent_ids`: the runs the test triggered, each of which triggers one
    child (rel.steps); `killed_pids`: the processes killed or stopped."""
    counts = await app.database.read(lambda c: _counts(c, parent_ids))
    found: dict[str, tuple[str, str]] = counts["found"]
    report = Report(runs=len(found), kills=len(killed_pids))
    report.lost_runs = sum(1 for run_id in parent_ids if run_id not in found)
    report.stuck_runs = sum(1 for status, _d in found.values() if status not in FINISHED)
    report.failed_runs = sum(1 for status, _d in found.values() if status != "SUCCEEDED")
    children: Counter[str] = counts["children"]
    report.duplicated_children = sum(n - 1 for n in children.values() if n > 1)
    report.missing_children = sum(1 for run_id in parent_ids if children[run_id] == 0)
    report.outcomes_saved_twice = len(counts["twice"])
    report.details += [f"saved twice: {row}" for row in counts["twice"][:5]]
    starts: dict[tuple[str, int], list[ledger.Entry]] = {}
    ends: set[tuple[str, int, int]] = set()
    for entry in ledger.read(ledger_path):
        if entry.event == "start":
            starts.setdefault((entry.run, entry.iteration), []).append(entry)
        else:
            ends.add((entry.run, entry.iteration, entry.pid))
    for key, started in starts.items():
        for earlier in started[:-1]:
            report.repeated_iterations += 1
            # Explained: the execution before ran in a process that was
            # killed, before it ended or before its outcome was committed.
            if earlier.pid not in killed_pids:
                report.unexplained_repeats += 1
                ended = (key[0], key[1], earlier.pid) in ends
                report.details.append(
                    f"unexplained repeat of {key} (pid {earlier.pid}, ended: {ended})"
                )
    return report
