"""The filters and page sizes that `TaskService`'s lists accept: plain
values, shared by backend code, the GraphQL schema, the service and the store."""

from __future__ import annotations

from dataclasses import dataclass

from taskloom.definitions.errors import InvalidInput

MAX_PAGE = 500
DEFAULT_PAGE = 50
# The most runs a run may be triggered `after` (its dependencies).
MAX_AFTER = 100
# `history(first=ALL)`: every record of the run (read MAX_PAGE at a time).
ALL = -1


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise InvalidInput(
            "`first` must not be negative", errors=[{"loc": ["first"], "message": "must be >= 0"}]
        )
    return min(first, MAX_PAGE)


@dataclass(frozen=True)
class RunFilter:
    definition_id: str | None = None
    statuses: tuple[str, ...] | None = None  # TaskStatus values (members are str too)
    parent_id: str | None = None
    name_contains: str | None = None
    has_errors: bool | None = None
    created_after: float | None = None
    created_before: float | None = None
    started_after: float | None = None
    started_before: float | None = None
    finished_after: float | None = None
    finished_before: float | None = None
    created_by: str | None = None
    # Any of these definitions (with definition_id: both must hold).
    definition_ids: tuple[str, ...] | None = None
    # Runs with one of these requests pending (RunRequest values: PAUSE, ABORT).
    requested: tuple[str, ...] | None = None
    # Runs triggered `after` this run (its dependents).
    depends_on: str | None = None


@dataclass(frozen=True)
class LogFilter:
    run_id: str | None = None
    levels: tuple[str, ...] | None = None  # LogLevel values
    message_contains: str | None = None
    since: float | None = None
    until: float | None = None
    created_by: str | None = None
    # "today", "yesterday" or a duration back from now ("2h 30m", "15m");
    # combines with since/until (server/period.py).
    period: str | None = None
