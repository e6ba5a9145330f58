"""A broadcast made by editing another's airings names it.

Revision ID: 0015_series_edits
Revises: 0014_emergency_templates
Create Date: 2026-12-04 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_series_edits"
down_revision: str | None = "0014_emergency_templates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_from_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("edited_from_seq", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_broadcast_edited_from_id"), ["edited_from_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_broadcast_edited_from_id", "broadcast", ["edited_from_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_constraint("fk_broadcast_edited_from_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_broadcast_edited_from_id"))
        batch_op.drop_column("edited_from_seq")
        batch_op.drop_column("edited_from_id")
