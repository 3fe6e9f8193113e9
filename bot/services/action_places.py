"""Action places (PRODUCT.md §2.4, issue #16): a maker listing declares the eco-actions one
can do there (moderated with the listing); /act finds the nearest approved places enabling
an action; a place's counter QR logs an action there, at most once a day per person,
place and action. Pure domain logic."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import actions
from bot.services.actions import LogResult
from bot.services.catalogue import Catalogue, EcoAction, default_catalogue
from bot.services.geo.distance import Origin
from bot.services.geo.geocoding import validate_coordinates
from models import Maker, MakerStatus, PlaceLog

# Enough for a repair café or a bulk shop; a listing is not the whole catalogue.
MAX_ACTIONS = 12
NEAR_RADIUS_KM = 25.0
NEAR_LIMIT = 5


class PlaceNotFoundError(LookupError):
    """No such place, or not an approved listing."""


class NotPlaceOwnerError(PermissionError):
    """Only a listing's owner gets its counter QR (whoever holds it may log there)."""


class NotAtThisPlaceError(ValueError):
    """The place does not declare that action."""


class AlreadyLoggedHereError(ValueError):
    """Logged at this place today already."""

    def __init__(self, action: EcoAction) -> None:
        super().__init__(action.slug)
        self.action = action


def clean_slugs(slugs: Iterable[str], catalogue: Catalogue | None = None) -> list[str]:
    """Known slugs only, once each, in catalogue order, at most MAX_ACTIONS."""
    catalogue = catalogue or default_catalogue()
    wanted = set(slugs)
    return [action.slug for action in catalogue if action.slug in wanted][:MAX_ACTIONS]


def encode(slugs: Iterable[str]) -> str:
    return " ".join(clean_slugs(slugs))


def slugs_of(maker: Maker) -> list[str]:
    return clean_slugs((maker.actions or "").split())


def actions_of(maker: Maker, catalogue: Catalogue | None = None) -> list[EcoAction]:
    catalogue = catalogue or default_catalogue()
    return [action for slug in slugs_of(maker) if (action := catalogue.by_slug(slug))]


def toggle(current: str, slug: str) -> str:
    """A wizard tap: the slug in or out of the space-separated list."""
    slugs = clean_slugs(current.split())
    if slug in slugs:
        slugs.remove(slug)
    elif len(slugs) < MAX_ACTIONS:
        slugs.append(slug)
    return encode(slugs)


async def place(session: AsyncSession, maker_id: int) -> Maker:
    maker = await session.get(Maker, maker_id)
    if maker is None or maker.status != MakerStatus.APPROVED.value:
        raise PlaceNotFoundError(maker_id)
    return maker


async def owned_place(session: AsyncSession, maker_id: int, user_id: int) -> Maker:
    """The place, if `user_id` owns it: the counter QR is the owner's alone."""
    maker = await place(session, maker_id)
    if maker.owner_id != user_id:
        raise NotPlaceOwnerError(maker_id)
    return maker


@dataclass(frozen=True, slots=True)
class NearPlace:
    maker: Maker
    distance_km: float


async def nearest_places(
    session: AsyncSession,
    slug: str,
    latitude: float,
    longitude: float,
    *,
    limit: int = NEAR_LIMIT,
    radius_km: float = NEAR_RADIUS_KM,
) -> list[NearPlace]:
    """The approved places enabling `slug` within `radius_km`, nearest first. Places that
    declare actions are few next to the whole directory, so they are ranked here."""
    if not validate_coordinates(latitude, longitude):
        raise ValueError("impossible coordinates")
    origin = Origin.at(latitude, longitude)
    rows = await session.scalars(
        select(Maker).where(
            Maker.status == MakerStatus.APPROVED.value,
            # Space-separated slugs: padded, so "bike_trip" never matches "ebike_trip".
            (" " + Maker.actions + " ").contains(f" {slug} ", autoescape=True),
        )
    )
    ranked = sorted(
        (
            NearPlace(maker, distance)
            for maker in rows
            if (distance := origin.distance_km(maker.latitude, maker.longitude)) <= radius_km
        ),
        key=lambda near: (near.distance_km, near.maker.id),
    )
    return ranked[:limit]


async def log_at_place(
    session: AsyncSession,
    *,
    user_id: int,
    maker_id: int,
    slug: str,
    now: datetime,
    tz: tzinfo,
) -> LogResult:
    """Log `slug` for the person at the place: an ordinary log (counters, challenges,
    teams, the action's own daily cap) marked with the place, once a day per place."""
    maker = await place(session, maker_id)
    action = default_catalogue().by_slug(slug)
    if action is None or slug not in slugs_of(maker):
        raise NotAtThisPlaceError(slug)
    day = now.astimezone(tz).date()
    done = await session.scalar(
        select(PlaceLog.log_id).where(
            PlaceLog.user_id == user_id,
            PlaceLog.maker_id == maker_id,
            PlaceLog.action_slug == slug,
            PlaceLog.local_date == day,
        )
    )
    if done is not None:
        raise AlreadyLoggedHereError(action)
    try:
        # One savepoint for the log and its mark: a concurrent scan of the same QR loses
        # the unique constraint and leaves no log behind.
        async with session.begin_nested():
            result = await actions.log_action(
                session, user_id=user_id, slug=slug, chat_id=user_id, now=now, tz=tz
            )
            session.add(
                PlaceLog(
                    log_id=result.log_id,
                    user_id=user_id,
                    maker_id=maker_id,
                    action_slug=slug,
                    local_date=day,
                )
            )
    except IntegrityError:
        raise AlreadyLoggedHereError(action) from None
    return result
