"""Delivery attempts: a failed delivery can be sent again, with its own as-run events.

Revision ID: 0008_delivery_attempts
Revises: 0007_audio_error_reason
Create Date: 2026-12-03 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_delivery_attempts"
down_revision: str | None = "0007_audio_error_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The unique constraint of 0003 was created unnamed: this names it as each database
# did (PostgreSQL: <table>_<columns>_key), so batch mode can drop it on SQLite too.
NAMING = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}
OLD = "delivery_event_delivery_id_state_key"
NEW = "uq_delivery_event_attempt"


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("delivery_event", naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.Integer(), server_default="1", nullable=False))
        batch_op.drop_constraint(OLD, type_="unique")
        batch_op.create_unique_constraint(NEW, ["delivery_id", "attempt", "state"])


def downgrade() -> None:
    with op.batch_alter_table("delivery_event", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(NEW, type_="unique")
        batch_op.create_unique_constraint(OLD, ["delivery_id", "state"])
        batch_op.drop_column("attempt")
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_column("attempt")
