"""partial indexes: running key, finished, worker, parent, idempotency key

Most runs are not running and have no finish time (yet), worker, parent or
key, so their entries in these indexes only cost each commit a page. Every
query on these columns compares them with a value (or spells the running
condition literally), so it can still use them.

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

RUNNING_KEY = ["status", "definition_id", "concurrency_key"]
INDEXES = (
    ("ix_task_runs_running_key", RUNNING_KEY, False, "status = 'RUNNING'"),
    ("ix_task_runs_finished", ["finished_at"], False, "finished_at IS NOT NULL"),
    ("ix_task_runs_worker", ["worker_id"], False, "worker_id IS NOT NULL"),
    ("ix_task_runs_parent_id", ["parent_id"], False, "parent_id IS NOT NULL"),
    (
        "ux_task_runs_idempotency",
        ["definition_id", "idempotency_key"],
        True,
        "idempotency_key IS NOT NULL",
    ),
)


def upgrade() -> None:
    for name, columns, unique, where in INDEXES:
        op.drop_index(name, table_name="task_runs")
        condition = sa.text(where)
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
