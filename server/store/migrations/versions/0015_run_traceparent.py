"""a run's trace context

`task_runs.traceparent`: the W3C trace context of the span that triggered
the run (with the taskloom[otel] extra), so that its iterations, in any
worker, are spans of the same trace. Added with a plain ALTER TABLE: a
batch rebuild of task_runs on SQLite would drop the webhook outbox trigger
(0013).

Revision ID: 0015_run_traceparent
Revises: 0014_api_schedules
Create Date: 2026-12-06 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_run_traceparent"
down_revision = "0014_api_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("task_runs", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    op.drop_column("task_runs", "traceparent")
