"""The makers directory's services: exact indexed nearest search (SQLite R*Tree and
PostgreSQL cells), favourites, listings and moderation. No Telegram."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services import makers
from bot.services.geo.distance import (
    MAX_DISTANCE_KM,
    Origin,
    cap_boxes,
    format_distance,
    haversine_km,
)
from bot.services.makers import (
    InvalidFieldError,
    ListingDraft,
    MakerFilter,
    MakerNotFoundError,
)
from bot.services.users import NotOrganiserError, TelegramProfile, upsert_user
from bot.ui.notices import makers as maker_notices
from models import Maker, MakerCategory, MakerSource, MakerStatus, OutboxMessage, User
from models.database import create_engine, create_sessionmaker, upgrade
from models.maker import geo_cell
from tests.conftest import current_backend
from tests.support.texts import tr

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T = TypeVar("T")

latitudes = st.one_of(
    st.floats(-90, 90),
    st.floats(85, 90),
    st.floats(-90, -85),
    st.sampled_from([-90.0, 90.0, 0.0]),
)
longitudes = st.one_of(
    st.floats(-180, 180),
    st.floats(175, 180),
    st.floats(-180, -175),
    st.sampled_from([-180.0, 180.0, 0.0]),
)


def seven_decimals(value: float) -> float:
    # As precise as real coordinates get (OSM stores 7 decimals); PostgreSQL refuses the
    # float underflow that squaring a sine of 1e-300 would cause.
    return round(value, 7)


points = st.tuples(latitudes.map(seven_decimals), longitudes.map(seven_decimals))
# Points near one another too, so that the first small boxes already hold candidates.
france = st.tuples(
    st.floats(43.0, 43.2).map(seven_decimals), st.floats(1.0, 1.3).map(seven_decimals)
)
categories = st.sampled_from(list(MakerCategory))
statuses = st.sampled_from([MakerStatus.APPROVED] * 4 + [MakerStatus.PENDING])


def maker_row(
    index: int, lat: float, lon: float, category: MakerCategory, status: MakerStatus
) -> dict[str, object]:
    return {
        "id": index,
        "name": f"Maker {index}",
        "category": category.value,
        "description": "",
        "address": "",
        "postcode": "",
        "city": "",
        "latitude": lat,
        "longitude": lon,
        "geo_cell": geo_cell(lat, lon),
        "status": status.value,
        "source": MakerSource.IMPORT.value,
        "external_id": f"t{index}",
        "search_text": "",
        "created_at": NOW,
        "updated_at": NOW,
    }


@pytest.fixture
async def pg_sessionmaker(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(postgres_url)
    await upgrade(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


def run_from_thread(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[T]], T]:
    def run(coroutine: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)  # type: ignore[arg-type]

    return run


async def check_knn_equals_exhaustive(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Hypothesis drives random makers and queries; each example rewrites the table.

    Hypothesis is synchronous, so it runs in a thread and hands the database work back
    to this event loop."""
    run = run_from_thread(asyncio.get_running_loop())

    async def reset(rows: list[dict[str, object]]) -> None:
        async with sessionmaker() as session:
            await session.execute(delete(Maker))
            if rows:
                await session.execute(insert(Maker), rows)
            await session.commit()

    async def compare(
        queries: list[tuple[float, float]], k: int, category: MakerCategory | None
    ) -> None:
        where = MakerFilter(category=category)
        async with sessionmaker() as session:
            for lat, lon in queries:
                indexed = await makers.nearest_ids(session, lat, lon, k, where)
                exhaustive = await makers.exhaustive_nearest_ids(session, lat, lon, k, where)
                assert indexed == exhaustive, (lat, lon, k, category)
                if category is None:
                    in_sql = await makers.exhaustive_nearest_ids_sql(session, lat, lon, k)
                    assert [i for i, _ in in_sql] == [i for i, _ in exhaustive]
                    for (_, a), (_, b) in zip(in_sql, exhaustive, strict=True):
                        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        spread=st.lists(st.tuples(points, categories, statuses), max_size=40),
        local=st.lists(st.tuples(france, categories, statuses), max_size=40),
        duplicates=st.integers(0, 5),
        queries=st.lists(st.one_of(points, france), min_size=1, max_size=4),
        k=st.integers(1, 12),
        category=st.one_of(st.none(), categories),
    )
    def check(
        spread: list[tuple[tuple[float, float], MakerCategory, MakerStatus]],
        local: list[tuple[tuple[float, float], MakerCategory, MakerStatus]],
        duplicates: int,
        queries: list[tuple[float, float]],
        k: int,
        category: MakerCategory | None,
    ) -> None:
        chosen = spread + local
        # Exact duplicates: ties that only the id can break.
        chosen += chosen[:duplicates]
        rows = [
            maker_row(index, lat, lon, cat, status)
            for index, ((lat, lon), cat, status) in enumerate(chosen, start=1)
        ]
        run(reset(rows))
        run(compare(queries, k, category))

    await asyncio.to_thread(check)


