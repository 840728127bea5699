"""The row of a new run, as trigger, bulk trigger and child runs write it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from taskloom.definitions.controller import new_id


def due_after(now: float, delay: float | datetime | None) -> float:
    """When something asked for "after `delay` seconds" or "at `delay`" is due."""
    if isinstance(delay, datetime):
        return delay.timestamp()
    return now + float(delay or 0.0)


def new_run_row(
    *,
    definition_id: str,
    input: dict[str, Any],
    now: float,
    run_at: float,
    run_id: str | None = None,
    name: str | None = None,
    priority: int = 0,
    parent_id: str | None = None,
    created_by: str | None = None,
    idempotency_key: str | None = None,
    simulate: bool = False,
    concurrency_key: str | None = None,
) -> dict[str, Any]:
    return {
        "id": run_id or new_id(),
        "definition_id": definition_id,
        "name": name,
        "status": "PENDING",
        "requested": None,
        "input": input,
        "state": {},
        "output": None,
        "error_message": None,
        "error_code": None,
        "error_data": None,
        "iterations": 0,
        "attempt": 0,
        "priority": priority,
        "progress_current": None,
        "progress_total": None,
        "progress_units": None,
        "status_message": None,
        "has_errors": False,
        "simulate": simulate,
        "created_at": now,
        "scheduled_at": run_at,
        "run_at": run_at,
        "started_at": None,
        "attempt_started_at": None,
        "finished_at": None,
        "updated_at": now,
        "worker_id": None,
        "lease_expires_at": None,
        "lease_losses": 0,
        "parent_id": parent_id,
        "created_by": created_by,
        "idempotency_key": idempotency_key,
        "concurrency_key": concurrency_key,
    }


def concurrency_key_of(definition: Any, input: dict[str, Any]) -> str | None:
    """The run's `concurrency_key(input)` when its definition caps runs per
    key (`concurrency_per_key`); None otherwise."""
    if getattr(definition, "concurrency_per_key", None) is None:
        return None
    key = definition().concurrency_key(definition.parse_input(input))
    return None if key is None else str(key)[:200]


def another_run_row(
    template: dict[str, Any], input: dict[str, Any], concurrency_key: str | None
) -> dict[str, Any]:
    """A new run like `template` (from `new_run_row`, of a bulk trigger) but
    for its own id, input and concurrency key; same keys in the same order."""
    row = template.copy()
    row["id"] = new_id()
    row["input"] = input
    row["state"] = {}
    row["concurrency_key"] = concurrency_key
    return row
