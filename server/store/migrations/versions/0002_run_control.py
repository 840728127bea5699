"""run control: concurrency keys and schedules

Revision ID: 0002_run_control
Revises: 0001
Create Date: 2026-11-23 09:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_run_control"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("concurrency_key", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_task_runs_running_key", ["status", "definition_id", "concurrency_key"], unique=False
        )
    op.create_table(
        "task_schedules",
        sa.Column("definition_id", sa.String(length=200), nullable=False),
        sa.Column("expression", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.Float(), nullable=True),
        sa.Column("last_run_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("definition_id"),
    )


def downgrade() -> None:
    op.drop_table("task_schedules")
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_task_runs_running_key")
        batch_op.drop_column("concurrency_key")
