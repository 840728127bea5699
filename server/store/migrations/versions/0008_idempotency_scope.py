"""idempotency keys scoped by who triggered

A key used to be unique per definition alone, so a caller who knew (or
guessed) another's key was handed that caller's run, and could take a key
first to have a later trigger of someone else return his run (issue 21).
Now a key is unique per definition and scope: the owner who triggered the
run (`created_by`), or '' for the system and the scheduler's ticks.

Revision ID: 0008_idempotency_scope
Revises: 0006_claim_index_ordered_by_id
Create Date: 2026-12-06 13:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_idempotency_scope"
down_revision = "0006_claim_index_ordered_by_id"
branch_labels = None
depends_on = None

INDEX = "ux_task_runs_idempotency"
KEYED = "idempotency_key IS NOT NULL"


def _unique(columns: list[str]) -> None:
    condition = sa.text(KEYED)
    op.create_index(
        INDEX,
        "task_runs",
        columns,
        unique=True,
        sqlite_where=condition,
        postgresql_where=condition,
    )


def upgrade() -> None:
    op.add_column("task_runs", sa.Column("idempotency_scope", sa.String(200), nullable=True))
    op.execute(
        "UPDATE task_runs SET idempotency_scope = coalesce(created_by, '') "
        "WHERE idempotency_key IS NOT NULL"
    )
    op.drop_index(INDEX, table_name="task_runs")
    _unique(["definition_id", "idempotency_scope", "idempotency_key"])


def downgrade() -> None:
    # Keys two owners both used cannot be unique per definition again: the
    # later runs lose theirs.
    op.execute(
        "UPDATE task_runs SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM task_runs AS earlier WHERE "
        "earlier.definition_id = task_runs.definition_id "
        "AND earlier.idempotency_key = task_runs.idempotency_key "
        "AND earlier.id < task_runs.id)"
    )
    op.drop_index(INDEX, table_name="task_runs")
    _unique(["definition_id", "idempotency_key"])
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.drop_column("idempotency_scope")
