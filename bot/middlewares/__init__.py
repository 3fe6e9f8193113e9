"""Per-update plumbing, outermost first: throttling, DB session, user row, language."""

from bot.middlewares.database import DbSessionMiddleware
from bot.middlewares.locale import LocaleMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.middlewares.user import UserMiddleware

__all__ = ["DbSessionMiddleware", "LocaleMiddleware", "ThrottlingMiddleware", "UserMiddleware"]
