"""claim index without RUNNING runs, on SQLite

The running-key index already holds every RUNNING run. Left out of the
claim index, a run's claim takes one entry out of it and its outcome puts
one back, where each moved an entry from one status to another. Queries
spell the condition (models.has_status) so that SQLite still uses it.
PostgreSQL keeps its full index: a generic plan of a prepared statement
could not prove the condition from a bound status.

Revision ID: 0005_claim_index_without_running
Revises: 0004_no_worker_index
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_claim_index_without_running"
down_revision = "0004_no_worker_index"
branch_labels = None
depends_on = None

COLUMNS: list[str | sa.TextClause] = ["status", sa.text("priority DESC"), "run_at"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_task_runs_claim", table_name="task_runs")
    op.create_index(
        "ix_task_runs_claim", "task_runs", COLUMNS, sqlite_where=sa.text("status <> 'RUNNING'")
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_task_runs_claim", table_name="task_runs")
    op.create_index("ix_task_runs_claim", "task_runs", COLUMNS)
