"""A relay conversation per reservation (issue #16): relayed messages, blocks and reports

Revision ID: 0016_relay
Revises: 0014_maker_pin
Create Date: 2026-12-03 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0016_relay"
down_revision: str | None = "0015_offer_pickup_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_relay_messages_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["offer_reservations.id"],
            name=op.f("fk_relay_messages_reservation_id_offer_reservations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_relay_messages_sender_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_messages")),
    )
    with op.batch_alter_table("relay_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relay_messages_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_relay_messages_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_relay_messages_sender_id"), ["sender_id"], unique=False)
        batch_op.create_index(
            "ix_relay_messages_rate", ["reservation_id", "sender_id", "created_at"], unique=False
        )

    op.create_table(
        "relay_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_relay_flags_actor_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["offer_reservations.id"],
            name=op.f("fk_relay_flags_reservation_id_offer_reservations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_flags")),
        sa.UniqueConstraint("reservation_id", "actor_id", "kind", name="uq_relay_flags_once"),
    )
    with op.batch_alter_table("relay_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relay_flags_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_relay_flags_reservation_id"), ["reservation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_relay_flags_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("relay_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_flags_status"))
        batch_op.drop_index(batch_op.f("ix_relay_flags_reservation_id"))
        batch_op.drop_index(batch_op.f("ix_relay_flags_actor_id"))
    op.drop_table("relay_flags")
    with op.batch_alter_table("relay_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_relay_messages_rate")
        batch_op.drop_index(batch_op.f("ix_relay_messages_sender_id"))
        batch_op.drop_index(batch_op.f("ix_relay_messages_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_relay_messages_created_at"))
    op.drop_table("relay_messages")
