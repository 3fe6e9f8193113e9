"""How many people logged how many actions each week (issue #20)

Revision ID: 0018_perf
Revises: 0014_maker_pin
Create Date: 2026-12-03 14:45:00

The people leaderboard counted the week's people (and those ahead of the reader) over
week_user_totals at every read; week_action_counts holds those counts per number of
actions, kept with every log, undo and erasure. Filled here from week_user_totals.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_perf"
down_revision: str | None = "0017_templates_places"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "week_action_counts",
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("actions", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week_start", "actions", name=op.f("pk_week_action_counts")),
    )
    op.execute(
        "INSERT INTO week_action_counts (week_start, actions, people) "
        "SELECT week_start, actions, count(*) FROM week_user_totals "
        "WHERE actions > 0 GROUP BY week_start, actions"
    )


def downgrade() -> None:
    op.drop_table("week_action_counts")
