"""Campaigns with their themes and target areas; border communes; bulletins in a campaign.

Revision ID: 0016_campaigns
Revises: 0015_series_edits
Create Date: 2026-12-04 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016_campaigns"
down_revision: str | None = "0015_series_edits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("legal_basis", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("min_airings_per_week", sa.Integer(), nullable=True),
        sa.Column("min_minutes_per_theme_per_month", sa.Integer(), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_area_id"), ["area_id"], unique=False)
    op.create_table(
        "campaign_theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "code"),
    )
    with op.batch_alter_table("campaign_theme", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_theme_campaign_id"), ["campaign_id"], unique=False
        )
    op.create_table(
        "campaign_target",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("border_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("campaign_id", "area_id"),
    )
    with op.batch_alter_table("campaign_target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_target_area_id"), ["area_id"], unique=False)
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("border", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("theme_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_bulletin_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulletin_theme_id"), ["theme_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_bulletin_campaign_id", "campaign", ["campaign_id"], ["id"]
        )
        batch_op.create_foreign_key("fk_bulletin_theme_id", "campaign_theme", ["theme_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bulletin_theme_id", type_="foreignkey")
        batch_op.drop_constraint("fk_bulletin_campaign_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_bulletin_theme_id"))
        batch_op.drop_index(batch_op.f("ix_bulletin_campaign_id"))
        batch_op.drop_column("theme_id")
        batch_op.drop_column("campaign_id")
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.drop_column("border")
    with op.batch_alter_table("campaign_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_target_area_id"))
    op.drop_table("campaign_target")
    with op.batch_alter_table("campaign_theme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_theme_campaign_id"))
    op.drop_table("campaign_theme")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_area_id"))
    op.drop_table("campaign")
