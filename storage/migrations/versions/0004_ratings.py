"""ratings of answers, and the indexes of the reports

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Must read exactly as storage.rating_models.sqlite_answer_hours() compiles: SQLite matches an
# indexed expression only when the query spells the same expression.
SQLITE_ANSWER_HOURS = "CAST(round((julianday(answered_at) - julianday(registered_at)) * 24.0) AS INTEGER)"


def upgrade() -> None:
    op.create_table(
        "appeal_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("answer_no", sa.Integer(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("ministry_id", sa.String(length=64), nullable=False),
        sa.Column("sector_id", sa.String(length=64), nullable=False),
        sa.Column("registered_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_appeal_ratings_appeal_id_appeals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_ratings")),
        sa.UniqueConstraint("appeal_id", "answer_no", name=op.f("uq_appeal_ratings_appeal_id")),
    )
    with op.batch_alter_table("appeal_ratings", schema=None) as batch_op:
        batch_op.create_index("ix_appeal_ratings_at", ["at"], unique=False)
        batch_op.create_index("ix_appeal_ratings_report", ["ministry_id", "sector_id", "score", "registered_at"],
                              unique=False)
    # The reports read appeals by registration time, the rating reminder by answer time, the digest
    # events by kind and time: index ranges instead of full scans.
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index("ix_appeals_registered_at", ["registered_at"], unique=False)
        batch_op.create_index("ix_appeals_status_answered", ["status", "answered_at"], unique=False)
    with op.batch_alter_table("appeal_events", schema=None) as batch_op:
        batch_op.create_index("ix_appeal_events_kind_at", ["kind", "at"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite groups by sorting: this index holds the appeals in the statistics' group order
        # (see storage.rating_models.sqlite_answer_hours; not in the models, PostgreSQL needs none).
        op.execute("CREATE INDEX ix_appeals_report ON appeals (ministry_id, sector_id, "
                   f"{SQLITE_ANSWER_HOURS}, status, registered_at, deadline_at, answered_at, extended, reopen_count)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_appeals_report")
    with op.batch_alter_table("appeal_events", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_events_kind_at")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_status_answered")
        batch_op.drop_index("ix_appeals_registered_at")
    with op.batch_alter_table("appeal_ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_ratings_report")
        batch_op.drop_index("ix_appeal_ratings_at")
    op.drop_table("appeal_ratings")
