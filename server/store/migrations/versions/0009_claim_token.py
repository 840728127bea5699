"""claim token: each claim of a run counts up `claims`

An outcome is saved only while the run is still held by the claim that
produced it (`claims` equal to the count its claim returned), not merely by
the same worker: a worker whose run was rescued under a long write lock and
claimed again by itself no longer saves the first execution's outcome too.

Revision ID: 0009_claim_token
Revises: 0008_idempotency_scope
Create Date: 2026-12-06 13:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_claim_token"
down_revision = "0008_idempotency_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claims", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("task_runs", schema=None) as batch_op:
        batch_op.drop_column("claims")
