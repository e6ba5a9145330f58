"""Filler: a station's announced broadcast hours and what fills them; what receivers hold.

Revision ID: 0022_filler
Revises: 0021_reair
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_filler"
down_revision: str | None = "0021_reair"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filler", sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table("receiver", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filler_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("filler_sent", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("filler_sent_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("receiver", schema=None) as batch_op:
        batch_op.drop_column("filler_sent_at")
        batch_op.drop_column("filler_sent")
        batch_op.drop_column("filler_version")
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.drop_column("filler")
