"""What the engine hands the store after an iteration: plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Who holds a RUNNING run: its worker's id and the claim's token.
Holder = tuple[str | None, int]


@dataclass(slots=True)
class IterationOutcome:
    """The end of one iteration of one run, written in one transaction with
    its logs, its result-history record and the children it triggered."""

    run_id: str
    worker_id: str
    # The token of the claim that ran the iteration (the run's `claims`
    # then): the outcome is saved only while that claim holds the run.
    claim: int
    status: str
    state: dict[str, Any]
    iterations: int
    attempt: int
    run_at: float
    now: float
    output: Any = None
    error_message: str | None = None
    error_code: str | None = None
    error_data: Any = None
    finished: bool = False
    new_attempt: bool = False
    clear_request: bool = False
    has_errors: bool = False
    progress: tuple[float, float | None, str | None] | None = None
    status_message: str | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)
    # The attempt's result-history record, when a retry follows it (a
    # finished run's last attempt is the run itself: store/history.py).
    history: dict[str, Any] | None = None
    max_results: int = 10
    # The input for the next attempt, when `on_retry` changed it.
    new_input: dict[str, Any] | None = None
    # CHILDREN: the run waits for its children (not due until they end).
    waiting: str | None = None
    # Whether saving it may end another run's wait (it finished and has a
    # parent or dependents) or its own (it waits): store/waits.py.
    settles_waits: bool = False
