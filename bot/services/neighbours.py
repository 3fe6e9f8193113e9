"""Engaged neighbours (PRODUCT.md §2.5), private by design.

- A shared point becomes a geohash-6 cell (about 1 km) here, before anything is written;
  the exact point is not kept anywhere.
- Distances are measured from cell centre to cell centre and only their band is returned.
- Counts and activity are only given for an area holding at least K_ANONYMITY engaged
  people besides the viewer; otherwise the view says "too few".
- Positions older than POSITION_TTL are ignored by the query and purged by
  `purge_expired_positions` (called lazily from `neighbourhood`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.geo import geohash
from bot.services.geo.distance import haversine_km
from models import ActionLog, NeighbourProfile
from models.database import derived

POSITION_TTL = timedelta(days=30)
# "Engaged": logged at least one action within this window.
ENGAGED_WINDOW = timedelta(days=30)
K_ANONYMITY = 3
DISPLAY_NAME_MAX = 32
RADII_KM: tuple[int, ...] = (1, 3, 10)
SEARCH_RADIUS_KM = RADII_KM[-1]


class Band(StrEnum):
    """What a person sees of a distance; a locale key suffix (neighbours.band.<band>)."""

    UNDER_1 = "under1"
    KM_1_3 = "1to3"
    KM_3_10 = "3to10"


class NeighboursProblem(Exception):
    """Something the person has to fix first; `key` is the locale key explaining it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def band_of(distance_km: float) -> Band | None:
    if distance_km < 1:
        return Band.UNDER_1
    if distance_km < 3:
        return Band.KM_1_3
    if distance_km < SEARCH_RADIUS_KM:
        return Band.KM_3_10
    return None


def cell_distance_km(a: str, b: str) -> float:
    return haversine_km(*geohash.centre(a), *geohash.centre(b))


@dataclass(frozen=True, slots=True)
class PublicProfile:
    name: str
    band: Band


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """What the viewer may see. `counts` maps a radius (km) to the number of engaged people
    within it, or None when fewer than K_ANONYMITY; `activity` (this week, by category) and
    `profiles` are empty when the whole area holds fewer than K_ANONYMITY."""

    too_few: bool
    counts: dict[int, int | None] = field(default_factory=dict)
    activity: dict[str, int] = field(default_factory=dict)
    profiles: list[PublicProfile] = field(default_factory=list)


async def profile_of(session: AsyncSession, user_id: int) -> NeighbourProfile | None:
    return await session.get(NeighbourProfile, user_id)


async def consent(session: AsyncSession, user_id: int, now: datetime) -> NeighbourProfile:
    """Accepting the consent screen (again is harmless); makes the person visible."""
    profile = await profile_of(session, user_id)
    if profile is None:
        profile = NeighbourProfile(user_id=user_id, consented_at=now, visible=True)
        session.add(profile)
    else:
        profile.consented_at = now
        profile.visible = True
    await session.flush()
    return profile


async def withdraw(session: AsyncSession, user_id: int) -> None:
    """Declining after having accepted: the profile and position go."""
    profile = await profile_of(session, user_id)
    if profile is not None:
        await session.delete(profile)
        await session.flush()


async def _consented(session: AsyncSession, user_id: int) -> NeighbourProfile:
    profile = await profile_of(session, user_id)
    if profile is None:
        raise NeighboursProblem("neighbours.no_consent")
    return profile


def validate_display_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > DISPLAY_NAME_MAX or not any(ch.isalnum() for ch in name):
        raise NeighboursProblem("neighbours.name.invalid")
    return name


async def set_display_name(session: AsyncSession, user_id: int, name: str | None) -> None:
    profile = await _consented(session, user_id)
    profile.display_name = None if name is None else validate_display_name(name)
    await session.flush()


async def set_visible(session: AsyncSession, user_id: int, visible: bool) -> None:
    profile = await _consented(session, user_id)
    profile.visible = visible
    await session.flush()


