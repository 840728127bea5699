"""The server's JSON answers as the SDK's read models, and the SDK's
filters as GraphQL variables: what `Client` returns is what `TaskService`
returns (`RunView`, `LogView`, `ResultView`, `Page`, `BulkResult`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from taskloom.definitions.errors import InvalidInput
from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.definitions.records import LogLevel, RunError, RunRequest, TaskStatus, WaitReason
from taskloom.definitions.run_view import ProgressView, RunView, Waiting
from taskloom.definitions.views import BulkResult, LogView, Page, ResultView, ScheduleView


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def _error(value: dict[str, Any] | None) -> RunError | None:
    if value is None:
        return None
    return RunError(value["message"], value.get("code"), value.get("data"))


def _waiting(value: dict[str, Any] | None) -> Waiting | None:
    if value is None:
        return None
    return Waiting(when(value["until"]), WaitReason(value["reason"]))


def run_view(run: dict[str, Any]) -> RunView:
    progress = run["progress"]
    definition = run.get("definition")
    return RunView(
        id=run["id"],
        definition_id=run["definitionId"],
        name=run["name"],
        status=TaskStatus(run["status"]),
        requested=None if run["requested"] is None else RunRequest(run["requested"]),
        input=run["input"],
        state=run["state"],
        output=run["output"],
        error=_error(run["error"]),
        iterations=run["iterations"],
        attempt=run["attempt"],
        priority=run["priority"],
        progress=None
        if progress is None
        else ProgressView(progress["current"], progress["total"], progress["units"]),
        status_message=run["statusMessage"],
        created_at=datetime.fromisoformat(run["createdAt"]),
        run_at=datetime.fromisoformat(run["runAt"]),
        scheduled_at=datetime.fromisoformat(run["scheduledAt"]),
        started_at=when(run["startedAt"]),
        finished_at=when(run["finishedAt"]),
        updated_at=datetime.fromisoformat(run["updatedAt"]),
        worker_id=run["workerId"],
        last_worker_id=run["lastWorkerId"],
        parent_id=run["parentId"],
        created_by=run["createdBy"],
        has_errors=run["hasErrors"],
        simulate=run["simulate"],
        idempotency_key=run["idempotencyKey"],
        waiting=_waiting(run["waiting"]),
        deadline_seconds=run["deadlineSeconds"],
        expires_at=when(run["expiresAt"]),
        aborted_by=run["abortedBy"],
        abort_reason=run["abortReason"],
        # a definition the server does not know: pausable and abortable, as
        # the service says
        pausable=True if definition is None else definition["pausable"],
        abortable=True if definition is None else definition["abortable"],
    )


def schedule_view(schedule: dict[str, Any]) -> ScheduleView:
    return ScheduleView(
        definition_id=schedule["definitionId"],
        expression=schedule["expression"],
        timezone=schedule["timezone"],
        enabled=schedule["enabled"],
        next_run_at=when(schedule["nextRunAt"]),
        last_run_at=when(schedule["lastRunAt"]),
        id=schedule["id"],
        input=schedule["input"],
        declared=schedule["declared"],
        created_by=schedule["createdBy"],
    )


def log_view(line: dict[str, Any]) -> LogView:
    return LogView(
        id=int(line["id"]),
        run_id=line["runId"],
        level=LogLevel(line["level"]),
        message=line["message"],
        data=line["data"],
        iteration=line["iteration"],
        created_at=datetime.fromisoformat(line["createdAt"]),
    )


def result_view(result: dict[str, Any]) -> ResultView:
    return ResultView(
        attempt=result["attempt"],
        status=TaskStatus(result["status"]),
        started_at=when(result["startedAt"]),
        finished_at=datetime.fromisoformat(result["finishedAt"]),
        output=result["output"],
        error=_error(result["error"]),
    )


def run_page(page: dict[str, Any]) -> Page[RunView]:
    edges = page["edges"]
    return Page(
        items=[run_view(edge["node"]) for edge in edges],
        cursors=[edge["cursor"] for edge in edges],
        has_next=page["pageInfo"]["hasNextPage"],
    )


def log_page(page: dict[str, Any]) -> Page[LogView]:
    edges = page["edges"]
    return Page(
        items=[log_view(edge["node"]) for edge in edges],
        cursors=[edge["cursor"] for edge in edges],
        has_next=page["pageInfo"]["hasNextPage"],
    )


def bulk_result(bulk: dict[str, Any]) -> BulkResult:
    return BulkResult([run_view(run) for run in bulk["runs"]], has_more=bulk["hasMore"])


def run_filter(where: RunFilter | None) -> dict[str, Any]:
    """A `RunFilter` as the `TaskRunFilter` input (only the fields given)."""
    if where is None:
        return {}
    fields = {
        "definitionId": where.definition_id,
        "status": None if where.statuses is None else [str(s) for s in where.statuses],
        "parentId": where.parent_id,
        "nameContains": where.name_contains,
        "hasErrors": where.has_errors,
        "createdAfter": iso(where.created_after),
        "createdBefore": iso(where.created_before),
        "startedAfter": iso(where.started_after),
        "startedBefore": iso(where.started_before),
        "finishedAfter": iso(where.finished_after),
        "finishedBefore": iso(where.finished_before),
        "createdBy": where.created_by,
        "definitionIds": None if where.definition_ids is None else list(where.definition_ids),
        "requested": None if where.requested is None else [str(r) for r in where.requested],
        "dependsOn": where.depends_on,
    }
    return {name: value for name, value in fields.items() if value is not None}


def log_filter(where: LogFilter) -> dict[str, Any]:
    """A `LogFilter` as the `TaskLogFilter` input (only the fields given)."""
    if where.created_by is not None:
        raise InvalidInput(
            "created_by: a log filter sent to a server cannot name an owner",
            errors=[{"loc": ["created_by"], "message": "not available remotely"}],
        )
    fields = {
        "runId": where.run_id,
        "levels": None if where.levels is None else [str(level) for level in where.levels],
        "messageContains": where.message_contains,
        "from": iso(where.since),
        "to": iso(where.until),
        "period": where.period,
    }
    return {name: value for name, value in fields.items() if value is not None}
