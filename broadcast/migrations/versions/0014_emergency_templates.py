"""Emergency templates per area, hazard and language: parts and recorded slot values.

Also: the template a bulletin version was assembled from, and an alert's hazard and the
templates that voiced its languages.

Revision ID: 0014_emergency_templates
Revises: 0013_webhooks
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0014_emergency_templates"
down_revision: str | None = "0013_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emergency_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("hazard", sa.String(length=16), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("preview_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["area.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["language"],
            ["language.code"],
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("area_id", "hazard", "language"),
    )
    with op.batch_alter_table("emergency_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_template_area_id"), ["area_id"], unique=False
        )

    op.create_table(
        "emergency_slot_recording",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recording_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("audio_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("audio_bytes", sa.Integer(), nullable=False),
        sa.Column("audio_duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["emergency_template.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("template_id", "slot", "value"),
    )
    with op.batch_alter_table("emergency_slot_recording", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_slot_recording_template_id"), ["template_id"], unique=False
        )

    op.create_table(
        "emergency_template_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("recording_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("audio_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("audio_bytes", sa.Integer(), nullable=True),
        sa.Column("audio_duration_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["emergency_template.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("template_id", "position"),
    )
    with op.batch_alter_table("emergency_template_part", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_template_part_template_id"), ["template_id"], unique=False
        )

    with op.batch_alter_table("cap_alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("templates", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("hazard", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )

    with op.batch_alter_table("translation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("translation", schema=None) as batch_op:
        batch_op.drop_column("template_id")

    with op.batch_alter_table("cap_alert", schema=None) as batch_op:
        batch_op.drop_column("hazard")
        batch_op.drop_column("templates")

    with op.batch_alter_table("emergency_template_part", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_template_part_template_id"))

    op.drop_table("emergency_template_part")
    with op.batch_alter_table("emergency_slot_recording", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_slot_recording_template_id"))

    op.drop_table("emergency_slot_recording")
    with op.batch_alter_table("emergency_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_template_area_id"))

    op.drop_table("emergency_template")
