"""What an iteration leaves behind, as rows to write: its log lines, the
child runs it requested, the attempt's history entry, and the `IterationOutcome`
that carries them all to the saver.

Plain functions the iteration runner calls once each per iteration; they
build rows and never touch the database."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from taskloom.definitions.controller import TaskController
from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.records import LogLevel
from taskloom.definitions.registry import Registry
from taskloom.definitions.retry import Retry
from taskloom.definitions.text_limits import (
    CODE_CHARS,
    LOG_MESSAGE_CHARS,
    MESSAGE_CHARS,
    clip,
    clip_optional,
)
from taskloom.server.engine.lifecycle import FAILED, PAUSED, PENDING, Transition
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.new_runs import (
    concurrency_key_of,
    due_after,
    life_bounds,
    new_run_row,
)

ChildFinisher = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def not_json(t: Transition) -> str | None:
    """Why the transition's output, state or error data cannot be stored."""
    values = (("output", t.output), ("state", t.state), ("error data", t.error and t.error.data))
    for what, value in values:
        if value:
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                return f"the iteration's {what} cannot be stored as JSON: {exc}"
    return None


def json_safe(data: Any) -> Any:
    """Log data as JSON; what JSON cannot hold becomes its str()."""
    if data is None or isinstance(data, str | int | float | bool):
        return data
    try:
        json.dumps(data, allow_nan=False)
        return data
    except (TypeError, ValueError):
        pass
    try:
        return json.loads(json.dumps(data, default=str, allow_nan=False))
    except (TypeError, ValueError):
        return str(data)


def drain_logs(row: RowMapping, controller: TaskController[Any] | None) -> list[dict[str, Any]]:
    """The log rows of the lines the iteration wrote."""
    if controller is None:
        return []
    return [
        {
            "run_id": row["id"],
            "level": e.level.value,
            "message": e.message,
            "data": json_safe(e.data),
            "iteration": row["iterations"],
            "created_at": e.created_at,
        }
        for e in controller.log.drain()
    ]


def error_row(row: RowMapping, message: str, data: Any, created_at: float) -> dict[str, Any]:
    """An ERROR log row of the run's current iteration."""
    return log_row(row, LogLevel.ERROR, message, data, created_at)


def log_row(
    row: RowMapping, level: LogLevel, message: str, data: Any, created_at: float
) -> dict[str, Any]:
    """A log row of the run's current iteration."""
    return {
        "run_id": row["id"],
        "level": level.value,
        "message": clip(message, LOG_MESSAGE_CHARS),
        "data": data,
        "iteration": row["iterations"],
        "created_at": created_at,
    }


async def child_rows(
    row: RowMapping,
    controller: TaskController[Any] | None,
    now: float,
    finish_child: ChildFinisher,
    registry: Registry,
) -> list[dict[str, Any]]:
    """The run rows of the children the iteration requested; `finish_child`
    prepares each input as a trigger would (and may refuse it)."""
    if controller is None:
        return []
    rows = []
    for child in controller.children_requested:
        data = await finish_child(child.definition_id, child.input)
        definition = registry.find(child.definition_id)
        run_at = due_after(now, child.delay)
        deadline_seconds, expires_at = life_bounds(definition, run_at)
        rows.append(
            new_run_row(
                run_id=child.id,
                definition_id=child.definition_id,
                input=data,
                now=now,
                run_at=run_at,
                name=child.name,
                priority=child.priority,
                parent_id=row["id"],
                created_by=row["created_by"],
                simulate=bool(row["simulate"]),
                concurrency_key=None
                if definition is None
                else concurrency_key_of(definition, data),
                deadline_seconds=deadline_seconds,
                expires_at=expires_at,
            )
            # the parent's trace, continued by the child's iterations
            | {"traceparent": row.get("traceparent")}
        )
    return rows


def retry_row(row: RowMapping, t: Transition, retry: Retry, now: float) -> dict[str, Any]:
    """The INFO line that says when a retry is due: attempt, wait, time."""
    wait = max(t.run_at - now, 0.0)
    of = "" if retry.attempts == -1 else f" of {retry.attempts}"
    at = datetime.fromtimestamp(t.run_at, UTC).isoformat(timespec="milliseconds")
    message = f"retry {t.attempt}{of} in {wait:.3f} s, at {at}"
    data = {"attempt": t.attempt, "waitSeconds": wait, "runAt": at}
    return log_row(row, LogLevel.INFO, message, data, now)


def build_outcome(
    row: RowMapping,
    worker_id: str,
    t: Transition,
    controller: TaskController[Any] | None,
    log_rows: list[dict[str, Any]],
    children: list[dict[str, Any]],
    now: float,
    definition: type[TaskDefinition[Any]] | None,
) -> IterationOutcome:
    """The iteration's result for the saver: the run's new columns, its log
    and children rows, and its history entry when the attempt ended."""
    error = t.error
    message, code, data = (error.message, error.code, error.data) if error else (None, None, None)
    message, code = clip_optional(message, MESSAGE_CHARS), clip_optional(code, CODE_CHARS)
    history = None
    # A finished run's last attempt is the run itself (store/history.py).
    if t.record_attempt and not t.finished:
        history = {
            "run_id": row["id"],
            "attempt": row["attempt"],
            "status": FAILED if t.status in (PENDING, PAUSED) else t.status,
            "started_at": row["attempt_started_at"],
            "finished_at": now,
            "output": t.output,
            "error_message": message,
            "error_code": code,
            "error_data": data,
        }
    progress = controller.progress_value if controller else None
    return IterationOutcome(
        run_id=row["id"],
        worker_id=worker_id,
        claim=row["claims"],
        status=t.status,
        state=t.state,
        iterations=t.iterations,
        attempt=t.attempt,
        run_at=t.run_at,
        now=now,
        output=t.output,
        error_message=message,
        error_code=code,
        error_data=data,
        finished=t.finished,
        new_attempt=t.new_attempt,
        clear_request=t.clear_request,
        has_errors=t.status == FAILED
        or bool(log_rows and any(r["level"] == LogLevel.ERROR for r in log_rows)),
        progress=(progress.current, progress.total, progress.units) if progress else None,
        status_message=controller.status_message if controller else None,
        logs=log_rows,
        children=children,
        history=history,
        max_results=definition.max_results if definition else 10,
        waiting=t.waiting,
        settles_waits=t.waiting is not None
        or (t.finished and bool(row["parent_id"] or row["has_dependents"])),
    )
