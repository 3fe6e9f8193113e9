"""Events near me (issue #15, PRODUCT.md §2.9): a geolocated agenda with answers (going,
maybe, not going, waiting list) and check-ins that log the event's eco-action."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Person, UTCDateTime, person


class EventCategory(StrEnum):
    """In the order the wizard shows them."""

    REPAIR = "repair"
    CLEANUP = "cleanup"
    SWAP = "swap"
    WORKSHOP = "workshop"
    MEETUP = "meetup"
    OTHER = "other"


class EventStatus(StrEnum):
    # A resident's or maker's proposal waiting in /moderation.
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Recurrence(StrEnum):
    NONE = "none"
    WEEKLY = "weekly"
    # The same weekday of the month ("every 2nd Saturday").
    MONTHLY = "monthly"


class RsvpStatus(StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    NOT_GOING = "no"
    # Answered "going" to a full event: promoted, in order, when a place frees up.
    WAITING = "waiting"


class RejectionReason(StrEnum):
    INCOMPLETE = "incomplete"
    OFF_TOPIC = "off_topic"
    DUPLICATE = "duplicate"
    INAPPROPRIATE = "inappropriate"


class CheckinMethod(StrEnum):
    QR = "qr"
    BUTTON = "button"


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("seats_taken >= 0", name="seats_taken_not_negative"),
        CheckConstraint(
            "capacity IS NULL OR seats_taken <= capacity", name="seats_taken_at_most_capacity"
        ),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # /events, the reminders and the recurrence sweep read published events by time.
        Index("ix_events_status_starts_at", "status", "starts_at"),
        Index("ix_events_latitude_longitude", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default=EventCategory.OTHER.value)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The organiser's time zone: the event's times are shown and repeated in it.
    timezone: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    maker_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("makers.id", ondelete="SET NULL"), index=True
    )
    # None: no limit. Otherwise `seats_taken` (the people going) never exceeds it.
    capacity: Mapped[int | None] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    # The eco-action a check-in logs (a catalogue slug), if any.
    action_slug: Mapped[str | None] = mapped_column(String(24))
    # A campus event: for one contest, or one team of it (then both are set).
    contest_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("contests.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    recurrence: Mapped[str] = mapped_column(String(8), default=Recurrence.NONE.value)
    # The first occurrence of a repeating event (its own id for the first one).
    series_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Set once the next occurrence exists: the sweep creates it once.
    next_event_id: Mapped[int | None] = mapped_column(Integer)
    # NULL once the organiser erased their data: past figures outlive them.
    organiser_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("users.id", ondelete="SET NULL"),
        index=True,
        info=person(Person.DETACH),
    )
    status: Mapped[str] = mapped_column(String(10), default=EventStatus.PENDING.value)
    rejection_reason: Mapped[str | None] = mapped_column(String(16))
    # The organiser who approved or rejected a proposal.
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger, info=person(Person.DETACH))
    # Bumped by every change of time, place or capacity: one notice per change and person.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the check-in QR code carries (`/start checkin_<code>`): random, so an event's id
    # is not enough to check in from afar.
    checkin_code: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The organiser's "check-in" button: open until then.
    checkin_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventRsvp(Base):
    __tablename__ = "event_rsvps"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_event_rsvps_once"),
        Index("ix_event_rsvps_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10))
    # When the status last changed: the waiting list's order.
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reminded_day_before_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_soon_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventCheckin(Base):
    """One per person and event: the event's action is logged once."""

    __tablename__ = "event_checkins"

    event_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(8))
    # False when the person had already reached the action's daily cap (or none is linked).
    action_logged: Mapped[bool] = mapped_column(Boolean, default=False)
