"""appeals.next_reminder_at: the deadline scan reads only due rows

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_reminder_at", storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_appeals_next_reminder", ["next_reminder_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_next_reminder")
        batch_op.drop_column("next_reminder_at")
