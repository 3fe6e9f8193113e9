"""Organiser broadcasts: what to send, to whom, when, and how it went."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Person, UTCDateTime, person
from models.outbox import BigId


class BroadcastStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organiser_id: Mapped[int] = mapped_column(BigInteger, index=True, info=person(Person.DETACH))
    # The organiser's language when they wrote it: progress and report speak it.
    locale: Mapped[str] = mapped_column(String(8))
    audience: Mapped[str] = mapped_column(String(24))
    audience_target_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    button_label: Mapped[str | None] = mapped_column(String(64))
    button_url: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), index=True)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
