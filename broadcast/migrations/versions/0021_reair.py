"""A delivery an emergency interrupted is aired again, with its own deadlines.

Revision ID: 0021_reair
Revises: 0020_volume_schedules
Create Date: 2026-12-04 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_reair"
down_revision: str | None = "0020_volume_schedules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interrupted_by", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("reair_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reair_deadline_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("reair_deadline_at")
        batch_op.drop_column("reair_expires_at")
        batch_op.drop_column("interrupted_by")
