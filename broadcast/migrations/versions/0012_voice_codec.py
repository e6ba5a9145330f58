"""Voice (engine, accent, speed) per area, station and bulletin; delivery codec per station.

Revision ID: 0012_voice_codec
Revises: 0011_blackouts
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_voice_codec"
down_revision: str | None = "0011_blackouts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VOICE_TABLES = ("area", "station", "bulletin")


def upgrade() -> None:
    for table in _VOICE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("tts_engine", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
            )
            batch_op.add_column(
                sa.Column("tts_accent", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
            )
            batch_op.add_column(sa.Column("tts_speed", sa.Float(), nullable=True))
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audio_codec", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
        batch_op.add_column(sa.Column("opus_bitrate_kbps", sa.Integer(), nullable=True))
    with op.batch_alter_table("receiver", schema=None) as batch_op:
        batch_op.add_column(sa.Column("codecs", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receiver", schema=None) as batch_op:
        batch_op.drop_column("codecs")
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.drop_column("opus_bitrate_kbps")
        batch_op.drop_column("audio_codec")
    for table in reversed(_VOICE_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("tts_speed")
            batch_op.drop_column("tts_accent")
            batch_op.drop_column("tts_engine")
