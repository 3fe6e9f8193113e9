"""Campus contests, their teams (Telegram groups) and the teams' weekly totals."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class ContestStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Contest(Base):
    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    join_code: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[ContestStatus] = mapped_column(
        Enum(
            ContestStatus,
            native_enum=False,
            length=8,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    # An organiser's Telegram id; no foreign key, so a contest outlives its creator's data.
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Team(Base):
    """A campus group chat registered in a contest with `/team CODE`."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("contest_id", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(128))
    registered_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TeamMember(Base):
    """One team per person per contest (the unique constraint says so to the database)."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("contest_id", "user_id"),)

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Copied from the team, so the one-team-per-contest rule is a plain unique constraint.
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WeekTeamTotal(Base):
    """A team's week, maintained with every log; no person in it, so it survives erasure."""

    __tablename__ = "week_team_totals"
    __table_args__ = (Index("ix_week_team_totals_contest_week", "contest_id", "week_start"),)

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    actions: Mapped[int] = mapped_column(Integer, default=0)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    # Members who logged at least one action for the team this week.
    active_members: Mapped[int] = mapped_column(Integer, default=0)


class WeekTeamMember(Base):
    """A member's actions for a team in a week: tells when someone becomes active."""

    __tablename__ = "week_team_members"

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    actions: Mapped[int] = mapped_column(Integer, default=0)
