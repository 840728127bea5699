"""The webhook outbox's trigger: while at least one webhook exists, a
trigger on task_runs writes one `webhook_deliveries` row per webhook that
wants the event, in the statement (so the transaction) of the run's
transition. Every path that moves a run (store/transitions.py, SQLite's
hand-shaped claim and outcome SQL, its writer process) then writes the
outbox with no code of its own.

It exists only while webhooks do: created with a webhook, in the same
transaction, and dropped at the next start (before any worker) once none
is left: measured on a loaded two-core machine,
its mere presence slowed a worker's SQLite drain by about a fifth, even with
a WHEN clause that finds no webhook. A database without webhooks pays
nothing.

The events, read from the change: RUNNING with no `attempt_started_at`
before is `started`; SUCCEEDED, FAILED, ABORTED, PAUSED are themselves;
PENDING with a higher `attempt` is `retrying`."""

from __future__ import annotations

from sqlalchemy import Connection, text

from taskloom.definitions.records import TaskStatus
from taskloom.definitions.webhooks import DeliveryState, WebhookEvent

NAME = "task_runs_webhook_outbox"
FUNCTION = "taskloom_webhook_outbox"

_S, _E = TaskStatus, WebhookEvent
EVENT = f"""CASE
    WHEN NEW.status = '{_S.RUNNING.value}' AND OLD.attempt_started_at IS NULL
        THEN '{_E.STARTED.value}'
    WHEN NEW.status = '{_S.SUCCEEDED.value}' THEN '{_E.SUCCEEDED.value}'
    WHEN NEW.status = '{_S.FAILED.value}' THEN '{_E.FAILED.value}'
    WHEN NEW.status = '{_S.ABORTED.value}' THEN '{_E.ABORTED.value}'
    WHEN NEW.status = '{_S.PAUSED.value}' THEN '{_E.PAUSED.value}'
    WHEN NEW.status = '{_S.PENDING.value}' AND NEW.attempt > OLD.attempt
        THEN '{_E.RETRYING.value}'
END"""


def _insert(event: str, find: str) -> str:
    """One delivery per webhook that wants `event` (an SQL expression) for
    this run's definition; `find` formats the dialect's substring position."""
    wants_event = find.format("w.events", f"',' || {event} || ','")
    wants_definition = find.format("w.definition_ids", "',' || NEW.definition_id || ','")
    return f"""INSERT INTO webhook_deliveries (
        webhook_id, event, run_id, definition_id, run_name, run_status, attempt,
        output, error_code, error_message, created_by, occurred_at,
        state, attempts, next_attempt_at)
    SELECT w.id, {event}, NEW.id, NEW.definition_id, NEW.name, NEW.status, NEW.attempt,
        NEW.output, NEW.error_code, NEW.error_message, NEW.created_by, NEW.updated_at,
        '{DeliveryState.QUEUED.value}', 0, NEW.updated_at
    FROM webhooks AS w
    WHERE {wants_event} > 0
      AND (w.definition_ids IS NULL OR {wants_definition} > 0)"""


SQLITE_TRIGGER = f"""CREATE TRIGGER IF NOT EXISTS {NAME}
AFTER UPDATE OF status ON task_runs FOR EACH ROW
WHEN NEW.status IS NOT OLD.status AND ({EVENT}) IS NOT NULL
BEGIN
    {_insert(EVENT, "instr({0}, {1})")};
END"""

POSTGRES_FUNCTION = f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    run_event text := {EVENT};
BEGIN
    IF run_event IS NOT NULL THEN
        {_insert("run_event", "strpos({0}, {1})")};
    END IF;
    RETURN NULL;
END $$"""

POSTGRES_TRIGGER = f"""CREATE TRIGGER {NAME}
AFTER UPDATE OF status ON task_runs FOR EACH ROW
WHEN (NEW.status IS DISTINCT FROM OLD.status)
EXECUTE FUNCTION {FUNCTION}()"""

POSTGRES_HAS_TRIGGER = (
    f"SELECT count(*) FROM pg_trigger WHERE tgname = '{NAME}' AND tgrelid = 'task_runs'::regclass"
)
# Creating a trigger locks task_runs against writes, dropping one against
# reads too: an admin's webhook change waits at most this long for running
# transactions, then fails (and can be tried again) instead of stalling
# every worker queued behind it.
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '10s'"


def exists(conn: Connection) -> bool:
    if conn.dialect.name == "postgresql":
        return bool(conn.execute(text(POSTGRES_HAS_TRIGGER)).scalar_one())
    query = text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = :name")
    return bool(conn.execute(query, {"name": NAME}).scalar_one())


def arm(conn: Connection) -> None:
    """Creates the trigger unless it exists, in the caller's transaction
    (on PostgreSQL its function is replaced, so a newer version wins)."""
    if conn.dialect.name != "postgresql":
        conn.execute(text(SQLITE_TRIGGER))
        return
    conn.execute(text(LOCK_TIMEOUT))
    conn.execute(text(POSTGRES_FUNCTION))
    if not exists(conn):
        conn.execute(text(POSTGRES_TRIGGER))


def disarm(conn: Connection) -> None:
    """Drops the trigger, in the caller's transaction."""
    if conn.dialect.name != "postgresql":
        conn.execute(text(f"DROP TRIGGER IF EXISTS {NAME}"))
        return
    conn.execute(text(LOCK_TIMEOUT))
    conn.execute(text(f"DROP TRIGGER IF EXISTS {NAME} ON task_runs"))
    conn.execute(text(f"DROP FUNCTION IF EXISTS {FUNCTION}()"))
