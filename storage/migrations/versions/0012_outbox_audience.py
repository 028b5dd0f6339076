"""outbox.audience and outbox.fresh: a staff message is re-checked when sent; a returned card is a new message;
report_requests: heavy reports are built away from the conversations

Revision ID: 0012
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("fresh", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "report_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("files", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_report_requests_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_requests")),
    )
    op.create_index("ix_report_requests_status", "report_requests", ["status", "id"])
    op.create_index(op.f("ix_report_requests_user_id"), "report_requests", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_report_requests_user_id"), table_name="report_requests")
    op.drop_index("ix_report_requests_status", table_name="report_requests")
    op.drop_table("report_requests")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("fresh")
        batch_op.drop_column("audience")
