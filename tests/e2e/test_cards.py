"""The pictures people post, end to end: /me's card (square, and the story format as a
file), a challenge's card whose QR code joins it, and the A4 poster that follows a
maker's QR code."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.standin import BotApiStandIn, RecordedCall
from models import Maker
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import counted, text, tr

from .test_actions import ALICE, BOB, ORGANISER, make_challenge
from .test_makers import with_demo_makers


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, organiser_ids=frozenset({ORGANISER.id}), throttle_burst=1000)


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, tg, clock=clock) as running:
        yield running


def image_of(call: RecordedCall, field: str) -> Image.Image:
    return Image.open(io.BytesIO(call.files[field]))


def qr_codes(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


async def test_me_is_a_card_to_post_in_two_shapes(tg: BotApiStandIn, app: RunningBot) -> None:
    await tg.reply_to(ALICE, "/act veggie_meal")
    # /me answers at once with the figures; the card is drawn when asked.
    (me,) = await tg.reply_to(ALICE, "/me")
    assert me.method == "sendMessage"
    figures = text(
        "me.text",
        "fr",
        week=counted("count.eco_actions", 1),
        week_co2="3,9",
        streak=counted("count.weeks", 1),
        total_actions=counted("count.eco_actions", 1),
        co2="3,9",
    )
    assert figures in me.text
    (card,) = await tg.click(ALICE, me, tr.t("cards.me.square_button", "fr"))
    assert card.method == "sendPhoto"
    assert image_of(card, "photo").size == (1080, 1080)
    assert card.text == text("cards.me.square_caption", "fr")
    # Naming oneself edits the figures in place.
    (named,) = await tg.click(ALICE, me, tr.t("me.button.show_name", "fr"))
    assert named.method == "editMessageText"
    assert text("me.named", "fr") in named.text
    (story,) = await tg.click(ALICE, me, tr.t("cards.me.story_button", "fr"))
    assert story.method == "sendDocument"
    picture = image_of(story, "document")
    assert picture.format == "PNG" and picture.size == (1080, 1920)
    assert story.text == text("cards.me.story_caption", "fr")


async def test_a_challenge_card_joins_whoever_scans_it(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    challenge_id = await make_challenge(app, clock)
    (listing,) = await tg.reply_to(BOB, "/challenges")
    (detail,) = await tg.click(BOB, listing, "Semaine végé")
    (card,) = await tg.click(BOB, detail, tr.t("challenges.button.card", "en"))
    assert card.method == "sendPhoto"
    image = image_of(card, "photo")
    assert image.size == (1080, 1080)
    [link] = qr_codes(image)
    assert link == f"https://t.me/{tg.bot_username}?start=join_{challenge_id}"
    # Its share button types the challenge's own inline query.
    [[share]] = card.params["reply_markup"]["inline_keyboard"]
    assert share["switch_inline_query_chosen_chat"]["query"] == f"join_{challenge_id}"
    replies = await tg.follow_link(ALICE, link, count=3)
    assert text("challenges.joined", "fr") in [reply.text for reply in replies]


async def test_a_makers_qr_code_comes_with_an_a4_poster(tg: BotApiStandIn, app: RunningBot) -> None:
    await with_demo_makers(app)
    async with app.sessionmaker() as session:
        maker = await session.scalar(select(Maker).where(Maker.name == "Ganterie Lacroix"))
    assert maker is not None
    _, card, _venue = await tg.reply_to(ALICE, f"/start maker_{maker.id}", count=3)
    _, poster = await tg.click(ALICE, card, tr.t("makers.card.qr_button", "fr"), count=2)
    assert poster.method == "sendDocument"
    pdf = poster.files["document"]
    assert pdf.startswith(b"%PDF-")
    # One A4 page (595 x 842 points)...
    box = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", pdf)
    assert box is not None
    assert round(float(box[1])) == 595 and round(float(box[2])) == 842
    # ... whose picture, at 300 dpi, holds the maker's deep link.
    start = pdf.index(b"\xff\xd8\xff")
    page = Image.open(io.BytesIO(pdf[start:]))
    assert page.size == (2480, 3508)
    assert qr_codes(page) == [f"https://t.me/{tg.bot_username}?start=maker_{maker.id}"]
    assert poster.text == text("cards.poster.caption", "fr", name="Ganterie Lacroix")


def test_the_recap_picture_says_avoided() -> None:
    assert tr.t("nudges.recap.picture_unit", "fr", co2="143,5").endswith("143,5 kg CO2e évités")
    assert tr.t("nudges.recap.picture_unit", "en", co2="143.5").endswith("143.5 kg CO2e avoided")
