"""API tokens may expire

`expires_at` (epoch seconds, NULL: never): from then on the token is
refused like a revoked one (issue 21).

Revision ID: 0010_token_expiry
Revises: 0010_definition_policies

Numbered 0011 after it landed beside 0010_definition_policies (both had
revised 0009): the revision keeps its id, chained after the other so there
is one head.
Create Date: 2026-12-06 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_token_expiry"
down_revision = "0010_definition_policies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
