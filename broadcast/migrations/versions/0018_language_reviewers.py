"""Language reviewers named by an area; a language reviewer's sign-off on each version.

Revision ID: 0018_language_reviewers
Revises: 0017_notifications
Create Date: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018_language_reviewers"
down_revision: str | None = "0017_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "language_reviewer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"]),
        sa.ForeignKeyConstraint(["language"], ["language.code"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("area_id", "language", "user_id"),
    )
    with op.batch_alter_table("language_reviewer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_language_reviewer_area_id"), ["area_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_language_reviewer_user_id"), ["user_id"], unique=False
        )
    with op.batch_alter_table("translation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_decision", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "review_note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
            )
        )
        batch_op.create_foreign_key(
            "fk_translation_reviewed_by_id", "user", ["reviewed_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("translation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_translation_reviewed_by_id", type_="foreignkey")
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by_id")
        batch_op.drop_column("review_decision")
    with op.batch_alter_table("language_reviewer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_language_reviewer_user_id"))
        batch_op.drop_index(batch_op.f("ix_language_reviewer_area_id"))
    op.drop_table("language_reviewer")
