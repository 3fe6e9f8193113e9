"""Demo data, so a newcomer's first `make run` shows a living bot.

Each feature contributes a loader; every loader is idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import SystemClock
from bot.core.settings import PROJECT_ROOT, Settings
from models.database import create_engine, create_sessionmaker, upgrade

# A loader adds its rows (skipping those already there) and returns a one-line report.
DemoLoader = Callable[[AsyncSession, Settings], Awaitable[str]]


DEMO_MAKERS = PROJECT_ROOT / "data" / "demo_makers.csv"


async def load_demo_makers(session: AsyncSession, settings: Settings) -> str:
    """The 200 fictional makers of data/demo_makers.csv, through the import service."""
    from bot.services.imports.makers import read_makers_file, upsert_makers

    summary = await upsert_makers(session, read_makers_file(DEMO_MAKERS), SystemClock().now())
    return f"demo makers: {summary.line()}"


DEMO_OFFER_POSTER = 4_100_000_000_000_000
DEMO_OFFERS = (
    ("Six baguettes de la veille", "bakery", "Encore bonnes grillées ou en pain perdu.", 6, 3),
    (
        "Panier de légumes abîmés",
        "produce",
        "Carottes, courgettes et tomates un peu tachées.",
        4,
        5,
    ),
    ("Trois parts de lasagnes", "meals", "Préparées ce midi, à garder au frais.", 3, 2),
    ("Yaourts à date courte", "dairy", "Nature, date limite demain.", 8, 20),
    ("Pâtes et riz en vrac", "grocery", "Fins de sacs, environ 500 g chacun.", 5, 30),
)


async def load_demo_offers(session: AsyncSession, settings: Settings) -> str:
    """A few open offers at the first demo makers' addresses, posted by a demo shopkeeper;
    loaded again only once the previous ones have ended."""
    from sqlalchemy import select

    from bot.services.offers import maker_address
    from bot.services.users import TelegramProfile, upsert_user
    from models import Maker, Offer, OfferStatus

    now = SystemClock().now()
    current = await session.scalar(
        select(Offer.id).where(
            Offer.poster_id == DEMO_OFFER_POSTER,
            Offer.status == OfferStatus.OPEN.value,
            Offer.pickup_end > now,
        )
    )
    if current is not None:
        return "demo offers: already there"
    makers = list(
        (await session.scalars(select(Maker).order_by(Maker.id).limit(len(DEMO_OFFERS)))).all()
    )
    if not makers:
        return "demo offers: no demo makers to attach them to"
    await upsert_user(
        session, TelegramProfile(DEMO_OFFER_POSTER, "Épicerie solidaire", None, "fr"), now
    )
    for (title, category, description, quantity, hours), maker in zip(
        DEMO_OFFERS, makers, strict=False
    ):
        session.add(
            Offer(
                title=title,
                description=description,
                category=category,
                quantity_total=quantity,
                quantity_left=quantity,
                pickup_start=now,
                pickup_end=now + timedelta(hours=hours),
                latitude=maker.latitude,
                longitude=maker.longitude,
                address=maker_address(maker),
                poster_id=DEMO_OFFER_POSTER,
                maker_id=maker.id,
                status=OfferStatus.OPEN.value,
                created_at=now,
            )
        )
    await session.flush()
    return f"demo offers: {min(len(makers), len(DEMO_OFFERS))} open offers"


def demo_loaders() -> list[DemoLoader]:
    from bot.services.demo.actions import load_actions_demo
    from bot.services.demo.neighbours import load_neighbours_demo

    # The neighbours demo places the people the actions demo created.
    return [load_demo_makers, load_actions_demo, load_neighbours_demo, load_demo_offers]


async def load_demo_into(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> list[str]:
    reports: list[str] = []
    async with sessionmaker() as session:
        for loader in demo_loaders():
            reports.append(await loader(session, settings))
        await session.commit()
    return reports or ["no demo data to load yet"]


async def load_demo(settings: Settings) -> list[str]:
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        return await load_demo_into(create_sessionmaker(engine), settings)
    finally:
        await engine.dispose()
