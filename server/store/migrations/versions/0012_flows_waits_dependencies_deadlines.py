"""flows: runs waiting for children or dependencies, deadlines, who aborted

`waiting` (CHILDREN or DEPENDENCIES) marks a PENDING run that is not due
until those end; `task_run_dependencies` holds `trigger(..., after=[...])`;
`deadline_seconds` and `expires_at` bound a run's life; `aborted_by` and
`abort_reason` say who aborted it and why.

Revision ID: 0012_flows
Revises: 0010_token_expiry
Create Date: 2026-12-06 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_flows"
down_revision = "0010_token_expiry"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("waiting", sa.String(length=16), nullable=True),
        sa.Column("has_dependents", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("deadline_seconds", sa.Float(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("aborted_by", sa.String(length=200), nullable=True),
        sa.Column("abort_reason", sa.Text(), nullable=True),
    ]


INDEXES = (
    ("ix_task_runs_waiting", ["waiting"], "waiting IS NOT NULL"),
    ("ix_task_runs_expires", ["expires_at"], "expires_at IS NOT NULL"),
    ("ix_task_runs_deadline", ["started_at"], "deadline_seconds IS NOT NULL"),
)


def upgrade() -> None:
    with op.batch_alter_table("task_runs") as batch_op:
        for column in _columns():
            batch_op.add_column(column)
    for name, columns, where in INDEXES:
        condition = sa.text(where)
        op.create_index(
            name, "task_runs", columns, sqlite_where=condition, postgresql_where=condition
        )
    op.create_table(
        "task_run_dependencies",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("depends_on", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["task_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "depends_on"),
    )
    op.create_index("ix_task_run_dependencies_on", "task_run_dependencies", ["depends_on"])


def downgrade() -> None:
    op.drop_index("ix_task_run_dependencies_on", table_name="task_run_dependencies")
    op.drop_table("task_run_dependencies")
    for name, _names, _where in INDEXES:
        op.drop_index(name, table_name="task_runs")
    with op.batch_alter_table("task_runs") as batch_op:
        for column in reversed(_columns()):
            batch_op.drop_column(column.name)
