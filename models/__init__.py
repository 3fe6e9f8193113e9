"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from models.base import Base
from models.maker import Maker, MakerCategory, MakerFavourite, MakerSource, MakerStatus
from models.offer import (
    Offer,
    OfferAlert,
    OfferCategory,
    OfferReport,
    OfferStatus,
    ReportReason,
    ReportStatus,
    Reservation,
    ReservationStatus,
)
from models.user import Organiser, User

__all__ = [
    "Base",
    "Maker",
    "MakerCategory",
    "MakerFavourite",
    "MakerSource",
    "MakerStatus",
    "Offer",
    "OfferAlert",
    "OfferCategory",
    "OfferReport",
    "OfferStatus",
    "Organiser",
    "ReportReason",
    "ReportStatus",
    "Reservation",
    "ReservationStatus",
    "User",
]
