"""A maker's pin says whether it is at the door or at a town's centre (issue #17)

Revision ID: 0014_maker_pin
Revises: 0012_events
Create Date: 2026-12-03 13:40:00

Listings made before this were shown with their address whatever the pin: they keep
that (true), since imports carry the place's own coordinates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_maker_pin"
down_revision: str | None = "0012_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# `makers` is altered in place, never rebuilt: rebuilding it on SQLite would delete its
# favourites through ON DELETE CASCADE.
def upgrade() -> None:
    op.add_column(
        "makers", sa.Column("pin_precise", sa.Boolean(), server_default=sa.true(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("makers", "pin_precise")
