"""the webhook outbox trigger only while a webhook exists

0013 created the trigger for every database; its presence alone slowed a
worker's SQLite drain by about a fifth. It is now created with a webhook
and dropped at a start once none is left (server/store/webhook_outbox.py):
here it goes where no webhook exists.

Revision ID: 0016_webhook_trigger_on_demand
Revises: 0015_run_traceparent
Create Date: 2026-12-06 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_webhook_trigger_on_demand"
down_revision = "0015_run_traceparent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM webhooks")).scalar_one():
        return
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS task_runs_webhook_outbox ON task_runs")
        op.execute("DROP FUNCTION IF EXISTS taskloom_webhook_outbox()")
    else:
        op.execute("DROP TRIGGER IF EXISTS task_runs_webhook_outbox")


def downgrade() -> None:
    pass  # the next webhook created arms the trigger either way
