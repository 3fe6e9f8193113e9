"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from models.action_place import PlaceLog
from models.actions import (
    ActionLog,
    ActionLogTeam,
    ActionProfile,
    WeekActionCount,
    WeekRollover,
    WeekUserTotal,
)
from models.base import Base
from models.broadcast import Broadcast, BroadcastStatus
from models.challenges import (
    Challenge,
    ChallengeContribution,
    ChallengeParticipant,
    ChallengeScope,
    ChallengeWeek,
)
from models.contests import Contest, ContestStatus, Team, TeamMember, WeekTeamMember, WeekTeamTotal
from models.event import (
    CheckinMethod,
    Event,
    EventCategory,
    EventCheckin,
    EventRsvp,
    EventStatus,
    Recurrence,
    RejectionReason,
    RsvpStatus,
)
from models.inbox import InboxStatus, InboxUpdate
from models.maker import Maker, MakerCategory, MakerFavourite, MakerSource, MakerStatus
from models.neighbours import NeighbourProfile
from models.notifications import NotificationPrefs
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
from models.offer_template import OfferTemplate, OfferTemplateRun, TemplateRunOutcome
from models.outbox import OutboxBlob, OutboxMessage, OutboxStatus
from models.relay import RelayFlag, RelayFlagKind, RelayMessage, RelayReportStatus
from models.user import Organiser, User
from models.worker import WorkerLease

__all__ = [
    "ActionLog",
    "ActionLogTeam",
    "ActionProfile",
    "Base",
    "Broadcast",
    "BroadcastStatus",
    "Challenge",
    "ChallengeContribution",
    "ChallengeParticipant",
    "ChallengeScope",
    "ChallengeWeek",
    "CheckinMethod",
    "Contest",
    "ContestStatus",
    "Event",
    "EventCategory",
    "EventCheckin",
    "EventRsvp",
    "EventStatus",
    "InboxStatus",
    "InboxUpdate",
    "Maker",
    "MakerCategory",
    "MakerFavourite",
    "MakerSource",
    "MakerStatus",
    "NeighbourProfile",
    "NotificationPrefs",
    "Offer",
    "OfferAlert",
    "OfferCategory",
    "OfferReport",
    "OfferStatus",
    "OfferTemplate",
    "OfferTemplateRun",
    "Organiser",
    "OutboxBlob",
    "OutboxMessage",
    "OutboxStatus",
    "PlaceLog",
    "Recurrence",
    "RejectionReason",
    "RelayFlag",
    "RelayFlagKind",
    "RelayMessage",
    "RelayReportStatus",
    "ReportReason",
    "ReportStatus",
    "Reservation",
    "ReservationStatus",
    "RsvpStatus",
    "Team",
    "TeamMember",
    "TemplateRunOutcome",
    "User",
    "WeekActionCount",
    "WeekRollover",
    "WeekTeamMember",
    "WeekTeamTotal",
    "WeekUserTotal",
    "WorkerLease",
]
