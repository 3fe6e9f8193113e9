"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from models.actions import ActionLog, ActionLogTeam, ActionProfile, WeekRollover, WeekUserTotal
from models.base import Base
from models.challenges import (
    Challenge,
    ChallengeContribution,
    ChallengeParticipant,
    ChallengeScope,
    ChallengeWeek,
)
from models.contests import Contest, ContestStatus, Team, TeamMember, WeekTeamMember, WeekTeamTotal
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
    "ActionLog",
    "ActionLogTeam",
    "ActionProfile",
    "Base",
    "Challenge",
    "ChallengeContribution",
    "ChallengeParticipant",
    "ChallengeScope",
    "ChallengeWeek",
    "Contest",
    "ContestStatus",
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
    "Team",
    "TeamMember",
    "User",
    "WeekRollover",
    "WeekTeamMember",
    "WeekTeamTotal",
    "WeekUserTotal",
]
