"""eco-actions, challenges, contests and teams (PRODUCT.md §2.4)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:06:13.010358
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('join_code', sa.String(length=12), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='conteststatus', native_enum=False, length=8), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contests')),
    sa.UniqueConstraint('join_code', name=op.f('uq_contests_join_code'))
    )
    op.create_table('week_rollovers',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('done_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('week_start', name=op.f('pk_week_rollovers'))
    )
    op.create_table('action_logs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('action_slug', sa.String(length=24), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('co2e_g', sa.Integer(), nullable=False),
    sa.Column('logged_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_action_logs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_logs'))
    )
    with op.batch_alter_table('action_logs', schema=None) as batch_op:
        batch_op.create_index('ix_action_logs_user_slug_logged_at', ['user_id', 'action_slug', 'logged_at'], unique=False)
        batch_op.create_index('ix_action_logs_week_start', ['week_start'], unique=False)

    op.create_table('action_profiles',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('show_name', sa.Boolean(), nullable=False),
    sa.Column('pseudonym', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_action_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_action_profiles')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_action_profiles_pseudonym'))
    )
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('registered_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_teams_contest_id_contests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('contest_id', 'chat_id', name=op.f('uq_teams_contest_id'))
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_chat_id'), ['chat_id'], unique=False)

    op.create_table('week_user_totals',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('actions', sa.Integer(), nullable=False),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_week_user_totals_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('week_start', 'user_id', name=op.f('pk_week_user_totals'))
    )
    with op.batch_alter_table('week_user_totals', schema=None) as batch_op:
        batch_op.create_index('ix_week_user_totals_ranking', ['week_start', 'actions', 'co2e_g'], unique=False)
        batch_op.create_index('ix_week_user_totals_user', ['user_id', 'week_start'], unique=False)

    op.create_table('action_log_teams',
    sa.Column('log_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['log_id'], ['action_logs.id'], name=op.f('fk_action_log_teams_log_id_action_logs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_action_log_teams_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('log_id', 'team_id', name=op.f('pk_action_log_teams'))
    )
    with op.batch_alter_table('action_log_teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_log_teams_team_id'), ['team_id'], unique=False)

    op.create_table('challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('action_slugs', sa.JSON(), nullable=False),
    sa.Column('weekly_target', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Enum('everyone', 'contest', 'team', name='challengescope', native_enum=False), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('pledge', sa.Text(), nullable=True),
    sa.Column('starts_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pledge_met_week', sa.Date(), nullable=True),
    sa.Column('pledge_met_weeks', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_challenges_contest_id_contests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_challenges_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenges'))
    )
    op.create_table('team_members',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('joined_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_team_members_contest_id_contests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_team_members')),
    sa.UniqueConstraint('contest_id', 'user_id', name=op.f('uq_team_members_contest_id'))
    )
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_members_user_id'), ['user_id'], unique=False)

    op.create_table('week_team_members',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('actions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_week_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_week_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('week_start', 'team_id', 'user_id', name=op.f('pk_week_team_members'))
    )
    with op.batch_alter_table('week_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_week_team_members_user_id'), ['user_id'], unique=False)

    op.create_table('week_team_totals',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('actions', sa.Integer(), nullable=False),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.Column('active_members', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_week_team_totals_contest_id_contests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_week_team_totals_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('week_start', 'team_id', name=op.f('pk_week_team_totals'))
    )
    with op.batch_alter_table('week_team_totals', schema=None) as batch_op:
        batch_op.create_index('ix_week_team_totals_contest_week', ['contest_id', 'week_start'], unique=False)

    op.create_table('challenge_contributions',
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('actions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_challenge_contributions_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_challenge_contributions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('challenge_id', 'week_start', 'user_id', name=op.f('pk_challenge_contributions'))
    )
    with op.batch_alter_table('challenge_contributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_contributions_user_id'), ['user_id'], unique=False)

    op.create_table('challenge_participants',
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('joined_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_challenge_participants_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_challenge_participants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('challenge_id', 'user_id', name=op.f('pk_challenge_participants'))
    )
    with op.batch_alter_table('challenge_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_participants_user_id'), ['user_id'], unique=False)

    op.create_table('challenge_weeks',
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('pledge_met', sa.Boolean(), nullable=False),
    sa.Column('archived_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_challenge_weeks_challenge_id_challenges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('challenge_id', 'week_start', name=op.f('pk_challenge_weeks'))
    )


def downgrade() -> None:
    op.drop_table('challenge_weeks')
    with op.batch_alter_table('challenge_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_participants_user_id'))

    op.drop_table('challenge_participants')
    with op.batch_alter_table('challenge_contributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_contributions_user_id'))

    op.drop_table('challenge_contributions')
    with op.batch_alter_table('week_team_totals', schema=None) as batch_op:
        batch_op.drop_index('ix_week_team_totals_contest_week')

    op.drop_table('week_team_totals')
    with op.batch_alter_table('week_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_week_team_members_user_id'))

    op.drop_table('week_team_members')
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_members_user_id'))

    op.drop_table('team_members')
    op.drop_table('challenges')
    with op.batch_alter_table('action_log_teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_log_teams_team_id'))

    op.drop_table('action_log_teams')
    with op.batch_alter_table('week_user_totals', schema=None) as batch_op:
        batch_op.drop_index('ix_week_user_totals_user')
        batch_op.drop_index('ix_week_user_totals_ranking')

    op.drop_table('week_user_totals')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_chat_id'))

    op.drop_table('teams')
    op.drop_table('action_profiles')
    with op.batch_alter_table('action_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_action_logs_week_start')
        batch_op.drop_index('ix_action_logs_user_slug_logged_at')

    op.drop_table('action_logs')
    op.drop_table('week_rollovers')
    op.drop_table('contests')
