"""webhooks, and their outbox written by the transition itself

`webhooks` holds the endpoints; `webhook_deliveries` is the outbox and the
record of each delivery. A trigger on task_runs writes one delivery per
subscribed webhook whenever a run's status changes to an event someone
wants, in the statement (so the transaction) of the transition: every path
that moves a run (the portable statements of store/transitions.py, SQLite's
hand-shaped claim and outcome SQL, its writer process) writes the outbox
with no code of its own, and nothing is written when no webhook exists.

The events: started (RUNNING, the attempt's first claim), succeeded, failed,
aborted, paused, retrying (PENDING as a later attempt).

Revision ID: 0013_webhooks
Revises: 0012_flows
Create Date: 2026-12-06 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_webhooks"
down_revision = "0012_flows"
branch_labels = None
depends_on = None

EVENT = """CASE
    WHEN NEW.status = 'RUNNING' AND OLD.attempt_started_at IS NULL THEN 'started'
    WHEN NEW.status = 'SUCCEEDED' THEN 'succeeded'
    WHEN NEW.status = 'FAILED' THEN 'failed'
    WHEN NEW.status = 'ABORTED' THEN 'aborted'
    WHEN NEW.status = 'PAUSED' THEN 'paused'
    WHEN NEW.status = 'PENDING' AND NEW.attempt > OLD.attempt THEN 'retrying'
END"""


def _insert(event: str, find: str) -> str:
    """One delivery per webhook that wants `event` (an SQL expression) for
    this run's definition; `find(haystack, needle)` is the dialect's
    substring position."""
    wants_event = find.format("w.events", f"',' || {event} || ','")
    wants_definition = find.format("w.definition_ids", "',' || NEW.definition_id || ','")
    return f"""INSERT INTO webhook_deliveries (
        webhook_id, event, run_id, definition_id, run_name, run_status, attempt,
        output, error_code, error_message, created_by, occurred_at,
        state, attempts, next_attempt_at)
    SELECT w.id, {event}, NEW.id, NEW.definition_id, NEW.name, NEW.status, NEW.attempt,
        NEW.output, NEW.error_code, NEW.error_message, NEW.created_by, NEW.updated_at,
        'queued', 0, NEW.updated_at
    FROM webhooks AS w
    WHERE {wants_event} > 0
      AND (w.definition_ids IS NULL OR {wants_definition} > 0)"""


SQLITE_TRIGGER = f"""CREATE TRIGGER task_runs_webhook_outbox
AFTER UPDATE OF status ON task_runs FOR EACH ROW
WHEN NEW.status IS NOT OLD.status AND EXISTS (SELECT 1 FROM webhooks)
    AND ({EVENT}) IS NOT NULL
BEGIN
    {_insert(EVENT, "instr({0}, {1})")};
END"""

POSTGRES_FUNCTION = f"""CREATE FUNCTION taskloom_webhook_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    run_event text := {EVENT};
BEGIN
    IF run_event IS NOT NULL AND EXISTS (SELECT 1 FROM webhooks) THEN
        {_insert("run_event", "strpos({0}, {1})")};
    END IF;
    RETURN NULL;
END $$"""

POSTGRES_TRIGGER = """CREATE TRIGGER task_runs_webhook_outbox
AFTER UPDATE OF status ON task_runs FOR EACH ROW
WHEN (NEW.status IS DISTINCT FROM OLD.status)
EXECUTE FUNCTION taskloom_webhook_outbox()"""


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.String(length=200), nullable=False),
        sa.Column("definition_ids", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("definition_id", sa.String(length=200), nullable=False),
        sa.Column("run_name", sa.String(length=500), nullable=True),
        sa.Column("run_status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=100), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("last_attempt_at", sa.Float(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    queued = sa.text("state = 'queued'")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due",
            ["next_attempt_at"],
            sqlite_where=queued,
            postgresql_where=queued,
        )
        batch_op.create_index("ix_webhook_deliveries_webhook", ["webhook_id", "id"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS task_runs_webhook_outbox ON task_runs"
        if op.get_context().dialect.name == "postgresql"
        else "DROP TRIGGER IF EXISTS task_runs_webhook_outbox"
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS taskloom_webhook_outbox()")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
