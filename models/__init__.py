"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from models.base import Base
from models.broadcast import Broadcast, BroadcastStatus
from models.notifications import NotificationPrefs
from models.outbox import OutboxBlob, OutboxMessage, OutboxStatus
from models.user import Organiser, User
from models.worker import WorkerLease

__all__ = [
    "Base",
    "Broadcast",
    "BroadcastStatus",
    "NotificationPrefs",
    "Organiser",
    "OutboxBlob",
    "OutboxMessage",
    "OutboxStatus",
    "User",
    "WorkerLease",
]
