"""Engaged neighbours: consent, visibility, the chosen public name and a coarse position."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class NeighbourProfile(Base):
    """One row per person who accepted the neighbours consent screen.

    `cell` is a length-6 geohash (about 1 km): the exact point of a share is never stored.
    """

    __tablename__ = "neighbour_profiles"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "Hide me": counted and listed nowhere while False.
    visible: Mapped[bool] = mapped_column(Boolean, default=True)
    # Shown to neighbours (with a distance band) only when set.
    display_name: Mapped[str | None] = mapped_column(String(32))
    cell: Mapped[str | None] = mapped_column(String(8), index=True)
    # Positions older than 30 days are ignored and then purged (indexed: each /neighbours
    # looks for one to purge, bot.services.neighbours.purge_expired_positions).
    cell_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
