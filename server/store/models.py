"""The tables. Times are epoch seconds (float) so SQLite and PostgreSQL
compare, index and compute them the same way; views turn them into datetimes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    and_,
    literal_column,
    or_,
    text,
)
from sqlmodel import Field, SQLModel

from taskloom.definitions.records import TaskStatus
from taskloom.definitions.webhooks import DeliveryState

_RUNNING = TaskStatus.RUNNING.value
# The running-key index's condition; a query uses that index only if it
# spells the same literal (a bound parameter does not match it).
RUNNING_ONLY = f"status = '{_RUNNING}'"
# On SQLite the claim index leaves RUNNING runs to the running-key index: a
# claim then takes an entry out of it and an outcome puts one back, where
# each moved one from status to status. `has_status` spells the condition.
NOT_RUNNING = f"status <> '{_RUNNING}'"


def _where(condition: str) -> dict[str, Any]:
    """The dialect options of a partial index."""
    where = text(condition)
    return {"sqlite_where": where, "postgresql_where": where}


def _not_null(column: str) -> dict[str, Any]:
    """A partial index on the rows where `column` is set."""
    return _where(f"{column} IS NOT NULL")


class TaskRunRow(SQLModel, table=True):
    __tablename__ = "task_runs"
    __table_args__ = (
        # On PostgreSQL it ends with `id`, the claim's last sort key there
        # (migration 0006); autogenerate cannot compare it either way.
        Index(
            "ix_task_runs_claim",
            "status",
            text("priority DESC"),
            "run_at",
            sqlite_where=text(NOT_RUNNING),
        ),
        Index("ix_task_runs_created", "created_at", "id"),
        Index("ix_task_runs_definition_created", "definition_id", "created_at"),
        # Partial: most runs are not running and have no finish time (yet),
        # parent or key; an entry less is a page less to commit. No index on
        # worker_id: it is only looked up among RUNNING runs.
        Index(
            "ix_task_runs_running_key",
            "status",
            "definition_id",
            "concurrency_key",
            **_where(RUNNING_ONLY),
        ),
        Index("ix_task_runs_finished", "finished_at", **_not_null("finished_at")),
        Index("ix_task_runs_parent_id", "parent_id", **_not_null("parent_id")),
        # Runs waiting for their children or their dependencies (store/waits.py).
        Index("ix_task_runs_waiting", "waiting", **_not_null("waiting")),
        Index("ix_task_runs_expires", "expires_at", **_not_null("expires_at")),
        Index("ix_task_runs_deadline", "started_at", **_not_null("deadline_seconds")),
        # A key is unique per definition and scope (new_runs.idempotency_scope).
        Index(
            "ux_task_runs_idempotency",
            "definition_id",
            "idempotency_scope",
            "idempotency_key",
            unique=True,
            **_not_null("idempotency_key"),
        ),
    )

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    definition_id: str = Field(sa_column=Column(String(200), nullable=False))
    name: str | None = Field(default=None, sa_column=Column(String(500)))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    requested: str | None = Field(default=None, sa_column=Column(String(16)))
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    output: Any = Field(default=None, sa_column=Column(JSON))
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    error_code: str | None = Field(default=None, sa_column=Column(String(100)))
    error_data: Any = Field(default=None, sa_column=Column(JSON))
    iterations: int = 0
    attempt: int = 0
    priority: int = 0
    progress_current: float | None = None
    progress_total: float | None = None
    progress_units: str | None = Field(default=None, sa_column=Column(String(100)))
    status_message: str | None = Field(default=None, sa_column=Column(String(500)))
    has_errors: bool = False
    simulate: bool = False
    created_at: float
    scheduled_at: float
    run_at: float
    started_at: float | None = None
    attempt_started_at: float | None = None
    finished_at: float | None = None
    updated_at: float
    worker_id: str | None = Field(default=None, sa_column=Column(String(200)))
    lease_expires_at: float | None = None
    lease_losses: int = 0
    # How many times the run was claimed: each claim's token. An outcome is
    # saved only against the claim that produced it (transitions.py).
    claims: int = 0
    parent_id: str | None = Field(
        default=None,
        sa_column=Column(String(36), ForeignKey("task_runs.id", ondelete="SET NULL")),
    )
    created_by: str | None = Field(default=None, sa_column=Column(String(200)))
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(200)))
    idempotency_scope: str | None = Field(default=None, sa_column=Column(String(200)))
    # For `concurrency_per_key` and `rate_limit_key`: the key the definition
    # derived from the input.
    concurrency_key: str | None = Field(default=None, sa_column=Column(String(200)))
    # The worker of the run's latest claim; unlike worker_id, kept once the
    # run is no longer RUNNING (GraphQL `lastWorkerId`).
    last_worker_id: str | None = Field(default=None, sa_column=Column(String(200)))
    # CHILDREN or DEPENDENCIES: a PENDING run that is not due until they end
    # (its run_at is WAITING_RUN_AT meanwhile; store/waits.py wakes it).
    waiting: str | None = Field(default=None, sa_column=Column(String(16)))
    # Whether other runs were triggered `after` this one (task_run_dependencies).
    has_dependents: bool = False
    # Deadlines: the run fails (DEADLINE) `deadline_seconds` after its first
    # start; it ends unstarted (EXPIRED) once `expires_at` passes.
    deadline_seconds: float | None = None
    expires_at: float | None = None
    # Who aborted the run (the caller's name; None: the system) and why
    # (a cascaded abort names the run it came from).
    aborted_by: str | None = Field(default=None, sa_column=Column(String(200)))
    abort_reason: str | None = Field(default=None, sa_column=Column(Text))
    # The W3C trace context of the trigger's span (server/tracing.py), with
    # the taskloom[otel] extra; its iterations are spans of that trace.
    traceparent: str | None = Field(default=None, sa_column=Column(String(55)))


class TaskRunDependencyRow(SQLModel, table=True):
    """Run `run_id` starts only once run `depends_on` has SUCCEEDED
    (`trigger(..., after=[...])`). Written with the new run only, naming runs
    that exist already, so no cycle can be made."""

    __tablename__ = "task_run_dependencies"
    __table_args__ = (Index("ix_task_run_dependencies_on", "depends_on"),)

    run_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("task_runs.id", ondelete="CASCADE"), primary_key=True
        )
    )
    depends_on: str = Field(sa_column=Column(String(36), primary_key=True))


class TaskLogRow(SQLModel, table=True):
    __tablename__ = "task_logs"
    __table_args__ = (Index("ix_task_logs_run", "run_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(
        sa_column=Column(String(36), ForeignKey("task_runs.id", ondelete="CASCADE"), nullable=False)
    )
    level: str = Field(sa_column=Column(String(10), nullable=False))
    message: str = Field(sa_column=Column(Text, nullable=False))
    data: Any = Field(default=None, sa_column=Column(JSON))
    iteration: int = 0
    created_at: float


class TaskResultRow(SQLModel, table=True):
    """One finished attempt of a run: the result history."""

    __tablename__ = "task_results"
    __table_args__ = (Index("ix_task_results_run", "run_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(
        sa_column=Column(String(36), ForeignKey("task_runs.id", ondelete="CASCADE"), nullable=False)
    )
    attempt: int
    status: str = Field(sa_column=Column(String(16), nullable=False))
    started_at: float | None = None
    finished_at: float
    output: Any = Field(default=None, sa_column=Column(JSON))
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    error_code: str | None = Field(default=None, sa_column=Column(String(100)))
    error_data: Any = Field(default=None, sa_column=Column(JSON))


class TaskScheduleRow(SQLModel, table=True):
    """A definition's `schedule`: when it triggers next and whether it may."""

    __tablename__ = "task_schedules"

    definition_id: str = Field(sa_column=Column(String(200), primary_key=True))
    expression: str = Field(sa_column=Column(String(200), nullable=False))
    timezone: str = Field(sa_column=Column(String(100), nullable=False))
    enabled: bool = True
    next_run_at: float | None = None
    last_run_at: float | None = None
    updated_at: float


