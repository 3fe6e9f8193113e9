"""Cards shared into any chat (inline mode, PRODUCT.md §2.2): the results an inline query
gets, each a card with a button that opens it in the bot (its deep link), and the
answers' cache. (The "share" button of every card: bot/ui/views/share.py.)"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InlineQueryResultUnion,
    InputTextMessageContent,
)

from bot.core.clock import Clock
from bot.services.deeplinks import DeepLink, DeepLinkKind, deep_link_url
from bot.services.geo.distance import format_distance
from bot.services.sharing import Found
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import t
from bot.ui.views import makers as maker_views
from bot.ui.views import offers as offer_views
from bot.ui.views.actions import challenge_line, number

# Telegram keeps an answer this long for the same query (per person: is_personal).
CACHE_TIME_S = 30
# Our own cache of answers per (query, rounded place, language).
ANSWERS_KEPT_S = 60.0
ANSWERS_KEPT = 2_000
# Places are rounded to about 100 m: close enough for distances, and shared by neighbours.
PLACE_DECIMALS = 3
# Where a person with no known place is sent to give one (a plain /start).
NO_PLACE_START = "place"

Results = list[InlineQueryResultUnion]


def _open_button(text: str, bot_username: str, link: DeepLink) -> InlineKeyboardMarkup:
    url = deep_link_url(bot_username, link)
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=text, url=url)]])


def rounded(place: tuple[float, float]) -> tuple[float, float]:
    return round(place[0], PLACE_DECIMALS), round(place[1], PLACE_DECIMALS)


def _distance(km: float, locale: str) -> str:
    return format_distance(km, locale) if math.isfinite(km) else ""


def results(found: Found, bot_username: str, zone: ZoneInfo, now: datetime, locale: str) -> Results:
    """One article per card: what the chat gets, and a line to recognise it by."""
    articles: Results = []
    for maker_found in found.makers:
        maker = maker_found.maker
        link = DeepLink(DeepLinkKind.MAKER, maker.id)
        details = [
            maker_views.category_label(maker.category),
            maker.city,
            _distance(maker_found.distance_km, locale),
        ]
        articles.append(
            InlineQueryResultArticle(
                id=link.payload,
                title=truncate(maker.name, 100),
                description=" · ".join(part for part in details if part),
                input_message_content=InputTextMessageContent(
                    message_text=maker_views.card_text(maker)
                ),
                reply_markup=_open_button(t("share.open_maker"), bot_username, link),
            )
        )
    for offer_found in found.offers:
        offer = offer_found.offer
        link = DeepLink(DeepLinkKind.OFFER, offer.id)
        details = [
            t("share.offer_left", left=offer.quantity_left),
            offer_views.format_when(offer.pickup_end, zone, now),
            _distance(offer_found.distance_km, locale),
        ]
        articles.append(
            InlineQueryResultArticle(
                id=link.payload,
                title=truncate(offer.title, 100),
                description=" · ".join(part for part in details if part),
                input_message_content=InputTextMessageContent(
                    message_text=offer_views.card_text(offer, zone, now, locale=locale)
                ),
                reply_markup=_open_button(t("share.open_offer"), bot_username, link),
            )
        )
    for view in found.challenges:
        challenge = view.challenge
        link = DeepLink(DeepLinkKind.JOIN, challenge.id)
        text = t("share.challenge_intro") + "\n\n" + challenge_line(view, locale)
        if challenge.pledge:
            text += "\n" + t(
                "challenges.pledge_line", pledge=escape(truncate(challenge.pledge, 300))
            )
        articles.append(
            InlineQueryResultArticle(
                id=link.payload,
                title=truncate(challenge.title, 100),
                description=t(
                    "share.challenge_description",
                    total=number(view.week_total, locale),
                    target=number(challenge.weekly_target, locale),
                ),
                input_message_content=InputTextMessageContent(message_text=text),
                reply_markup=_open_button(t("share.join"), bot_username, link),
            )
        )
    return articles


def no_place_button() -> InlineQueryResultsButton:
    return InlineQueryResultsButton(text=t("share.no_place"), start_parameter=NO_PLACE_START)


class AnswerCache:
    """Answers kept a short while per key, the oldest forgotten first (bounded)."""

    def __init__(self, clock: Clock, ttl: float = ANSWERS_KEPT_S, size: int = ANSWERS_KEPT) -> None:
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._kept: OrderedDict[tuple[object, ...], tuple[float, Results]] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> Results | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if kept[0] <= self._clock.monotonic():
            del self._kept[key]
            return None
        return kept[1]

    def put(self, key: tuple[object, ...], answer: Results) -> None:
        self._kept[key] = (self._clock.monotonic() + self._ttl, answer)
        self._kept.move_to_end(key)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
