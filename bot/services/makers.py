"""The makers directory (PRODUCT.md §2.2): nearest search, favourites, self-registered
listings and their moderation.

Nearest search is exact and indexed. A box around the query point that holds the whole
spherical cap of radius r (bot.services.geo.cap_boxes) is asked for its candidates
through the spatial index (SQLite: the R*Tree `maker_rtree`, which holds approved makers
only; PostgreSQL: the B-tree on (status, geo_cell)); their haversine distances are
computed here. Every maker within r is in the box, so once k candidates lie within r
they are the true k nearest. Otherwise the box grows: to the k-th candidate's distance
when there are k candidates (one more query then suffices), else by the missing share of
candidates (fourfold when there are none), up to the whole world. Ties are broken by id, so the answer is exactly the exhaustive scan's.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import action_places, drafts
from bot.services.geo.distance import MAX_DISTANCE_KM, Box, Origin, cap_boxes, haversine_sql
from bot.services.geo.geocoding import normalize_name, validate_coordinates
from bot.services.users import require_organiser
from models import Maker, MakerCategory, MakerFavourite, MakerSource, MakerStatus, User
from models.maker import GEO_CELL_COLUMNS, geo_cell_column, geo_cell_row

INITIAL_RADIUS_KM = 2.0
GROWTH = 4.0
MIN_GROWTH = 1.5
# A box spanning more cell rows than this is searched by latitude/longitude alone (it is
# big, so the data there is sparse): an SQL query with hundreds of ranges costs more.
MAX_CELL_ROWS = 48
MAX_WORDS = 5

NAME_LIMIT = 100
DESCRIPTION_LIMIT = 1000
ADDRESS_LIMIT = 200
WEBSITE_LIMIT = 300
PHONE_LIMIT = 30
REASON_LIMIT = 500

_PHONE = re.compile(r"^\+?[0-9 .()/-]+$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class MakerNotFoundError(LookupError):
    """No such maker, or not one this person may see or change."""


class AlreadyModeratedError(ValueError):
    """The listing is no longer waiting for a decision (a stale or repeated button)."""


class InvalidFieldError(ValueError):
    """A listing field was refused; `code` names why (a locale key suffix)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# ----------------------------------------------------------------------------- searching


@dataclass(frozen=True, slots=True)
class MakerFilter:
    category: MakerCategory | None = None
    words: tuple[str, ...] = ()

    @classmethod
    def of(cls, category: MakerCategory | None = None, query: str = "") -> MakerFilter:
        words = tuple(dict.fromkeys(normalize_name(query).split()))[:MAX_WORDS]
        return cls(category, words)


@dataclass(frozen=True, slots=True)
class NearbyMaker:
    maker: Maker
    distance_km: float


@dataclass(frozen=True, slots=True)
class NearbyPage:
    makers: list[NearbyMaker]
    offset: int
    has_more: bool


def _filters(where: MakerFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Maker.status == MakerStatus.APPROVED.value]
    if where.category is not None:
        clauses.append(Maker.category == where.category.value)
    # normalize_name leaves only [a-z0-9 ], so no LIKE wildcard can come from the person.
    clauses.extend(Maker.search_text.like(f"%{word}%") for word in where.words)
    return clauses


def _cell_ranges(box: Box) -> list[tuple[int, int]] | None:
    first, last = geo_cell_row(box.min_lat), geo_cell_row(box.max_lat)
    if last - first + 1 > MAX_CELL_ROWS:
        return None
    west, east = geo_cell_column(box.min_lon), geo_cell_column(box.max_lon)
    return [
        (row * GEO_CELL_COLUMNS + west, row * GEO_CELL_COLUMNS + east)
        for row in range(first, last + 1)
    ]


_RTREE_BOX = (
    "SELECT m.id, m.latitude, m.longitude FROM maker_rtree AS r JOIN makers AS m ON m.id = r.id"
    " WHERE r.min_lat <= ? AND r.max_lat >= ? AND r.min_lon <= ? AND r.max_lon >= ?"
    " AND m.status = ?"
)


