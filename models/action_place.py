"""Action places (PRODUCT.md §2.4): an eco-action logged at a place through its counter QR,
at most once a day per person, place and action."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.actions import BigId
from models.base import Base


class PlaceLog(Base):
    __tablename__ = "action_place_logs"
    __table_args__ = (
        # Once a day per person, place and action: the database's word, whatever races.
        UniqueConstraint(
            "user_id", "maker_id", "action_slug", "local_date", name="uq_action_place_logs_day"
        ),
    )

    # Undoing the log (actions.undo_log deletes it) takes the place's mark with it.
    log_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("action_logs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    maker_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("makers.id", ondelete="CASCADE"), index=True
    )
    action_slug: Mapped[str] = mapped_column(String(24))
    local_date: Mapped[date] = mapped_column(Date())
