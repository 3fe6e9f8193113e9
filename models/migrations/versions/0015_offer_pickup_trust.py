"""Offers: pickup instructions, and the reserver's record (no-shows, issue #16)

Revision ID: 0015_offer_pickup_trust
Revises: 0014_maker_pin
Create Date: 2026-12-03 14:30:00

A no-show is a reservation whose status is 'no_show' (the column is a plain string, so
the new value needs no change of type); the index serves counting a person's record.
Reservations released before this stay 'released': they are not counted against anyone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_offer_pickup_trust"
down_revision: str | None = "0014_maker_pin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Both tables are altered in place, never rebuilt: rebuilding `offers` on SQLite would
# delete its reservations and reports through ON DELETE CASCADE.
def upgrade() -> None:
    op.add_column(
        "offers",
        sa.Column("pickup_note", sa.String(length=200), server_default="", nullable=False),
    )
    op.create_index(
        "ix_offer_reservations_user_id_status",
        "offer_reservations",
        ["user_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_offer_reservations_user_id_status", table_name="offer_reservations")
    # No-shows read as what they were called before: released at the window's end.
    op.execute("UPDATE offer_reservations SET status = 'released' WHERE status = 'no_show'")
    op.drop_column("offers", "pickup_note")
