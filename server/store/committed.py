"""What a committed write tells the rest of the process, as plain data.

A write operation says what it committed (`WriteOp.committed`); the
database hands that to its on-commit callback once the commit is done,
on the caller's event loop. The composition root (server/taskloom.py)
connects the callback to the event hub (server/events/announce.py): the
store knows no hub, and no caller repeats the announcement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class NewRuns:
    """Runs made PENDING by this commit: each row has at least its `id`
    and `definition_id`."""

    rows: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class RunsMoved:
    """Runs whose status this commit changed, as (run id, new status); `due`:
    some of them may be claimed now."""

    changes: Sequence[tuple[str, str]]
    due: bool


# A write may tell both: an outcome batch's new children and the
# dependents its successes released (store/outcomes.py).
Committed = NewRuns | RunsMoved | tuple[NewRuns | RunsMoved, ...]
OnCommit = Callable[[Committed], None]
