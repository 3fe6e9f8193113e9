"""Action places end to end: an approved listing shows the eco-actions it enables on its
card; its owner prints the counter QR; scanning it logs an action there once a day per
person, place and action; /act's "📍 Where near me?" lists the place."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import makers
from bot.services.makers import ListingDraft
from bot.standin import BotApiStandIn, RecordedCall, TgUser, buttons
from models import ActionLog, Maker, MakerStatus, PlaceLog, User
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text, tr

OWNER = TgUser(id=3301, first_name="Odile", language_code="fr")
VISITOR = TgUser(id=3302, first_name="Vera", language_code="en")
SHOP = (44.8400, -0.5800)
NEARBY = (44.8378, -0.5792)
REPAIR = "Repaired instead of replaced"
CLOTHES = "Second-hand clothes instead of new"


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    return make_settings(tmp_path, throttle_burst=1000)  # type: ignore[arg-type]


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    clock.set(datetime(2026, 3, 26, 9, 0, tzinfo=UTC))
    async with running_bot(settings, tg, clock=clock) as running:
        yield running


def labels(call: RecordedCall) -> list[str]:
    return [label for row in buttons(call) for label, _ in row]


async def approved_place(app: RunningBot, clock: ManualClock) -> Maker:
    async with app.sessionmaker() as session:
        now = clock.now()
        session.add(
            User(id=OWNER.id, first_name=OWNER.first_name, created_at=now, last_seen_at=now)
        )
        await session.flush()
        draft = ListingDraft(
            name="Ressourcerie du Port",
            category="repair",
            description="Réparations et occasion",
            latitude=SHOP[0],
            longitude=SHOP[1],
            city="Bordeaux",
            address="4 quai du Port",
            actions="repaired_item second_hand_clothes",
        )
        maker = await makers.submit_listing(session, OWNER.id, draft, now)
        maker.status = MakerStatus.APPROVED.value
        await session.commit()
        return maker


async def logs_at_place(app: RunningBot) -> tuple[int, int]:
    async with app.sessionmaker() as session:
        logs = await session.scalar(
            select(func.count()).select_from(ActionLog).where(ActionLog.user_id == VISITOR.id)
        )
        marks = await session.scalar(select(func.count()).select_from(PlaceLog))
        return int(logs or 0), int(marks or 0)


async def test_card_counter_qr_once_a_day_and_where_near_me(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    place = await approved_place(app, clock)
    # The card shows what one can do there.
    _, card, _venue = await tg.reply_to(VISITOR, f"/start maker_{place.id}", count=3)
    assert f"Here you can: {CLOTHES}, {REPAIR}" in str(card.text)
    # Its owner (only) gets the counter QR from the card: a deep link to the place.
    *_, hint = await tg.reply_to(OWNER, f"/start maker_{place.id}", count=4)
    assert hint.text == text("places.counter_hint", "fr")
    (photo,) = await tg.click(OWNER, hint, tr.t("places.button.counter_qr", "fr"))
    image = Image.open(io.BytesIO(photo.files["photo"]))
    decoded = [barcode.text for barcode in zxingcpp.read_barcodes(image)]
    assert decoded == [f"https://t.me/{tg.bot_username}?start=place_{place.id}"]

    # Vera scans it and picks what she did there.
    (screen,) = await tg.reply_to(VISITOR, f"/start place_{place.id}")
    assert "Ressourcerie du Port" in str(screen.text)
    assert labels(screen) == [CLOTHES, REPAIR]
    (logged,) = await tg.click(VISITOR, screen, REPAIR)
    assert str(logged.text).startswith(
        text("places.logged_here", "en", name="Ressourcerie du Port")
    )
    assert await logs_at_place(app) == (1, 1)
    # The same action at the same place again today: refused, nothing logged.
    since = tg.mark()
    await tg.click(VISITOR, screen, REPAIR, count=0)
    (answer,) = await tg.wait_for("answerCallbackQuery", since=since)
    assert answer.params.get("text") == tr.t("places.already_today", "en")
    assert await logs_at_place(app) == (1, 1)
    # Tomorrow, again.
    clock.advance(timedelta(days=1))
    await tg.click(VISITOR, screen, REPAIR)
    assert await logs_at_place(app) == (2, 2)

    # /act: logging "second-hand clothes" offers "where near me?", which asks for a place
    # (none shared lately) and lists the shop.
    (menu,) = await tg.reply_to(VISITOR, "/act")
    (listing,) = await tg.click(VISITOR, menu, tr.t("act.category.consumption", "en"))
    (after,) = await tg.click(VISITOR, listing, CLOTHES)
    near = tr.t("places.button.near", "en")
    assert near in labels(after)
    (ask,) = await tg.click(VISITOR, after, near)
    assert str(ask.text).startswith(text("places.near.ask", "en"))
    since = tg.mark()
    tg.push_location(VISITOR, *NEARBY)
    (found,) = await tg.wait_for("sendMessage", chat_id=VISITOR.id, since=since)
    assert "Ressourcerie du Port" in str(found.text)
    assert str(found.text).startswith(text("places.near.head", "en", action=CLOTHES).split("\n")[0])
    # The place just shared is used again without asking.
    (again,) = await tg.click(VISITOR, after, near)
    assert "1. Ressourcerie du Port" in str(again.text)
