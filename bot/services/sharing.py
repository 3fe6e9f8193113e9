"""What `@bot words` finds to share into any chat (PRODUCT.md §2.2, inline mode): makers,
offers and challenges, by words, near a place. A query that is a deep-link payload
(`maker_12`, `offer_5`, `join_3`: what a card's "share" button types) finds that one
card. Pure domain: a session in, plain data out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import challenges, makers, offers
from bot.services.challenges import ChallengeNotFoundError, ChallengeView
from bot.services.deeplinks import DeepLinkKind, parse_payload
from bot.services.geo.distance import haversine_km
from bot.services.geo.geocoding import normalize_name
from bot.services.makers import MakerFilter, MakerNotFoundError, NearbyMaker
from bot.services.offers import NearbyOffer, OfferNotFoundError

# Telegram shows a handful of results above the keyboard; 50 is its limit per answer.
MAKERS_FOUND = 8
OFFERS_FOUND = 8
CHALLENGES_FOUND = 5
# Offers are read near the place, then matched by words here (they are few and short-lived).
OFFERS_READ = 60


@dataclass(frozen=True, slots=True)
class Found:
    makers: list[NearbyMaker] = field(default_factory=list)
    offers: list[NearbyOffer] = field(default_factory=list)
    challenges: list[ChallengeView] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.makers or self.offers or self.challenges)


def words_of(query: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_name(query).split()))[:5]


def _matches(words: tuple[str, ...], *texts: str | None) -> bool:
    haystack = normalize_name(" ".join(text for text in texts if text))
    return all(word in haystack for word in words)


async def find(
    session: AsyncSession,
    query: str,
    place: tuple[float, float] | None,
    user_id: int,
    now: datetime,
    tz: tzinfo,
) -> Found:
    """Cards for `query` near `place` (makers and offers need a place; challenges do not).

    Only what anyone may see: listed makers, open offers, and the running challenges the
    sharer may take part in."""
    link = parse_payload(query.strip())
    if link is not None:
        return await _one(session, link.kind, link.target_id, place, user_id, now, tz)
    words = words_of(query)
    found_makers: list[NearbyMaker] = []
    found_offers: list[NearbyOffer] = []
    if place is not None:
        latitude, longitude = place
        page = await makers.nearest_makers(
            session, latitude, longitude, limit=MAKERS_FOUND, where=MakerFilter.of(None, query)
        )
        found_makers = page.makers
        nearby = await offers.nearby_offers(session, latitude, longitude, now, limit=OFFERS_READ)
        found_offers = [
            item
            for item in nearby.offers
            if _matches(words, item.offer.title, item.offer.description, item.offer.category)
        ][:OFFERS_FOUND]
    views = await challenges.visible_challenges(session, user_id, now, tz)
    found_challenges = [
        view for view in views if _matches(words, view.challenge.title, view.challenge.description)
    ][:CHALLENGES_FOUND]
    return Found(found_makers, found_offers, found_challenges)


async def _one(
    session: AsyncSession,
    kind: DeepLinkKind,
    target_id: int,
    place: tuple[float, float] | None,
    user_id: int,
    now: datetime,
    tz: tzinfo,
) -> Found:
    def distance(latitude: float, longitude: float) -> float:
        """NaN when the sharer's place is unknown."""
        return haversine_km(*place, latitude, longitude) if place is not None else math.nan

    try:
        if kind is DeepLinkKind.MAKER:
            maker = await makers.listed_maker(session, target_id)
            return Found(makers=[NearbyMaker(maker, distance(maker.latitude, maker.longitude))])
        if kind is DeepLinkKind.OFFER:
            offer = await offers.get_offer(session, target_id)
            if not offers.is_available(offer, now):
                return Found()
            return Found(offers=[NearbyOffer(offer, distance(offer.latitude, offer.longitude))])
        if kind is DeepLinkKind.JOIN:
            view = await challenges.challenge_view(session, target_id, user_id, now, tz)
            return Found(challenges=[view])
    except (MakerNotFoundError, OfferNotFoundError, ChallengeNotFoundError):
        return Found()
    return Found()
