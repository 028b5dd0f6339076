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

# 0004's SQLite-only report index (an expression index). SQLite's batch mode rebuilds the table
# and cannot carry expression indexes across, so it is taken off before and put back after.
REPORT_INDEX = ("CREATE INDEX ix_appeals_report ON appeals (ministry_id, sector_id, "
                "CAST(round((julianday(answered_at) - julianday(registered_at)) * 24.0) AS INTEGER), status, "
                "registered_at, deadline_at, answered_at, extended, reopen_count)")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        op.execute("DROP INDEX IF EXISTS ix_appeals_report")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_reminder_at", storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_appeals_next_reminder", ["next_reminder_at"], unique=False)
    if _sqlite():
        op.execute(REPORT_INDEX)


def downgrade() -> None:
    if _sqlite():
        op.execute("DROP INDEX IF EXISTS ix_appeals_report")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_next_reminder")
        batch_op.drop_column("next_reminder_at")
    if _sqlite():
        op.execute(REPORT_INDEX)
