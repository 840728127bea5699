"""What the saver does with an outcome the database refused for its data
(store/storable.py `cannot_store`), instead of leaving the run RUNNING to be
rescued and run again at every lease expiry:

1. `with_storable_text`: the same outcome, every lone surrogate in its text
   replaced by U+FFFD, with a WARNING line saying where;
2. if that is refused too, `failed_for_good`: the run FAILED at once, with
   the code OUTCOME_NOT_SAVED and the database's reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from taskloom.definitions.records import LogLevel
from taskloom.server.engine.lifecycle import FAILED
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.storable import storable, storable_text

NOT_SAVED = "OUTCOME_NOT_SAVED"
TEXT_FIELDS = ("error_message", "status_message")
JSON_FIELDS = ("state", "output", "error_data", "new_input")


def with_storable_text(row: Mapping[str, Any], outcome: IterationOutcome) -> IterationOutcome:
    """`outcome` with storable text everywhere it writes some, and a WARNING
    log line naming what was replaced (none when nothing was)."""
    changed: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, *JSON_FIELDS):
        value = getattr(outcome, name)
        fixed = storable(value)
        if fixed is not value:
            changed[name] = fixed
    replaced = [name.replace("_", " ") for name in changed]
    logs = [_storable_row(line) for line in outcome.logs]
    if any(new is not old for new, old in zip(logs, outcome.logs, strict=True)):
        replaced.append("log lines")
    children = [_storable_row(child) for child in outcome.children]
    if any(new is not old for new, old in zip(children, outcome.children, strict=True)):
        replaced.append("children")
    if not replaced:
        return outcome
    warning = {
        "run_id": outcome.run_id,
        "level": LogLevel.WARNING.value,
        "message": "text with lone UTF-16 surrogates, which the database cannot store, "
        f"had them replaced by U+FFFD in: {', '.join(replaced)}",
        "data": {"replaced": replaced},
        "iteration": row["iterations"],
        "created_at": outcome.now,
    }
    return dataclasses.replace(outcome, **changed, logs=[*logs, warning], children=children)


def _storable_row(values: dict[str, Any]) -> dict[str, Any]:
    fixed = {key: storable(value) for key, value in values.items()}
    return values if all(fixed[key] is values[key] for key in values) else fixed


def failed_for_good(
    row: Mapping[str, Any], outcome: IterationOutcome, error: BaseException
) -> IterationOutcome:
    """The run FAILED (OUTCOME_NOT_SAVED) with the reason the database gave,
    its state as the claim found it; nothing else of the outcome is kept."""
    cause = getattr(error, "orig", None) or error.__cause__ or error
    reason = storable_text(f"{type(cause).__name__}: {cause}")[:2000]
    message = f"the iteration's outcome could not be saved: {reason}"
    return IterationOutcome(
        run_id=outcome.run_id,
        worker_id=outcome.worker_id,
        claim=outcome.claim,
        status=FAILED,
        state=row["state"] or {},  # as it was stored
        iterations=outcome.iterations,
        attempt=outcome.attempt,
        run_at=outcome.now,
        now=outcome.now,
        error_message=message,
        error_code=NOT_SAVED,
        finished=True,
        clear_request=True,
        has_errors=True,
        # It finished: a parent or dependents waiting for it may go on.
        settles_waits=bool(row["parent_id"] or row["has_dependents"]),
        logs=[
            {
                "run_id": outcome.run_id,
                "level": LogLevel.ERROR.value,
                "message": message,
                "data": None,
                "iteration": row["iterations"],
                "created_at": outcome.now,
            }
        ],
    )
