"""outbox, broadcasts, notification prefs, worker leases

Revision ID: 0004
Revises: 0003

The sender's outbox (with generated pictures), organiser broadcasts, nudge preferences and
the lease that keeps the scheduler and sender to one process. APScheduler's own job table
(apscheduler_jobs) is created by APScheduler, not here.
Create Date: 2026-11-23 17:07:19.020347
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('broadcasts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organiser_id', sa.BigInteger(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('audience', sa.String(length=24), nullable=False),
    sa.Column('audience_target_id', sa.BigInteger(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('photo_file_id', sa.String(length=255), nullable=True),
    sa.Column('button_label', sa.String(length=64), nullable=True),
    sa.Column('button_url', sa.String(length=1024), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('send_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    op.create_index(op.f('ix_broadcasts_organiser_id'), 'broadcasts', ['organiser_id'], unique=False)
    op.create_index(op.f('ix_broadcasts_status'), 'broadcasts', ['status'], unique=False)

    op.create_table('outbox_blobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('filename', sa.String(length=64), nullable=False),
    sa.Column('file_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_blobs'))
    )
    op.create_table('worker_leases',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('acquired_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_leases'))
    )
    op.create_table('notification_prefs',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('quiet_start', sa.SmallInteger(), nullable=True),
    sa.Column('quiet_end', sa.SmallInteger(), nullable=True),
    sa.Column('daily_cap', sa.SmallInteger(), nullable=False),
    sa.Column('opted_out', sa.JSON(), nullable=False),
    sa.Column('snoozed_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_prefs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_prefs'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('photo_file_id', sa.String(length=255), nullable=True),
    sa.Column('photo_blob_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reply_markup', sa.JSON(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempt_started_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('sent_message_id', sa.BigInteger(), nullable=True),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_outbox_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['photo_blob_id'], ['outbox_blobs.id'], name=op.f('fk_outbox_photo_blob_id_outbox_blobs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    op.create_index(op.f('ix_outbox_broadcast_id'), 'outbox', ['broadcast_id'], unique=False)
    op.create_index(op.f('ix_outbox_chat_id'), 'outbox', ['chat_id'], unique=False)
    op.create_index('ix_outbox_due', 'outbox', ['status', 'priority', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_index(op.f('ix_outbox_chat_id'), table_name='outbox')
    op.drop_index(op.f('ix_outbox_broadcast_id'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('notification_prefs')
    op.drop_table('worker_leases')
    op.drop_table('outbox_blobs')
    op.drop_index(op.f('ix_broadcasts_status'), table_name='broadcasts')
    op.drop_index(op.f('ix_broadcasts_organiser_id'), table_name='broadcasts')
    op.drop_table('broadcasts')
