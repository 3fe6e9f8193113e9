"""People who talk to the bot, and the organisers added from the CLI."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Person, UTCDateTime, person


class User(Base):
    __tablename__ = "users"

    # The Telegram user id: up to 52 significant bits, hence BigInteger.
    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, info=person(Person.ERASE)
    )
    first_name: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    # What Telegram reports (may be any IETF tag, or missing).
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    # What the person chose with /language; wins over telegram_language.
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # False once Telegram told us the person blocked the bot.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Organiser(Base):
    """Organisers added with `greenhood organisers add`; ORGANISER_IDS adds more at run time."""

    __tablename__ = "organisers"

    user_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, info=person(Person.ERASE)
    )
    note: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
