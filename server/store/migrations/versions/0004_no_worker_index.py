"""no worker index: a run's worker is looked up among RUNNING runs only

Every lookup by worker_id also asks for status RUNNING, which the claim
index (status first) and the running-key index already find; the worker
index only cost each claim an entry in and each outcome one out.

Revision ID: 0004_no_worker_index
Revises: 0003_partial_indexes
Create Date: 2026-11-23 19:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_no_worker_index"
down_revision = "0003_partial_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_task_runs_worker", table_name="task_runs")


def downgrade() -> None:
    condition = sa.text("worker_id IS NOT NULL")
    op.create_index(
        "ix_task_runs_worker",
        "task_runs",
        ["worker_id"],
        sqlite_where=condition,
        postgresql_where=condition,
    )
