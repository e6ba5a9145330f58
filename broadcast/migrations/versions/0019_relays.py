"""Relays of live radio: relay sources, relay broadcasts, receivers' features, lost time.

Revision ID: 0019_relays
Revises: 0018_language_reviewers
Create Date: 2026-12-04 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019_relays"
down_revision: str | None = "0018_language_reviewers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("area_id", "name"),
    )
    with op.batch_alter_table("relay_source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relay_source_area_id"), ["area_id"], unique=False)
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="bulletin", nullable=False)
        )
        batch_op.add_column(sa.Column("relay_source_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("duration_seconds", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_broadcast_relay_source_id"), ["relay_source_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_broadcast_relay_source_id", "relay_source", ["relay_source_id"], ["id"]
        )
    with op.batch_alter_table("receiver", schema=None) as batch_op:
        batch_op.add_column(sa.Column("features", sa.JSON(), nullable=True))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lost_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("reconnects", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("reconnects")
        batch_op.drop_column("lost_seconds")
    with op.batch_alter_table("receiver", schema=None) as batch_op:
        batch_op.drop_column("features")
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_constraint("fk_broadcast_relay_source_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_broadcast_relay_source_id"))
        batch_op.drop_column("duration_seconds")
        batch_op.drop_column("relay_source_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("relay_source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_source_area_id"))
    op.drop_table("relay_source")
