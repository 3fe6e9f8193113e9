"""Per-update plumbing, outermost first: DB session, inbox row, throttling, user row,
language."""

from bot.middlewares.database import DbSessionMiddleware
from bot.middlewares.inbox import InboxMiddleware
from bot.middlewares.locale import LocaleMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.middlewares.user import UserMiddleware

__all__ = [
    "DbSessionMiddleware",
    "InboxMiddleware",
    "LocaleMiddleware",
    "ThrottlingMiddleware",
    "UserMiddleware",
]
