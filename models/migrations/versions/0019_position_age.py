"""An index on neighbours' position age (issue #20)

Revision ID: 0019_position_age
Revises: 0018_perf
Create Date: 2026-12-04 18:00:00

/neighbours forgets expired positions before it reads: with the index it first looks for
one (a read, that takes no write lock on SQLite) and writes only when there is one to
forget, where the UPDATE scanned every profile under the write lock on each view.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_position_age"
down_revision: str | None = "0018_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_neighbour_profiles_cell_updated_at"),
        "neighbour_profiles",
        ["cell_updated_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_neighbour_profiles_cell_updated_at"), table_name="neighbour_profiles")
