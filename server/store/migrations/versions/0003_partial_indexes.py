"""partial indexes on worker, parent and idempotency key

Most runs have none of the three, so their index entries only cost every
trigger's commit a page.

Revision ID: 0003_partial_indexes
Revises: 0002_run_control, 0002_api_tokens
Create Date: 2026-11-23 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_partial_indexes"
down_revision = ("0002_run_control", "0002_api_tokens")
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_task_runs_worker", ["worker_id"], False, "worker_id"),
    ("ix_task_runs_parent_id", ["parent_id"], False, "parent_id"),
    ("ux_task_runs_idempotency", ["definition_id", "idempotency_key"], True, "idempotency_key"),
)


def upgrade() -> None:
    for name, columns, unique, where in INDEXES:
        op.drop_index(name, table_name="task_runs")
        condition = sa.text(f"{where} IS NOT NULL")
        op.create_index(
            name,
            "task_runs",
            columns,
            unique=unique,
            sqlite_where=condition,
            postgresql_where=condition,
        )


def downgrade() -> None:
    for name, columns, unique, _where in INDEXES:
        op.drop_index(name, table_name="task_runs")
        op.create_index(name, "task_runs", columns, unique=unique)
