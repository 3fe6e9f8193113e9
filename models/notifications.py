"""Per-person nudge preferences; a missing row means the defaults."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class NotificationPrefs(Base):
    __tablename__ = "notification_prefs"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Minutes after local midnight; both None = no quiet hours.
    quiet_start: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_end: Mapped[int | None] = mapped_column(SmallInteger)
    daily_cap: Mapped[int] = mapped_column(SmallInteger)
    # Nudge kinds (bot.services.nudges.NudgeKind values) the person switched off.
    opted_out: Mapped[list[str]] = mapped_column(JSON)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
