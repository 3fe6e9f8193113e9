"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from models.base import Base
from models.user import Organiser, User

__all__ = ["Base", "Organiser", "User"]
