"""Per-update plumbing, outermost first: DB session, inbox row, throttling, user row,
language."""

from bot.serving.middlewares.database import DbSessionMiddleware
from bot.serving.middlewares.inbox import InboxMiddleware
from bot.serving.middlewares.locale import LocaleMiddleware
from bot.serving.middlewares.throttling import ThrottlingMiddleware
from bot.serving.middlewares.user import UserMiddleware

__all__ = [
    "DbSessionMiddleware",
    "InboxMiddleware",
    "LocaleMiddleware",
    "ThrottlingMiddleware",
    "UserMiddleware",
]
