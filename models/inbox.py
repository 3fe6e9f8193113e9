"""Updates as received from Telegram, kept until they are handled (and a while after, to
recognise a redelivery)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Person, UTCDateTime, person


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    # Its changes are committed (before a question to Telegram, or the spinner's answer)
    # and its handler is still running: not to be handled again. If its process dies
    # before the end, the person is told their change was saved (bot.serving.processing).
    REPLYING = "replying"
    # The handler raised and the error handler answered: retrying would fail the same way.
    FAILED = "failed"


class InboxUpdate(Base):
    __tablename__ = "inbox_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The sender, so that one person's updates are handled in update_id order. DETACH, not
    # ERASE, on /forget: the /forget update's own row must stay to be marked done in the
    # same transaction (handled rows keep no payload; pending ones are handled shortly).
    user_id: Mapped[int | None] = mapped_column(BigInteger, info=person(Person.DETACH))
    # The update exactly as Telegram sent it (JSON), to handle it again after a crash.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default=InboxStatus.PENDING.value)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # "This person's pending updates, oldest first" and "how many are pending".
        Index("ix_inbox_updates_status_user_id", "status", "user_id", "update_id"),
    )