async def _driver(session: AsyncSession) -> Any:
    """The DBAPI driver's own connection (aiosqlite or asyncpg) of the session's transaction.

    The box query is the hot path of /makers: sent straight to the driver, it skips
    SQLAlchemy's statement and result machinery, which costs more than the query itself."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    if raw.driver_connection is None:  # pragma: no cover - a live connection always has one
        raise RuntimeError("no database connection")
    return raw.driver_connection


async def _sqlite_candidates(
    session: AsyncSession, box: Box, where: MakerFilter
) -> Sequence[tuple[int, float, float]]:
    """Through the R*Tree, which holds approved makers only."""
    sql = _RTREE_BOX
    params: list[object] = [
        box.max_lat,
        box.min_lat,
        box.max_lon,
        box.min_lon,
        MakerStatus.APPROVED.value,
    ]
    sql += _filter_sql(where, params, "?")
    rows = await (await _driver(session)).execute_fetchall(sql, params)
    return [(row[0], row[1], row[2]) for row in rows]


async def _postgres_candidates(
    session: AsyncSession, box: Box, where: MakerFilter
) -> Sequence[tuple[int, float, float]]:
    """Through the (status, geo_cell) B-tree: one range of cells per row of the box, and
    the coordinates carried by the index (an index-only scan)."""
    params: list[object] = [
        MakerStatus.APPROVED.value,
        box.min_lat,
        box.max_lat,
        box.min_lon,
        box.max_lon,
    ]
    sql = (
        "SELECT m.id, m.latitude, m.longitude FROM makers AS m WHERE m.status = $1"
        " AND m.latitude BETWEEN $2 AND $3 AND m.longitude BETWEEN $4 AND $5"
    )
    ranges = _cell_ranges(box)
    if ranges is not None:
        parts = []
        for low, high in ranges:
            params += [low, high]
            parts.append(f"m.geo_cell BETWEEN ${len(params) - 1} AND ${len(params)}")
        sql += " AND (" + " OR ".join(parts) + ")"
    sql += _filter_sql(where, params, "$")
    rows = await (await _driver(session)).fetch(sql, *params)
    return [(row[0], row[1], row[2]) for row in rows]


def _filter_sql(where: MakerFilter, params: list[object], style: str) -> str:
    """The category and words conditions, their values appended to `params`."""

    def placeholder(value: object) -> str:
        params.append(value)
        return "?" if style == "?" else f"${len(params)}"

    sql = ""
    if where.category is not None:
        sql += f" AND m.category = {placeholder(where.category.value)}"
    for word in where.words:
        # normalize_name leaves only [a-z0-9 ], so no LIKE wildcard comes from the person.
        sql += f" AND m.search_text LIKE {placeholder(f'%{word}%')}"
    return sql


async def _candidates(
    session: AsyncSession, box: Box, where: MakerFilter
) -> Sequence[tuple[int, float, float]]:
    if session.get_bind().dialect.name == "sqlite":
        return await _sqlite_candidates(session, box, where)
    return await _postgres_candidates(session, box, where)


async def nearest_ids(
    session: AsyncSession,
    latitude: float,
    longitude: float,
    k: int,
    where: MakerFilter = MakerFilter(),
) -> list[tuple[int, float]]:
    """The ids of the k approved makers nearest to the point, with their distances in km,
    nearest first (ties by id). Indexed; equal to `exhaustive_nearest_ids`."""
    if k <= 0:
        return []
    if not validate_coordinates(latitude, longitude):
        raise ValueError("impossible coordinates")
    origin = Origin.at(latitude, longitude)
    radius = INITIAL_RADIUS_KM
    while True:
        seen: dict[int, float] = {}
        for box in cap_boxes(latitude, longitude, radius):
            for maker_id, lat, lon in await _candidates(session, box, where):
                seen[maker_id] = origin.distance_km(lat, lon)
        ranked = heapq.nsmallest(k, ((d, i) for i, d in seen.items()))
        whole_world = radius >= MAX_DISTANCE_KM
        if whole_world or (len(ranked) == k and ranked[-1][0] <= radius):
            return [(maker_id, distance) for distance, maker_id in ranked]
        if len(ranked) == k:
            radius = ranked[-1][0]
        elif ranked:
            # Fewer than k: grow the area by about the missing share (with a margin), so a
            # sparse region is not answered with a box of thousands.
            factor = min(GROWTH, max(MIN_GROWTH, math.sqrt(k / len(ranked)) * 1.3))
            radius = min(radius * factor, MAX_DISTANCE_KM)
        else:
            radius = min(radius * GROWTH, MAX_DISTANCE_KM)


async def exhaustive_nearest_ids(
    session: AsyncSession,
    latitude: float,
    longitude: float,
    k: int,
    where: MakerFilter = MakerFilter(),
) -> list[tuple[int, float]]:
    """The reference answer: every approved maker's distance, computed here."""
    origin = Origin.at(latitude, longitude)
    query = select(Maker.id, Maker.latitude, Maker.longitude).where(*_filters(where))
    rows = await session.execute(query)
    ranked = heapq.nsmallest(k, ((origin.distance_km(r[1], r[2]), r[0]) for r in rows))
    return [(maker_id, distance) for distance, maker_id in ranked]


