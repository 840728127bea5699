"""schedules made through the API

`api_schedules`: createSchedule's schedules, each with its own id, cron
expression, time zone and input; several may name one definition. The
class-level `schedule` keeps its row in task_schedules.

Revision ID: 0014_api_schedules
Revises: 0013_webhooks
Create Date: 2026-12-06 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_api_schedules"
down_revision = "0013_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_schedules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("definition_id", sa.String(length=200), nullable=False),
        sa.Column("expression", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=100), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("next_run_at", sa.Float(), nullable=False),
        sa.Column("last_run_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_schedules_next", "api_schedules", ["next_run_at"])


def downgrade() -> None:
    op.drop_index("ix_api_schedules_next", table_name="api_schedules")
    op.drop_table("api_schedules")
