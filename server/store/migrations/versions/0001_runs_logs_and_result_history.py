"""runs, logs and result history

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:24:57.187697
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("definition_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested", sa.String(length=16), nullable=True),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=100), nullable=True),
        sa.Column("error_data", sa.JSON(), nullable=True),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("progress_current", sa.Float(), nullable=True),
        sa.Column("progress_total", sa.Float(), nullable=True),
        sa.Column("progress_units", sa.String(length=100), nullable=True),
        sa.Column("status_message", sa.String(length=500), nullable=True),
        sa.Column("has_errors", sa.Boolean(), nullable=False),
        sa.Column("simulate", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("scheduled_at", sa.Float(), nullable=False),
        sa.Column("run_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("attempt_started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("worker_id", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.Float(), nullable=True),
        sa.Column("lease_losses", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["task_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.create_index("ix_task_runs_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_task_runs_definition_created", ["definition_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_task_runs_finished", ["finished_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_runs_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index("ix_task_runs_worker", ["worker_id"], unique=False)
        batch_op.create_index(
            "ux_task_runs_idempotency", ["definition_id", "idempotency_key"], unique=True
        )
    # Claims scan this in order: highest priority, then earliest due.
    op.create_index(
        "ix_task_runs_claim", "task_runs", ["status", sa.text("priority DESC"), "run_at"]
    )

    op.create_table(
        "task_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["task_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.create_index("ix_task_logs_run", ["run_id", "id"], unique=False)

    op.create_table(
        "task_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=100), nullable=True),
        sa.Column("error_data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["task_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("task_results", schema=None) as batch_op:
        batch_op.create_index("ix_task_results_run", ["run_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task_results", schema=None) as batch_op:
        batch_op.drop_index("ix_task_results_run")

    op.drop_table("task_results")
    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_task_logs_run")

    op.drop_table("task_logs")
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.drop_index("ux_task_runs_idempotency")
        batch_op.drop_index("ix_task_runs_worker")
        batch_op.drop_index(batch_op.f("ix_task_runs_parent_id"))
        batch_op.drop_index("ix_task_runs_finished")
        batch_op.drop_index("ix_task_runs_definition_created")
        batch_op.drop_index("ix_task_runs_created")

    op.drop_table("task_runs")