class ApiScheduleRow(SQLModel, table=True):
    """A schedule made through the API (createSchedule): a definition, a cron
    expression in a time zone, and the input of each tick's run. Several may
    name one definition; the class-level `schedule` stays in task_schedules."""

    __tablename__ = "api_schedules"
    __table_args__ = (Index("ix_api_schedules_next", "next_run_at"),)

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    definition_id: str = Field(sa_column=Column(String(200), nullable=False))
    expression: str = Field(sa_column=Column(String(200), nullable=False))
    timezone: str = Field(sa_column=Column(String(100), nullable=False))
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    next_run_at: float
    last_run_at: float | None = None
    created_at: float
    created_by: str | None = Field(default=None, sa_column=Column(String(200)))


class PausedDefinitionRow(SQLModel, table=True):
    """A paused definition: no worker claims its runs until it is resumed."""

    __tablename__ = "paused_definitions"

    definition_id: str = Field(sa_column=Column(String(200), primary_key=True))
    paused_at: float
    paused_by: str | None = Field(default=None, sa_column=Column(String(200)))


class RateLimitStartRow(SQLModel, table=True):
    """One start of a rate-limited run (store/rate_limits.py): the claim
    counts a definition's (and key's) starts within the limit's period."""

    __tablename__ = "rate_limit_starts"
    __table_args__ = (
        Index("ix_rate_limit_starts_window", "definition_id", "limit_key", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    definition_id: str = Field(sa_column=Column(String(200), nullable=False))
    # The run's concurrency key when the limit holds per key, else "".
    limit_key: str = Field(sa_column=Column(String(200), nullable=False))
    started_at: float


runs = TaskRunRow.__table__  # type: ignore[attr-defined]
logs = TaskLogRow.__table__  # type: ignore[attr-defined]
dependencies = TaskRunDependencyRow.__table__  # type: ignore[attr-defined]
results = TaskResultRow.__table__  # type: ignore[attr-defined]
schedules = TaskScheduleRow.__table__  # type: ignore[attr-defined]
paused_definitions = PausedDefinitionRow.__table__  # type: ignore[attr-defined]
api_schedules = ApiScheduleRow.__table__  # type: ignore[attr-defined]
rate_limit_starts = RateLimitStartRow.__table__  # type: ignore[attr-defined]
metadata = SQLModel.metadata


def has_status(*statuses: str) -> ColumnElement[bool]:
    """`status IN statuses`, spelled so that SQLite finds the runs through
    an index: RUNNING ones through the running-key index, the others
    through the claim index. A partial index serves only a query that
    spells its condition, with literals, not bound values."""
    status = runs.c.status
    running: ColumnElement[str] = literal_column(f"'{_RUNNING}'")
    others = [s for s in statuses if s != _RUNNING]
    terms = [status == running] if len(others) < len(statuses) else []
    if others or not terms:
        terms.append(and_(status.in_(others), status != running))
    return terms[0] if len(terms) == 1 else or_(*terms)


class ApiTokenRow(SQLModel, table=True):
    """An API token (server/auth/tokens.py): its secret only as a SHA-256
    hash, its first characters in clear to tell it apart."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ux_api_tokens_hash", "token_hash", unique=True),)

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    owner: str = Field(sa_column=Column(String(200), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False))
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: float
    revoked_at: float | None = None
    expires_at: float | None = None  # None: never


api_tokens = ApiTokenRow.__table__  # type: ignore[attr-defined]


class WebhookRow(SQLModel, table=True):
    """An endpoint told of run events (server/webhooks/). `events` and
    `definition_ids` are kept as ",a,b," so the outbox trigger (migration
    0013) matches them with one string search; no definition_ids: all."""

    __tablename__ = "webhooks"

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    url: str = Field(sa_column=Column(Text, nullable=False))
    events: str = Field(sa_column=Column(String(200), nullable=False))
    definition_ids: str | None = Field(default=None, sa_column=Column(Text))
    secret: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: float
    created_by: str | None = Field(default=None, sa_column=Column(String(200)))


class WebhookDeliveryRow(SQLModel, table=True):
    """The outbox and the record of one event for one webhook: written by a
    trigger on task_runs in the transaction of the run's transition
    (migration 0013), sent and updated by server/webhooks/sender.py. What
    the run was at the event is copied, so the delivery does not depend on
    the run still existing."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            **_where(f"state = '{DeliveryState.QUEUED.value}'"),
        ),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: str = Field(sa_column=Column(String(36), nullable=False))
    event: str = Field(sa_column=Column(String(16), nullable=False))
    run_id: str = Field(sa_column=Column(String(36), nullable=False))
    definition_id: str = Field(sa_column=Column(String(200), nullable=False))
    run_name: str | None = Field(default=None, sa_column=Column(String(500)))
    run_status: str = Field(sa_column=Column(String(16), nullable=False))
    attempt: int
    output: Any = Field(default=None, sa_column=Column(JSON))
    error_code: str | None = Field(default=None, sa_column=Column(String(100)))
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    created_by: str | None = Field(default=None, sa_column=Column(String(200)))
    occurred_at: float
    state: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    next_attempt_at: float
    lease_until: float | None = None
    last_attempt_at: float | None = None
    response_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    delivered_at: float | None = None


webhooks = WebhookRow.__table__  # type: ignore[attr-defined]
deliveries = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]
