"""Zero-waste offers (PRODUCT.md §2.3): what is given away, who reserved a unit, who wants
to hear about new offers nearby, and reports about offers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Person, UTCDateTime, person


class OfferCategory(StrEnum):
    """In the order the wizard shows them."""

    BAKERY = "bakery"
    PRODUCE = "produce"
    MEALS = "meals"
    DAIRY = "dairy"
    GROCERY = "grocery"
    OTHER = "other"


class OfferStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    EXPIRED = "expired"
    REMOVED = "removed"


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"
    # Let go because the offer ended another way (removed, withdrawn): nobody's fault.
    RELEASED = "released"
    # Still held when the pickup window ended: the reserver did not come (or the poster
    # did not confirm); counted against the reserver (bot/services/offers.py TrustRules).
    NO_SHOW = "no_show"


class ReportReason(StrEnum):
    SPAM = "spam"
    UNSAFE = "unsafe"
    MISLEADING = "misleading"
    OFFENSIVE = "offensive"


class ReportStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"
    ACTIONED = "actioned"


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("quantity_left >= 0", name="quantity_left_not_negative"),
        CheckConstraint("quantity_left <= quantity_total", name="quantity_left_at_most_total"),
        # /offers and the expiry sweep look at open offers by the end of their window.
        Index("ix_offers_status_pickup_end", "status", "pickup_end"),
        Index("ix_offers_latitude_longitude", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default=OfferCategory.OTHER.value)
    quantity_total: Mapped[int] = mapped_column(Integer)
    quantity_left: Mapped[int] = mapped_column(Integer)
    pickup_start: Mapped[datetime] = mapped_column(UTCDateTime())
    pickup_end: Mapped[datetime] = mapped_column(UTCDateTime())
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    # Free-text pickup instructions ("12 rue X, sonner à l'interphone"), erased with the poster.
    pickup_note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    # NULL once the poster erased their data (/forget): the offer's figures outlive them.
    poster_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("users.id", ondelete="SET NULL"),
        index=True,
        info=person(Person.DETACH),
    )
    maker_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("makers.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=OfferStatus.OPEN.value)
    removal_reason: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Reservation(Base):
    __tablename__ = "offer_reservations"
    __table_args__ = (
        # One active reservation per person per offer: the database's word, whatever races.
        Index(
            "uq_offer_reservations_active",
            "offer_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'reserved'"),
            postgresql_where=text("status = 'reserved'"),
        ),
        # The reserver's record (pickups, no-shows) is read on every reservation.
        Index("ix_offer_reservations_user_id_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("offers.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=ReservationStatus.RESERVED.value)
    reserved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When it left RESERVED (picked up, cancelled or released).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who cancelled: the reserver or the poster.
    cancelled_by: Mapped[int | None] = mapped_column(BigInteger, info=person(Person.DETACH))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OfferAlert(Base):
    """One subscription per person; the centre is rounded to about 1 km when stored."""

    __tablename__ = "offer_alerts"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    radius_km: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OfferReport(Base):
    __tablename__ = "offer_reports"
    __table_args__ = (UniqueConstraint("offer_id", "reporter_id", name="uq_offer_reports_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("offers.id", ondelete="CASCADE"), index=True
    )
    # NULL once the reporter erased their data: the report still counts for moderation.
    reporter_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), info=person(Person.DETACH)
    )
    reason: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default=ReportStatus.OPEN.value, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