async def exhaustive_nearest_ids_sql(
    session: AsyncSession, latitude: float, longitude: float, k: int
) -> list[tuple[int, float]]:
    """The same reference, computed by the database (a full scan, fast enough at 10^6)."""
    origin = Origin.at(latitude, longitude)
    dialect = session.get_bind().dialect.name
    distance = haversine_sql("latitude", "longitude", dialect)
    # A scan reads the table in order; going through an index on status would fetch the
    # rows one by one instead (SQLite's unary + keeps the planner off the index).
    status = "+status" if dialect == "sqlite" else "status"
    query = text(
        f"SELECT id, {distance} AS d FROM makers WHERE {status} = :approved ORDER BY d, id LIMIT :k"
    )
    params = {**origin.sql_params(), "approved": MakerStatus.APPROVED.value, "k": k}
    rows = await session.execute(query, params)
    return [(int(row[0]), float(row[1])) for row in rows]


async def nearest_makers(
    session: AsyncSession,
    latitude: float,
    longitude: float,
    *,
    limit: int,
    offset: int = 0,
    where: MakerFilter = MakerFilter(),
) -> NearbyPage:
    """One page of the nearest approved makers matching `where`."""
    offset = max(0, offset)
    ranked = await nearest_ids(session, latitude, longitude, offset + limit + 1, where)
    page = ranked[offset : offset + limit]
    rows = await session.scalars(select(Maker).where(Maker.id.in_([i for i, _ in page])))
    by_id = {maker.id: maker for maker in rows}
    makers = [NearbyMaker(by_id[i], d) for i, d in page if i in by_id]
    return NearbyPage(makers, offset, len(ranked) > offset + limit)


async def listed_maker(session: AsyncSession, maker_id: int) -> Maker:
    """An approved maker, as anyone may see it."""
    maker = await session.get(Maker, maker_id)
    if maker is None or maker.status != MakerStatus.APPROVED.value:
        raise MakerNotFoundError(maker_id)
    return maker


# ----------------------------------------------------------------------------- favourites


async def is_favourite(session: AsyncSession, user_id: int, maker_id: int) -> bool:
    return await session.get(MakerFavourite, (user_id, maker_id)) is not None


async def set_favourite(
    session: AsyncSession, user_id: int, maker_id: int, favourite: bool, now: datetime
) -> bool:
    """Mark or unmark a listed maker as a favourite (idempotent); returns the new state."""
    await listed_maker(session, maker_id)
    current = await session.get(MakerFavourite, (user_id, maker_id))
    if favourite and current is None:
        session.add(MakerFavourite(user_id=user_id, maker_id=maker_id, created_at=now))
        await session.flush()
    elif not favourite and current is not None:
        await session.delete(current)
        await session.flush()
    return favourite


