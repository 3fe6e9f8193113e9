"""Who a notice the bot queues on its own (bot/ui/notices/offers.py, bot/ui/notices/makers.py) can
still be sent to, and in which language."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ui.i18n import Translator
from models import User


async def reachable(session: AsyncSession, user_id: int) -> User | None:
    """The person, or None when there is no one to tell: they erased their data (their row
    is gone) or blocked the bot."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return user


def locale_of(translator: Translator, user: User) -> str:
    """The language they chose with /language, else Telegram's, else the default."""
    return translator.resolve_locale(user.language, user.telegram_language)
