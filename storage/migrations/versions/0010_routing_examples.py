"""routing_examples: each appeal's final sector and category, the classifier's learned examples

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sector_id", sa.String(length=64), nullable=False),
        sa.Column("category_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_routing_examples_appeal_id_appeals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_examples")),
        sa.UniqueConstraint("appeal_id", name=op.f("uq_routing_examples_appeal_id")),
    )
    op.create_index(op.f("ix_routing_examples_at"), "routing_examples", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_routing_examples_at"), table_name="routing_examples")
    op.drop_table("routing_examples")
