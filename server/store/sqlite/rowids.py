"""The rowids of the runs this process claimed on SQLite, kept for their
outcomes' UPDATE.

A claimed run's outcome UPDATE finds the row by `rowid = ? AND id = ?`,
which skips a search of the primary-key index (the id is a 36-character
text key). The claim returns each run's rowid (claim_sql.py) and the
outcome takes it back (outcome_sql.py), so the rowid never leaves the
SQLite adapter. A rowid changes only by VACUUM; a stale one finds no row,
and the outcome is then written by its id alone.
"""

from __future__ import annotations

from collections.abc import Iterable

# Runs claimed and never finished here (released, rescued elsewhere) leave
# their entry behind: past this many, all are forgotten (costing a lookup).
MAX_KEPT = 100_000


class ClaimedRowids:
    def __init__(self) -> None:
        self._by_id: dict[str, int] = {}

    def remember(self, pairs: Iterable[tuple[str, int]]) -> None:
        if len(self._by_id) > MAX_KEPT:
            self._by_id.clear()
        self._by_id.update(pairs)

    def take(self, run_id: str) -> int | None:
        return self._by_id.pop(run_id, None)

    def __len__(self) -> int:
        return len(self._by_id)


claimed_rowids = ClaimedRowids()
