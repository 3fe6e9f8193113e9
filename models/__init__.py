"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from models.base import Base
from models.inbox import InboxStatus, InboxUpdate
from models.user import Organiser, User

__all__ = ["Base", "InboxStatus", "InboxUpdate", "Organiser", "User"]
