"""Statuses as clients read them, in SQL.

The store keeps a started run that waits for its next iteration PENDING:
claims and leases see the queue as it is. Clients read such a run RUNNING,
with `waiting` set (`definitions/run_view.py`, `shown_status`), and PENDING
only for runs that never started. A status filter and the gauges count the
same way, so `--status running` finds a run between two iterations."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_

from taskloom.definitions.records import TaskStatus
from taskloom.server.store.models import has_status, runs

_PENDING = TaskStatus.PENDING.value
_RUNNING = TaskStatus.RUNNING.value


def waiting_between_iterations() -> ColumnElement[bool]:
    """Stored PENDING, and started: RUNNING to clients."""
    return and_(has_status(_PENDING), runs.c.started_at.is_not(None))


def shows_status(*statuses: str) -> ColumnElement[bool]:
    """The runs that clients read as one of `statuses`."""
    stored = [s for s in statuses if s not in (_PENDING, _RUNNING)]
    terms: list[ColumnElement[bool]] = []
    if _RUNNING in statuses:
        stored.append(_RUNNING)
        if _PENDING not in statuses:
            terms.append(waiting_between_iterations())
    if _PENDING in statuses:
        if _RUNNING in statuses:  # started or not, every stored PENDING run
            stored.append(_PENDING)
        else:
            terms.append(and_(has_status(_PENDING), runs.c.started_at.is_(None)))
    if stored or not terms:  # (no status at all: matches nothing)
        terms.insert(0, has_status(*stored))
    return terms[0] if len(terms) == 1 else or_(*terms)
