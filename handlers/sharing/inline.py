"""Inline mode: `@bot words` in any chat offers maker, offer and challenge cards near the
person's place, each with a button opening it in the bot (PRODUCT.md §2.2); a card's
"share" button types `@bot <its deep-link payload>`, whose one result is that card.

The place is the one Telegram sends with the query when the person allows it (the bot's
inline location setting, /setinlinegeo at BotFather), else the last place they gave the
bot (within PLACE_KEPT); without either, only challenges, and a button to give one.

Queries are throttled per person (a flood is dropped: the client keeps showing the last
answer), answered from a short-lived cache per (query, rounded place, language), and the
search has a deadline well inside the time Telegram waits for an answer."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import sharing
from bot.services.geo.geocoding import validate_coordinates
from bot.services.sharing import Found
from bot.services.throttling import MemoryThrottle
from bot.ui.commands import CommandSpec
from bot.ui.views.offers import zone_of
from bot.ui.views.sharing import (
    CACHE_TIME_S,
    AnswerCache,
    no_place_button,
    results,
    rounded,
)
from models import User

logger = logging.getLogger(__name__)

COMMANDS: list[CommandSpec] = []  # inline mode has no command

# Typing sends a query every few letters: a burst is normal, a flood is not.
INLINE_RATE = 2.0
INLINE_BURST = 10
# Telegram gives up on an answer after about 10 s; the search gets this long.
SEARCH_DEADLINE_S = 4.0
# A place given to the bot this long ago still says where the person is.
PLACE_KEPT = timedelta(days=30)


def remembered_place(data: dict[str, Any], now: datetime) -> tuple[float, float] | None:
    """The last place the person gave (/makers, /offers: bot/ui/places.py), if recent."""
    last = data.get("last_location")
    if not isinstance(last, dict):
        return None
    try:
        when = datetime.fromisoformat(str(last["at"]))
        latitude, longitude = float(last["lat"]), float(last["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    if now - when > PLACE_KEPT or not validate_coordinates(latitude, longitude):
        return None
    return latitude, longitude


class InlineAnswers:
    """One per router (so per dispatcher): the throttle and the cache of answers."""

    def __init__(self) -> None:
        self._throttle: MemoryThrottle | None = None
        self._cache: AnswerCache | None = None

    def _parts(self, clock: Clock) -> tuple[MemoryThrottle, AnswerCache]:
        if self._throttle is None or self._cache is None:
            self._throttle = MemoryThrottle(clock, INLINE_RATE, INLINE_BURST)
            self._cache = AnswerCache(clock)
        return self._throttle, self._cache

    async def answer(
        self,
        inline_query: InlineQuery,
        bot: Bot,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        locale: str,
    ) -> None:
        throttle, cache = self._parts(clock)
        if not (await throttle.hit(user.id)).allowed:
            return
        now = clock.now()
        given = inline_query.location
        if given is not None and validate_coordinates(given.latitude, given.longitude):
            place: tuple[float, float] | None = (given.latitude, given.longitude)
        else:
            place = remembered_place(await state.get_data(), now)
        # Searched from the rounded place, so that a cached answer is exactly what a
        # search from any point it stands for would give.
        where = rounded(place) if place is not None else None
        query = " ".join(inline_query.query.split())
        key = (query.casefold(), where, locale)
        answer = cache.get(key)
        if answer is None:
            try:
                async with asyncio.timeout(SEARCH_DEADLINE_S):
                    found = await sharing.find(session, query, where, user.id, now, settings.tz)
                complete = True
            except TimeoutError:
                logger.warning("inline query %r: no answer within %s s", query, SEARCH_DEADLINE_S)
                found, complete = Found(), False
            me = await bot.me()
            answer = results(found, me.username or "", zone_of(user, settings), now, locale)
            if complete:
                cache.put(key, answer)
        await inline_query.answer(
            answer,
            cache_time=CACHE_TIME_S,
            is_personal=True,
            button=no_place_button() if place is None else None,
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.inline_query.register(InlineAnswers().answer)
    return router
