"""Logged eco-actions, people's weekly totals and their naming preference."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Person, UTCDateTime, person

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class ActionLog(Base):
    __tablename__ = "action_logs"
    __table_args__ = (
        # Daily caps: this person's logs of this action today.
        Index("ix_action_logs_user_slug_logged_at", "user_id", "action_slug", "logged_at"),
        Index("ix_action_logs_week_start", "week_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    action_slug: Mapped[str] = mapped_column(String(24))
    category: Mapped[str] = mapped_column(String(16))
    # Grams, so sums are exact integers (the catalogue's finest figure is 7 g).
    co2e_g: Mapped[int] = mapped_column(Integer)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    week_start: Mapped[date] = mapped_column(Date)
    # Where it was logged: the person's private chat or a team group.
    chat_id: Mapped[int] = mapped_column(BigInteger, info=person(Person.ERASE))


class ActionLogTeam(Base):
    """The teams a log counted for when it was made (one per contest the person is in)."""

    __tablename__ = "action_log_teams"

    log_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("action_logs.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class WeekUserTotal(Base):
    """A person's week, maintained with every log (the people leaderboard reads it)."""

    __tablename__ = "week_user_totals"
    __table_args__ = (
        Index("ix_week_user_totals_ranking", "week_start", "actions", "co2e_g"),
        Index("ix_week_user_totals_user", "user_id", "week_start"),
    )

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    actions: Mapped[int] = mapped_column(Integer, default=0)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)


class WeekActionCount(Base):
    """How many people logged exactly `actions` actions in a week, maintained with
    WeekUserTotal (a row may be left at 0 people). The people leaderboard's head count and a person's
    rank are sums over these few hundred rows instead of counts over the week's people
    (tens of thousands of index entries at 1,000,000 logs: most of its time)."""

    __tablename__ = "week_action_counts"

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    actions: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    people: Mapped[int] = mapped_column(Integer, default=0)


class ActionProfile(Base):
    """Per-person choices about eco-actions, and the pseudonym used in exports."""

    __tablename__ = "action_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    show_name: Mapped[bool] = mapped_column(Boolean, default=False)
    # Random, stable, erased with the person: the only id an anonymised export carries.
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)


class WeekRollover(Base):
    """Weeks whose predecessors have been archived, so the lazy rollover is one lookup."""

    __tablename__ = "week_rollovers"

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime())
