"""durable replies: an outbox row can hold any Bot API call, say whom a notice is about,
and is found by age for the retention purge

Revision ID: 0011_replies
Revises: 0010_forget
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_replies"
down_revision: str | None = "0010_forget"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("about_user_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_about_user_id"), ["about_user_id"])
        batch_op.create_index(batch_op.f("ix_outbox_created_at"), ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_created_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_about_user_id"))
        batch_op.drop_column("about_user_id")
        batch_op.drop_column("call")
