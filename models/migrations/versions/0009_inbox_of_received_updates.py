"""inbox of received updates (at-least-once handling, de-duplication by update_id)

Revision ID: 0009_inbox
Revises: 0006
Create Date: 2026-11-23 17:11:45.557302
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0009_inbox'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'inbox_updates',
        sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=True),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('received_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('processed_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('update_id', name=op.f('pk_inbox_updates')),
    )
    op.create_index(
        op.f('ix_inbox_updates_received_at'), 'inbox_updates', ['received_at'], unique=False
    )
    op.create_index(
        'ix_inbox_updates_status_user_id',
        'inbox_updates',
        ['status', 'user_id', 'update_id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_inbox_updates_status_user_id', table_name='inbox_updates')
    op.drop_index(op.f('ix_inbox_updates_received_at'), table_name='inbox_updates')
    op.drop_table('inbox_updates')
