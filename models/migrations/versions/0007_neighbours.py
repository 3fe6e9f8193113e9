"""Engaged neighbours: consent, visibility, public name and a coarse (geohash-6) position.

Revision ID: 0007
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "neighbour_profiles",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("consented_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(length=32), nullable=True),
        sa.Column("cell", sa.String(length=8), nullable=True),
        sa.Column("cell_updated_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_neighbour_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_neighbour_profiles")),
    )
    with op.batch_alter_table("neighbour_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_neighbour_profiles_cell"), ["cell"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("neighbour_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_neighbour_profiles_cell"))
    op.drop_table("neighbour_profiles")
