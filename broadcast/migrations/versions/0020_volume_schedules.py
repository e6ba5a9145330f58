"""Volume by time of day per station and receiver; the volume receivers report.

Revision ID: 0020_volume_schedules
Revises: 0019_relays
Create Date: 2026-12-04 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_volume_schedules"
down_revision: str | None = "0019_relays"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(sa.Column("volume_schedule", sa.JSON(), nullable=True))
    with op.batch_alter_table("receiver", schema=None) as batch_op:
        batch_op.add_column(sa.Column("volume_schedule", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reported_volume", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reported_volume_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("receiver", schema=None) as batch_op:
        batch_op.drop_column("reported_volume_at")
        batch_op.drop_column("reported_volume")
        batch_op.drop_column("volume_schedule")
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.drop_column("volume_schedule")
