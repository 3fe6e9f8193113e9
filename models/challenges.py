"""Weekly group challenges, who takes part, and their weeks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Date, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class ChallengeScope(StrEnum):
    EVERYONE = "everyone"
    CONTEST = "contest"
    TEAM = "team"


class Challenge(Base):
    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    # Catalogue slugs (data/actions.yaml) whose logs count.
    action_slugs: Mapped[list[str]] = mapped_column(JSON)
    weekly_target: Mapped[int] = mapped_column(Integer)
    scope: Mapped[ChallengeScope] = mapped_column(
        Enum(
            ChallengeScope,
            native_enum=False,
            length=8,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    contest_id: Mapped[int | None] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    pledge: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last week whose pledge was met (the organiser is told once per week) and how
    # many weeks met it so far.
    pledge_met_week: Mapped[date | None] = mapped_column(Date)
    pledge_met_weeks: Mapped[int] = mapped_column(Integer, default=0)


class ChallengeParticipant(Base):
    __tablename__ = "challenge_participants"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChallengeWeek(Base):
    """A challenge's total for one week: live during the week, archived by the rollover
    (`archived_at`). No person in it, so the numbers stay when someone is erased."""

    __tablename__ = "challenge_weeks"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True
    )
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    pledge_met: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChallengeContribution(Base):
    """One person's count for a challenge in a week, for its top contributors."""

    __tablename__ = "challenge_contributions"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True
    )
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    actions: Mapped[int] = mapped_column(Integer, default=0)