async def favourite_makers(session: AsyncSession, user_id: int, limit: int = 50) -> list[Maker]:
    query = (
        select(Maker)
        .join(MakerFavourite, MakerFavourite.maker_id == Maker.id)
        .where(MakerFavourite.user_id == user_id, Maker.status == MakerStatus.APPROVED.value)
        .order_by(func.lower(Maker.name), Maker.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


# ----------------------------------------------------------------------------- fields


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidFieldError("empty")
    if len(name) > NAME_LIMIT:
        raise InvalidFieldError("too_long")
    # Emoji and punctuation alone are no name to find a maker by.
    if not any(char.isalnum() for char in name):
        raise InvalidFieldError("no_letters")
    return name


def clean_text(raw: str, limit: int) -> str:
    value = raw.strip()
    if not value:
        raise InvalidFieldError("empty")
    if len(value) > limit:
        raise InvalidFieldError("too_long")
    return value


def clean_website(raw: str) -> str:
    """An http(s) URL with a real-looking host; "example.org" gets https:// in front."""
    value = raw.strip()
    if not value:
        raise InvalidFieldError("empty")
    if len(value) > WEBSITE_LIMIT or any(char.isspace() for char in value):
        raise InvalidFieldError("bad_url")
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").encode("idna").decode("ascii")
        parts.port  # noqa: B018 - raises on a malformed port
    except (ValueError, UnicodeError):
        raise InvalidFieldError("bad_url") from None
    if parts.scheme.lower() not in ("http", "https") or not _HOST.match(host.lower()):
        raise InvalidFieldError("bad_url")
    if parts.username or parts.password:
        raise InvalidFieldError("bad_url")
    return value


def is_web_url(value: str | None) -> bool:
    """True for a link a button may open (http or https only)."""
    if not value:
        return False
    try:
        return clean_website(value) == value
    except InvalidFieldError:
        return False


def clean_phone(raw: str) -> str:
    value = " ".join(raw.split())
    digits = sum(char.isdigit() for char in value)
    if len(value) > PHONE_LIMIT or not _PHONE.match(value) or not 6 <= digits <= 15:
        raise InvalidFieldError("bad_phone")
    return value


def clean_category(raw: str) -> MakerCategory | None:
    try:
        return MakerCategory(raw.strip().lower())
    except ValueError:
        return None


def search_text_of(name: str, description: str) -> str:
    return normalize_name(f"{name} {description}")


# ----------------------------------------------------------------------------- listings


@dataclass(slots=True)
class ListingDraft:
    """What /maker collects, step by step (kept in the conversation's state)."""

    name: str = ""
    category: str = MakerCategory.OTHER.value
    description: str = ""
    latitude: float | None = None
    longitude: float | None = None
    city: str = ""
    address: str = ""
    website: str | None = None
    phone: str | None = None
    # False while the pin is a town's centre (a typed town or postcode).
    pin_precise: bool = True
    # The eco-actions one can do there (bot/services/action_places.py), space-separated.
    actions: str = ""

    def to_state(self) -> dict[str, object]:
        return drafts.to_state(self)

    @classmethod
    def from_state(cls, data: dict[str, object]) -> ListingDraft:
        return drafts.from_state(cls, data)

    @classmethod
    def from_maker(cls, maker: Maker) -> ListingDraft:
        return cls(
            name=maker.name,
            category=maker.category,
            description=maker.description,
            latitude=maker.latitude,
            longitude=maker.longitude,
            city=maker.city,
            address=maker.address,
            website=maker.website,
            phone=maker.phone,
            pin_precise=maker.pin_precise,
            actions=maker.actions or "",
        )


def shown_address(address: str, city: str, pin_precise: bool) -> str:
    """What a card says of where a maker is: the street only over a pin at the door, so a
    card never sends people to a street while its map points at the town's centre."""
    parts = (address, city) if pin_precise else (city,)
    return ", ".join(part for part in parts if part)


async def own_listing(session: AsyncSession, owner_id: int) -> Maker | None:
    return await session.scalar(select(Maker).where(Maker.owner_id == owner_id))


async def submit_listing(
    session: AsyncSession, owner_id: int, draft: ListingDraft, now: datetime
) -> Maker:
    """Create or replace this person's own listing; it waits for an organiser's approval
    (an edited listing leaves the directory until then)."""
    name = clean_name(draft.name)
    description = clean_text(draft.description, DESCRIPTION_LIMIT)
    address = clean_text(draft.address, ADDRESS_LIMIT)
    category = clean_category(draft.category)
    if category is None:
        raise InvalidFieldError("bad_category")
    if (
        draft.latitude is None
        or draft.longitude is None
        or not validate_coordinates(draft.latitude, draft.longitude)
    ):
        raise InvalidFieldError("bad_location")
    website = clean_website(draft.website) if draft.website else None
    phone = clean_phone(draft.phone) if draft.phone else None
    maker = await own_listing(session, owner_id)
    if maker is None:
        maker = Maker(owner_id=owner_id, source=MakerSource.SELF.value, created_at=now)
        session.add(maker)
    maker.name = name
    maker.category = category.value
    maker.description = description
    maker.address = address
    maker.city = draft.city[:100]
    maker.postcode = maker.postcode or ""
    maker.website = website
    maker.phone = phone
    # 7 decimals (~1 cm), as imports store them: as precise as any map needs.
    maker.latitude = round(float(draft.latitude), 7)
    maker.longitude = round(float(draft.longitude), 7)
    maker.search_text = search_text_of(name, description)
    maker.pin_precise = draft.pin_precise
    maker.actions = action_places.encode(draft.actions.split())
    maker.status = MakerStatus.PENDING.value
    maker.rejection_reason = None
    maker.updated_at = now
    await session.flush()
    return maker


# ----------------------------------------------------------------------------- moderation


async def pending_listings(
    session: AsyncSession, user_id: int, organiser_ids: frozenset[int], limit: int = 10
) -> tuple[list[Maker], int]:
    """The oldest listings waiting for a decision, and how many wait in all."""
    await require_organiser(session, user_id, organiser_ids)
    waiting = Maker.status == MakerStatus.PENDING.value
    total = await session.scalar(select(func.count()).select_from(Maker).where(waiting))
    query = select(Maker).where(waiting).order_by(Maker.updated_at, Maker.id).limit(limit)
    return list((await session.scalars(query)).all()), int(total or 0)


async def owner_names(session: AsyncSession, makers: Iterable[Maker]) -> dict[int, str]:
    """The first names of the people who submitted these listings, by Telegram id."""
    owners = {maker.owner_id for maker in makers if maker.owner_id is not None}
    if not owners:
        return {}
    rows = await session.execute(select(User.id, User.first_name).where(User.id.in_(owners)))
    return {user_id: name for user_id, name in rows.all()}


async def _pending(session: AsyncSession, maker_id: int) -> Maker:
    maker = await session.get(Maker, maker_id)
    if maker is None:
        raise MakerNotFoundError(maker_id)
    if maker.status != MakerStatus.PENDING.value:
        raise AlreadyModeratedError(maker_id)
    return maker


async def approve_listing(
    session: AsyncSession,
    maker_id: int,
    moderator_id: int,
    organiser_ids: frozenset[int],
    now: datetime,
) -> Maker:
    await require_organiser(session, moderator_id, organiser_ids)
    maker = await _pending(session, maker_id)
    maker.status = MakerStatus.APPROVED.value
    maker.rejection_reason = None
    maker.updated_at = now
    await session.flush()
    return maker


async def check_can_reject(
    session: AsyncSession, maker_id: int, moderator_id: int, organiser_ids: frozenset[int]
) -> Maker:
    """Before asking an organiser for a reason: the listing must still be waiting."""
    await require_organiser(session, moderator_id, organiser_ids)
    return await _pending(session, maker_id)


async def reject_listing(
    session: AsyncSession,
    maker_id: int,
    moderator_id: int,
    organiser_ids: frozenset[int],
    reason: str,
    now: datetime,
) -> Maker:
    await require_organiser(session, moderator_id, organiser_ids)
    reason = clean_text(reason, REASON_LIMIT)
    maker = await _pending(session, maker_id)
    maker.status = MakerStatus.REJECTED.value
    maker.rejection_reason = reason
    maker.updated_at = now
    await session.flush()
    return maker
