"""The relay between the poster of an offer and a person who reserved it (PRODUCT.md §2.3,
issue #16): what each side said through the bot, and each side's blocks and reports.

A conversation is its reservation: there is no conversation row, only messages and flags
keyed by the reservation, so a reservation erased with its reserver takes them along.
Every message names both people (sender and recipient) and goes when either erases their
data; finished messages are forgotten after the outbox's retention delay anyway."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class RelayFlagKind(StrEnum):
    # The actor no longer hears from the other side (and the conversation is over).
    BLOCK = "block"
    # The actor asks the moderators to look at what the other side sent.
    REPORT = "report"


class RelayReportStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"
    # A moderator closed the conversation.
    ACTIONED = "actioned"


class RelayMessage(Base):
    __tablename__ = "relay_messages"
    __table_args__ = (
        # The rate limit counts one sender's recent messages in one conversation.
        Index("ix_relay_messages_rate", "reservation_id", "sender_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("offer_reservations.id", ondelete="CASCADE")
    )
    sender_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    recipient_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Empty for a shared place.
    text: Mapped[str] = mapped_column(Text, default="")
    # A shared place, as rounded when the update arrived (bot/services/geo/privacy.py).
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # The retention purge reads it.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RelayFlag(Base):
    __tablename__ = "relay_flags"
    __table_args__ = (
        UniqueConstraint("reservation_id", "actor_id", "kind", name="uq_relay_flags_once"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("offer_reservations.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    # Reports only: where the moderators are with it.
    status: Mapped[str | None] = mapped_column(String(10), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
