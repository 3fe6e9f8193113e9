"""Recurring offers: offer templates and the days they were dealt with; action places:
the eco-actions a listing enables and the actions logged at a place (issue #16)

Revision ID: 0017_templates_places
Revises: 0014_maker_pin
Create Date: 2026-12-03 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_templates_places"
down_revision: str | None = "0016_relay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offer_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poster_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("pickup_note", sa.String(length=200), server_default="", nullable=False),
        sa.Column("photo_file_id", sa.String(length=200), nullable=True),
        sa.Column("maker_id", sa.Integer(), nullable=True),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["makers.id"],
            name=op.f("fk_offer_templates_maker_id_makers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["poster_id"],
            ["users.id"],
            name=op.f("fk_offer_templates_poster_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_templates")),
    )
    op.create_index(
        op.f("ix_offer_templates_poster_id"), "offer_templates", ["poster_id"], unique=False
    )
    op.create_table(
        "offer_template_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_template_runs_offer_id_offers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["offer_templates.id"],
            name=op.f("fk_offer_template_runs_template_id_offer_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_template_runs")),
        sa.UniqueConstraint("template_id", "local_date", name="uq_offer_template_runs_day"),
    )
    # `makers` is altered in place, never rebuilt (its favourites would cascade away).
    op.add_column(
        "makers",
        sa.Column("actions", sa.String(length=600), server_default="", nullable=False),
    )
    op.create_table(
        "action_place_logs",
        sa.Column("log_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("maker_id", sa.Integer(), nullable=False),
        sa.Column("action_slug", sa.String(length=24), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["action_logs.id"],
            name=op.f("fk_action_place_logs_log_id_action_logs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["makers.id"],
            name=op.f("fk_action_place_logs_maker_id_makers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_action_place_logs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_action_place_logs")),
        sa.UniqueConstraint(
            "user_id", "maker_id", "action_slug", "local_date", name="uq_action_place_logs_day"
        ),
    )
    op.create_index(
        op.f("ix_action_place_logs_maker_id"), "action_place_logs", ["maker_id"], unique=False
    )
    op.create_index(
        op.f("ix_action_place_logs_user_id"), "action_place_logs", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_action_place_logs_user_id"), table_name="action_place_logs")
    op.drop_index(op.f("ix_action_place_logs_maker_id"), table_name="action_place_logs")
    op.drop_table("action_place_logs")
    op.drop_column("makers", "actions")
    op.drop_table("offer_template_runs")
    op.drop_index(op.f("ix_offer_templates_poster_id"), table_name="offer_templates")
    op.drop_table("offer_templates")
