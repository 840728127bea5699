"""claim index in the claim's order again, on SQLite

Alembic's batch mode rebuilds a SQLite table to change it (0009's claim
token, 0012's waits, and later columns) and made the claim index again from
what SQLite reports of it, which drops `priority DESC`. The claim, which
reads that index in `priority DESC, run_at` order, then sorted every due run
at each claim: a drain of 20,000 runs fell from about 30,000 to 13,000 runs/s.
This makes the index as 0005 did. tests/integration/test_store_indexes.py
holds the migrated index's definition.

Revision ID: 0017_claim_index_desc
Revises: 0016_webhook_trigger_on_demand
Create Date: 2026-12-06 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_claim_index_desc"
down_revision = "0016_webhook_trigger_on_demand"
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
    """Nothing: the index this replaces was the same, in the wrong order."""
