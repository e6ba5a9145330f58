"""Audio error reasons: the stable code and fields of a failed rendering.

Revision ID: 0007_audio_error_reason
Revises: 0006_token_revocation
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_audio_error_reason"
down_revision: str | None = "0006_token_revocation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("translation") as batch_op:
        batch_op.add_column(sa.Column("audio_error_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("audio_error_fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("translation") as batch_op:
        batch_op.drop_column("audio_error_fields")
        batch_op.drop_column("audio_error_code")