async def record_position(
    session: AsyncSession, user_id: int, latitude: float, longitude: float, now: datetime
) -> str:
    """Store the cell of a shared point (never the point) and return it. Only for people
    who consented: NeighboursProblem otherwise."""
    profile = await _consented(session, user_id)
    cell = geohash.encode(latitude, longitude)
    profile.cell = cell
    profile.cell_updated_at = now
    await session.flush()
    return cell


async def purge_expired_positions(session: AsyncSession, now: datetime) -> int:
    """Forget positions not refreshed for POSITION_TTL; the number forgotten. (Every query
    ignores them already: done again by the next one if a crash loses it.)"""
    expired = (
        NeighbourProfile.cell.is_not(None),
        NeighbourProfile.cell_updated_at < now - POSITION_TTL,
    )
    # Looked for first, on the index: most views find none and stay reads, where an UPDATE
    # that changes nothing still waits for SQLite's one writer (models.database).
    if await session.scalar(select(NeighbourProfile.user_id).where(*expired).limit(1)) is None:
        return 0
    with derived(session):
        result = await session.execute(
            update(NeighbourProfile).where(*expired).values(cell=None, cell_updated_at=None)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _engaged_around(
    session: AsyncSession, viewer_id: int, cell: str, now: datetime
) -> list[tuple[int, str, str | None]]:
    """(user_id, cell, display_name) of engaged, visible people whose cell lies within the
    search radius of `cell` (centre to centre), the viewer excluded."""
    latitude, longitude = geohash.centre(cell)
    areas = sorted(geohash.areas_around(latitude, longitude, SEARCH_RADIUS_KM + 1))
    # A range per area prefix: uses the index on `cell` on both databases.
    in_areas = or_(
        *(and_(NeighbourProfile.cell >= area, NeighbourProfile.cell < area + "~") for area in areas)
    )
    engaged = (
        select(ActionLog.id)
        .where(ActionLog.user_id == NeighbourProfile.user_id)
        .where(ActionLog.logged_at >= now - ENGAGED_WINDOW)
        .exists()
    )
    rows = await session.execute(
        select(NeighbourProfile.user_id, NeighbourProfile.cell, NeighbourProfile.display_name)
        .where(
            in_areas,
            NeighbourProfile.visible.is_(True),
            NeighbourProfile.cell_updated_at >= now - POSITION_TTL,
            NeighbourProfile.user_id != viewer_id,
            engaged,
        )
        .order_by(NeighbourProfile.user_id)
    )
    found: list[tuple[int, str, str | None]] = []
    for user_id, other_cell, name in rows:
        if other_cell is not None and cell_distance_km(cell, other_cell) < SEARCH_RADIUS_KM:
            found.append((user_id, other_cell, name))
    return found


async def neighbourhood(
    session: AsyncSession, viewer_id: int, now: datetime, week_start: date
) -> Neighbourhood:
    """The viewer's neighbourhood, from their stored cell (never a finer point)."""
    await purge_expired_positions(session, now)
    profile = await _consented(session, viewer_id)
    if profile.cell is None:
        raise NeighboursProblem("neighbours.no_position")
    people = await _engaged_around(session, viewer_id, profile.cell, now)
    if len(people) < K_ANONYMITY:
        return Neighbourhood(too_few=True)
    distances = {user_id: cell_distance_km(profile.cell, cell) for user_id, cell, _ in people}
    counts: dict[int, int | None] = {}
    for radius in RADII_KM:
        within = sum(1 for d in distances.values() if d < radius)
        counts[radius] = within if within >= K_ANONYMITY else None
    rows = await session.execute(
        select(ActionLog.category, func.count())
        .where(ActionLog.user_id.in_(list(distances)), ActionLog.week_start == week_start)
        .group_by(ActionLog.category)
    )
    activity = Counter({category: int(count) for category, count in rows})
    profiles = [
        PublicProfile(name, band)
        for user_id, _, name in people
        if name and (band := band_of(distances[user_id])) is not None
    ]
    profiles.sort(key=lambda p: (list(Band).index(p.band), p.name.casefold()))
    return Neighbourhood(too_few=False, counts=counts, activity=dict(activity), profiles=profiles)