async def test_knn_equals_exhaustive_scan_on_sqlite(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await check_knn_equals_exhaustive(sessionmaker)


@pytest.mark.postgres
async def test_knn_equals_exhaustive_scan_on_postgres(
    pg_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await check_knn_equals_exhaustive(pg_sessionmaker)


@settings(max_examples=300, deadline=None)
@given(centre=points, other=points, radius=st.floats(0.001, 25_000))
def test_cap_boxes_hold_every_point_of_the_cap(
    centre: tuple[float, float], other: tuple[float, float], radius: float
) -> None:
    distance = haversine_km(*centre, *other)
    if distance > radius:
        return
    lat, lon = other
    assert any(
        b.min_lat <= lat <= b.max_lat and b.min_lon <= lon <= b.max_lon
        for b in cap_boxes(*centre, radius)
    ), (centre, other, radius, distance)


@given(centre=points, other=points)
def test_origin_distance_is_the_haversine_bit_for_bit(
    centre: tuple[float, float], other: tuple[float, float]
) -> None:
    assert Origin.at(*centre).distance_km(*other) == haversine_km(*centre, *other)


def test_haversine_known_distance_and_limits() -> None:
    # Bordeaux town hall -> Paris (Notre-Dame): about 499 km.
    assert haversine_km(44.8378, -0.5792, 48.8530, 2.3499) == pytest.approx(499, abs=3)
    assert haversine_km(0, 179.9, 0, -179.9) == pytest.approx(22.24, abs=0.05)
    assert haversine_km(90, 0, -90, 0) == pytest.approx(MAX_DISTANCE_KM)
    assert cap_boxes(89.99, 10, 5)[0].min_lon == -180.0
    assert len(cap_boxes(10, 179.99, 5)) == 2


@pytest.mark.parametrize(
    ("km", "fr", "en"),
    [
        (0.0, "10 m", "10 m"),
        (0.3501, "350 m", "350 m"),
        (0.996, "1 km", "1 km"),
        (2.44, "2,4 km", "2.4 km"),
        (12.3, "12 km", "12 km"),
        (1234.4, "1\u202f234 km", "1,234 km"),
    ],
)
def test_format_distance(km: float, fr: str, en: str) -> None:
    assert format_distance(km, "fr") == fr
    assert format_distance(km, "en") == en


@pytest.fixture
async def sqlite_session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    """A SQLite database whatever the test backend: the R*Tree exists only there."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/rtree.db")
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def test_rtree_follows_status_and_moves(sqlite_session: AsyncSession) -> None:
    session = sqlite_session
    maker = Maker(
        name="Atelier",
        latitude=44.8,
        longitude=-0.5,
        source=MakerSource.IMPORT.value,
        status=MakerStatus.PENDING.value,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(maker)
    await session.flush()
    count = text("SELECT count(*) FROM maker_rtree")
    assert await session.scalar(count) == 0
    maker.status = MakerStatus.APPROVED.value
    await session.flush()
    assert await session.scalar(count) == 1
    maker.latitude = 45.0
    await session.flush()
    box = await session.execute(text("SELECT min_lat FROM maker_rtree"))
    assert box.scalar() == pytest.approx(45.0, abs=1e-5)
    assert maker.geo_cell == geo_cell(45.0, -0.5)
    await session.delete(maker)
    await session.flush()
    assert await session.scalar(count) == 0


async def add_maker(session: AsyncSession, index: int, **fields: object) -> Maker:
    values = maker_row(index, 44.84, -0.58, MakerCategory.OTHER, MakerStatus.APPROVED)
    values.update(fields)
    maker = Maker(**values)
    session.add(maker)
    await session.flush()
    return maker


async def test_search_words_ignore_case_and_accents(session: AsyncSession) -> None:
    await add_maker(
        session,
        1,
        name="Céramiques Élodie",
        search_text=makers.search_text_of("Céramiques Élodie", "Bols émaillés"),
    )
    await add_maker(session, 2, name="Autre", search_text="autre")
    for query in ("ceramiques", "ÉMAILLÉS", "elodie bols"):
        page = await makers.nearest_makers(
            session, 44.84, -0.58, limit=5, where=MakerFilter.of(query=query)
        )
        assert [n.maker.id for n in page.makers] == [1], query
    page = await makers.nearest_makers(
        session, 44.84, -0.58, limit=5, where=MakerFilter.of(query="%")
    )
    assert len(page.makers) == 2  # no wildcard smuggled in: "%" is no word at all


async def test_paging(session: AsyncSession) -> None:
    for index in range(1, 13):
        await add_maker(session, index, latitude=44.84 + index / 1000)
    first = await makers.nearest_makers(session, 44.84, -0.58, limit=5)
    assert [n.maker.id for n in first.makers] == [1, 2, 3, 4, 5]
    assert first.has_more
    last = await makers.nearest_makers(session, 44.84, -0.58, limit=5, offset=10)
    assert [n.maker.id for n in last.makers] == [11, 12]
    assert not last.has_more


async def test_favourites_only_for_listed_makers(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    session.add(User(id=5, first_name="A", created_at=NOW, last_seen_at=NOW))
    listed = await add_maker(session, 1)
    hidden = await add_maker(session, 2, status=MakerStatus.PENDING.value)
    assert await makers.set_favourite(session, 5, listed.id, True, NOW)
    assert await makers.set_favourite(session, 5, listed.id, True, NOW)  # idempotent
    assert [m.id for m in await makers.favourite_makers(session, 5)] == [listed.id]
    with pytest.raises(MakerNotFoundError):
        await makers.set_favourite(session, 5, hidden.id, True, NOW)
    assert not await makers.set_favourite(session, 5, listed.id, False, NOW)
    assert await makers.favourite_makers(session, 5) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://atelier.example", "https://atelier.example"),
        ("atelier.fr", "https://atelier.fr"),
        ("http://xn--caf-dma.fr/a?b=1", "http://xn--caf-dma.fr/a?b=1"),
        ("javascript:alert(1)", None),
        ("ftp://atelier.fr", None),
        ("https://localhost", None),
        ("not a url", None),
        ("https://user:pw@evil.fr", None),
        ("https://a.fr:99999", None),
        ("", None),
    ],
)
def test_clean_website(raw: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(InvalidFieldError):
            makers.clean_website(raw)
    else:
        assert makers.clean_website(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [("", "empty"), ("   ", "empty"), ("🌱🔥", "no_letters"), ("x" * 101, "too_long")],
)
def test_clean_name_refusals(raw: str, code: str) -> None:
    with pytest.raises(InvalidFieldError) as caught:
        makers.clean_name(raw)
    assert caught.value.code == code


async def test_listing_lifecycle_and_moderation(session: AsyncSession) -> None:
    organisers = frozenset({900})
    draft = ListingDraft(
        name="Le Fil d'Or",
        category="jewellery",
        description="Bijoux",
        latitude=44.84,
        longitude=-0.58,
        address="1 rue X",
    )
    maker = await makers.submit_listing(session, 42, draft, NOW)
    assert maker.status == MakerStatus.PENDING.value
    assert maker.source == MakerSource.SELF.value
    assert (await makers.nearest_makers(session, 44.84, -0.58, limit=5)).makers == []
    with pytest.raises(NotOrganiserError):
        await makers.approve_listing(session, maker.id, 42, organisers, NOW)
    with pytest.raises(NotOrganiserError):
        await makers.pending_listings(session, 42, organisers)
    waiting, total = await makers.pending_listings(session, 900, organisers)
    assert ([m.id for m in waiting], total) == ([maker.id], 1)
    await makers.approve_listing(session, maker.id, 900, organisers, NOW)
    with pytest.raises(makers.AlreadyModeratedError):
        await makers.approve_listing(session, maker.id, 900, organisers, NOW)
    page = await makers.nearest_makers(session, 44.84, -0.58, limit=5)
    assert [n.maker.id for n in page.makers] == [maker.id]
    # An edit goes back to moderation, same row (one listing per person).
    draft.description = "Bijoux en argent recyclé"
    again = await makers.submit_listing(session, 42, draft, NOW)
    assert again.id == maker.id
    assert again.status == MakerStatus.PENDING.value
    rejected = await makers.reject_listing(session, maker.id, 900, organisers, " Flou ", NOW)
    assert (rejected.status, rejected.rejection_reason) == (MakerStatus.REJECTED.value, "Flou")
    count = await session.scalar(select(Maker.id).where(Maker.owner_id == 42))
    assert count == maker.id


async def test_decision_notice_is_queued_once_per_decision(session: AsyncSession) -> None:
    """In the owner's language (the one they chose over Telegram's), under a key naming the
    listing, the decision and its moment: the same decision queued again is one message,
    the next decision on the edited listing is another."""
    translator = tr
    organisers = frozenset({900})
    owner = await upsert_user(session, TelegramProfile(42, "Ana", None, "fr"), NOW)
    owner.language = "en"
    draft = ListingDraft(
        name="Fil <d'Or>",
        category="jewellery",
        description="B",
        latitude=1,
        longitude=2,
        address="1 rue X",
    )
    maker = await makers.submit_listing(session, 42, draft, NOW)
    with pytest.raises(ValueError, match="no decision"):
        await maker_notices.enqueue(session, translator, maker, NOW)
    await makers.approve_listing(session, maker.id, 900, organisers, NOW)
    assert await maker_notices.enqueue(session, translator, maker, NOW) is True
    assert await maker_notices.enqueue(session, translator, maker, NOW) is False
    later = NOW + timedelta(hours=1)
    await makers.submit_listing(session, 42, draft, later)
    await makers.reject_listing(session, maker.id, 900, organisers, "<Flou>", later)
    assert await maker_notices.enqueue(session, translator, maker, later) is True
    rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(m.chat_id, m.kind, m.idempotency_key, m.priority) for m in rows] == [
        (42, "maker.approved", f"maker:{maker.id}:approved:2026-01-05T09:00:00.000000+00:00", 0),
        (42, "maker.rejected", f"maker:{maker.id}:rejected:2026-01-05T10:00:00.000000+00:00", 0),
    ]
    name = "Fil &lt;d'Or&gt;"
    assert rows[0].text == translator.t("moderation.notify.approved", "en", name=name)
    assert rows[1].text == translator.t(
        "moderation.notify.rejected", "en", name=name, reason="&lt;Flou&gt;"
    )


async def test_decision_notice_skips_an_owner_out_of_reach(session: AsyncSession) -> None:
    """An owner who blocked the bot is not queued a notice, nor is anyone for a listing
    without an owner (an imported one)."""
    translator = tr
    organisers = frozenset({900})
    owner = await upsert_user(session, TelegramProfile(42, "Ana", None, "en"), NOW)
    draft = ListingDraft(
        name="Fil",
        category="jewellery",
        description="B",
        latitude=1,
        longitude=2,
        address="1 rue X",
    )
    maker = await makers.submit_listing(session, 42, draft, NOW)
    await makers.approve_listing(session, maker.id, 900, organisers, NOW)
    owner.is_active = False
    assert await maker_notices.enqueue(session, translator, maker, NOW) is False
    maker.owner_id = None
    assert await maker_notices.enqueue(session, translator, maker, NOW) is False
    assert (await session.scalars(select(OutboxMessage))).all() == []


async def test_impossible_coordinates_are_refused(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="impossible"):
        await makers.nearest_ids(session, 91, 0, 5)
    draft = ListingDraft(name="A", description="B", address="C", latitude=0, longitude=200)
    with pytest.raises(InvalidFieldError):
        await makers.submit_listing(session, 1, draft, NOW)


async def test_engine_fixture_follows_the_test_backend(engine: AsyncEngine) -> None:
    expected = "postgresql" if current_backend() == "postgres" else "sqlite"
    assert engine.dialect.name == expected
