"""Recurring offers (PRODUCT.md §2.3, issue #16): an offer saved as a template that
publishes itself on chosen weekdays, and one row per template and local day that says
the day was dealt with (published, skipped or failed), so a day is never published twice."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class OfferTemplate(Base):
    __tablename__ = "offer_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The template is the poster's: /forget deletes it (a foreign key to users means ERASE).
    poster_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    # Where to ring, which door: copied onto every occurrence.
    pickup_note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    maker_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("makers.id", ondelete="SET NULL")
    )
    # The daily pickup window in local wall-clock time of `timezone`: 19:00-20:00 stays
    # 19:00-20:00 across a change of daylight saving time. An end at or before the start
    # ends on the next day (22:00-01:00).
    start_time: Mapped[time] = mapped_column(Time())
    end_time: Mapped[time] = mapped_column(Time())
    timezone: Mapped[str] = mapped_column(String(64))
    # Bit 0 is Monday ... bit 6 Sunday (date.weekday()).
    days: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TemplateRunOutcome(StrEnum):
    PUBLISHED = "published"
    SKIPPED = "skipped"
    FAILED = "failed"


class OfferTemplateRun(Base):
    """A local day of a template that has been dealt with. The unique (template, day) is
    what makes publishing exactly once a day, whatever restarts or repeated sweeps."""

    __tablename__ = "offer_template_runs"
    __table_args__ = (
        UniqueConstraint("template_id", "local_date", name="uq_offer_template_runs_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("offer_templates.id", ondelete="CASCADE")
    )
    local_date: Mapped[date] = mapped_column(Date())
    outcome: Mapped[str] = mapped_column(String(10))
    # The offer it published; it outlives the template (SET NULL).
    offer_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("offers.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
