"""As-run truth: dead letters, plausibility flags, airing detail and overflow carry.

Revision ID: 0005_as_run_truth
Revises: 0004_station_idents
Create Date: 2026-12-02 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005_as_run_truth"
down_revision: str | None = "0004_station_idents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("receiver_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dead_letter_receiver_id", "dead_letter", ["receiver_id"])
    with op.batch_alter_table("occurrence") as batch_op:
        batch_op.add_column(sa.Column("detail", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("overflow", sa.JSON(), nullable=True))
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.add_column(sa.Column("flags", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_column("flags")
    with op.batch_alter_table("occurrence") as batch_op:
        batch_op.drop_column("overflow")
        batch_op.drop_column("detail")
    op.drop_index("ix_dead_letter_receiver_id", table_name="dead_letter")
    op.drop_table("dead_letter")
