"""definition policies: paused definitions, rate-limit starts, last worker

`paused_definitions` holds the definitions no worker may claim runs of
(pauseDefinition); `rate_limit_starts` the starts of rate-limited runs
within their limit's period; `task_runs.last_worker_id` the worker of a
run's latest claim, kept after the run ends.

Revision ID: 0010_definition_policies
Revises: 0009_claim_token
Create Date: 2026-12-06 13:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_definition_policies"
down_revision = "0009_claim_token"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paused_definitions",
        sa.Column("definition_id", sa.String(length=200), nullable=False),
        sa.Column("paused_at", sa.Float(), nullable=False),
        sa.Column("paused_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("definition_id"),
    )
    op.create_table(
        "rate_limit_starts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.String(length=200), nullable=False),
        sa.Column("limit_key", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rate_limit_starts_window",
        "rate_limit_starts",
        ["definition_id", "limit_key", "started_at"],
    )
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_worker_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.drop_column("last_worker_id")
    op.drop_index("ix_rate_limit_starts_window", table_name="rate_limit_starts")
    op.drop_table("rate_limit_starts")
    op.drop_table("paused_definitions")
