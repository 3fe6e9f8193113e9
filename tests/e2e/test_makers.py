"""The makers directory end to end: the real bot polls the test Bot API server and people
share locations, type postcodes, page, filter, favourite, register and moderate."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from bot.app.demo import DEMO_MAKERS, load_demo_makers
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import makers
from bot.services.geo import privacy
from bot.services.geo.distance import format_distance, haversine_km
from bot.services.geo.geocoding import lookup_place
from bot.standin import (
    SEND_METHODS,
    BotApiStandIn,
    RecordedCall,
    TgUser,
    buttons,
    reply_keyboard,
)
from bot.ui.callbacks.makers import ModerationAction, ModerationCb
from bot.worker.background import BackgroundTiming
from models import InboxStatus, InboxUpdate, Maker, MakerStatus, OutboxMessage
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import counted, text, tr

ALICE = TgUser(id=2001, first_name="Alice", language_code="fr")
BOB = TgUser(id=2002, first_name="Bob", language_code="en")
CAROL = TgUser(id=2003, first_name="Carol", language_code="en")
ORGANISER = TgUser(id=2099, first_name="Olga", language_code="fr")
BORDEAUX = (44.8378, -0.5792)
# What the bot keeps of a shared location (bot/services/geo/privacy.py): the lists are
# ordered from that point.
AS_SHARED = (round(BORDEAUX[0], privacy.DECIMALS), round(BORDEAUX[1], privacy.DECIMALS))

FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)


def demo_rows() -> list[dict[str, str]]:
    with DEMO_MAKERS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_lines(lat: float, lon: float, locale: str, category: str | None = None) -> list[str]:
    """The list lines an exhaustive scan of the demo file predicts (ties by file order)."""
    rows = [r for r in demo_rows() if category is None or r["category"] == category]
    ranked = sorted(
        (haversine_km(lat, lon, float(r["latitude"]), float(r["longitude"])), n, r)
        for n, r in enumerate(rows)
    )
    return [
        text(
            "makers.list.item",
            locale,
            number=number,
            name=row["name"],
            category=tr.t(f"makers.category.{row['category']}", locale),
            distance=format_distance(distance, locale),
        )
        for number, (distance, _, row) in enumerate(ranked, start=1)
    ]


def items(call: RecordedCall) -> list[str]:
    return [line for line in call.text.splitlines() if re.match(r"^\d+\. ", line)]


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    # Long conversations: throttling has its own tests.
    return make_settings(
        tmp_path,  # type: ignore[arg-type]
        organiser_ids=frozenset({ORGANISER.id}),
        throttle_burst=1000,
    )


async def with_demo_makers(running: RunningBot) -> RunningBot:
    async with running.sessionmaker() as session:
        await load_demo_makers(session, running.settings)
        await session.commit()
    return running


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, tg, clock=clock) as running:
        yield await with_demo_makers(running)


@pytest.fixture
async def app_with_sender(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    """The bot with its background worker, as `greenhood run`: what it sends on its own
    through the outbox (a listing owner's moderation notice) arrives too."""
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        yield await with_demo_makers(running)


async def queued_for(app: RunningBot, user: TgUser) -> list[tuple[str, str]]:
    """(kind, idempotency key) of the outbox messages to `user`, oldest first."""
    async with app.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == user.id).order_by(OutboxMessage.id)
        )
        return [(row.kind, row.idempotency_key) for row in rows]


def decided_at(clock: ManualClock) -> str:
    return clock.now().isoformat(timespec="microseconds")


async def share(
    tg: BotApiStandIn, user: TgUser, lat: float, lon: float, count: int = 2
) -> list[RecordedCall]:
    since = tg.mark()
    tg.push_location(user, lat, lon)
    return await tg.wait_for(SEND_METHODS, chat_id=user.id, count=count, since=since)


async def send(
    tg: BotApiStandIn, user: TgUser, extra: dict[str, object], count: int = 1
) -> list[RecordedCall]:
    since = tg.mark()
    tg.push_message(user, extra)
    return await tg.wait_for(SEND_METHODS, chat_id=user.id, count=count, since=since)


async def test_share_location_lists_the_nearest_in_order_with_distances(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    (prompt,) = await tg.reply_to(ALICE, tr.t("menu.makers", "fr"))
    assert prompt.text == text("location.prompt", "fr")
    assert reply_keyboard(prompt) == [[(tr.t("location.button.share", "fr"), True)]]
    noted, listing = await share(tg, ALICE, *BORDEAUX)
    assert noted.text == text("location.noted", "fr", place=tr.t("makers.list.here", "fr"))
    assert items(listing) == expected_lines(*AS_SHARED, "fr")[:5]
    assert re.search(r"· \d+ m$", items(listing)[0])  # metres close by
    labels = [label for row in buttons(listing) for label, _ in row]
    assert tr.t("makers.list.more", "fr") in labels
    # "More" sends the next five.
    (more,) = await tg.click(ALICE, listing, tr.t("makers.list.more", "fr"))
    assert items(more) == expected_lines(*AS_SHARED, "fr")[5:10]


async def test_a_postcode_gives_the_same_makers_as_sharing_that_towns_location(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    await tg.reply_to(BOB, "/makers")
    noted, typed = await tg.reply_to(BOB, "33000", count=2)
    assert noted.text == text("location.noted", "en", place="Bordeaux")
    town = lookup_place("33000")
    assert town is not None
    await tg.reply_to(ALICE, "/makers")
    _, shared = await share(tg, ALICE, town.latitude, town.longitude)
    names = [re.sub(r" — .*", "", line) for line in items(typed)]
    assert names == [re.sub(r" — .*", "", line) for line in items(shared)]
    assert items(typed) == expected_lines(town.latitude, town.longitude, "en")[:5]
    # A typed town name works as well, and a nonsense one is explained, step kept.
    await tg.reply_to(BOB, "/cancel")
    await tg.reply_to(BOB, "/makers")
    (unknown,) = await tg.reply_to(BOB, "Atlantis-sur-Mer")
    assert unknown.text == text("location.not_found", "en", query="Atlantis-sur-Mer")
    (impossible,) = await tg.reply_to(BOB, "95.1, 200")
    assert impossible.text == text("location.invalid", "en")
    _, by_name = await tg.reply_to(BOB, "nancy", count=2)
    nancy = lookup_place("Nancy")
    assert nancy is not None
    assert items(by_name) == expected_lines(nancy.latitude, nancy.longitude, "en")[:5]


async def test_category_filter_buttons_and_command_argument(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    await tg.reply_to(ALICE, "/makers")
    _, listing = await share(tg, ALICE, *BORDEAUX)
    jewellery = tr.t("makers.category.jewellery", "fr")
    (edited,) = await tg.click(ALICE, listing, jewellery)
    assert edited.method == "editMessageMedia"  # the list and its map, together
    assert items(edited) == expected_lines(*AS_SHARED, "fr", "jewellery")[:5]
    assert all(jewellery in line for line in items(edited))
    assert f"✓ {jewellery}" in [label for row in buttons(edited) for label, _ in row]
    # The location was just given: /makers <category> answers at once.
    (direct,) = await tg.reply_to(ALICE, "/makers réparation")
    assert items(direct) == expected_lines(*AS_SHARED, "fr", "repair")[:5]
    # Words search over name and description, accents and case ignored.
    (search,) = await tg.reply_to(ALICE, "/makers GANTS CUIR")
    assert any("Ganterie Lacroix" in line for line in items(search))


async def test_card_venue_favourite_and_unfavourite(tg: BotApiStandIn, app: RunningBot) -> None:
    await tg.reply_to(BOB, "/makers")
    _, listing = await share(tg, BOB, *BORDEAUX)
    first = expected_lines(*AS_SHARED, "en")[0]
    name = re.sub(r"^1\. | — .*$", "", first)
    card, venue = await tg.click(BOB, listing, f"1. {name[:40]}", count=2)
    assert card.text.startswith(name)
    assert venue.method == "sendVenue"
    assert venue.params["title"] == name
    row = next(r for r in demo_rows() if r["name"] == name)
    assert float(venue.params["latitude"]) == pytest.approx(float(row["latitude"]))
    add = tr.t("makers.card.favourite_add", "en")
    (marked,) = await tg.click(BOB, card, add)
    assert marked.method == "editMessageReplyMarkup"
    remove = tr.t("makers.card.favourite_remove", "en")
    assert remove in [label for r in buttons(marked) for label, _ in r]
    (favourites,) = await tg.reply_to(BOB, "/favourites")
    assert name in favourites.text
    (unmarked,) = await tg.click(BOB, card, remove)
    assert add in [label for r in buttons(unmarked) for label, _ in r]
    (favourites,) = await tg.reply_to(BOB, "/favourites")
    assert favourites.text == text("makers.favourites.empty", "en")


async def test_qr_code_is_a_png_holding_the_deep_link(tg: BotApiStandIn, app: RunningBot) -> None:
    async with app.sessionmaker() as session:
        maker = await session.scalar(select(Maker).where(Maker.external_id == "id:demo-bdx-001"))
    assert maker is not None
    _, card, _venue = await tg.reply_to(ALICE, f"/start maker_{maker.id}", count=3)
    assert card.text.startswith("Ganterie Lacroix")
    website = [
        url
        for row in buttons(card)
        for label, url in row
        if label == tr.t("makers.card.website_button", "fr")
    ]
    assert website == ["https://ganterie-lacroix.example"]
    (photo,) = await tg.click(ALICE, card, tr.t("makers.card.qr_button", "fr"))
    assert photo.method == "sendPhoto"
    content = photo.files["photo"]
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    assert image.size[0] >= 200
    decoded = [barcode.text for barcode in zxingcpp.read_barcodes(image)]
    assert decoded == [f"https://t.me/{tg.bot_username}?start=maker_{maker.id}"]
    assert photo.text == text("makers.qr.caption", "fr", name="Ganterie Lacroix")


@pytest.mark.parametrize("payload", ["maker_999999", "maker_1"])
async def test_deep_link_to_an_unknown_or_unlisted_maker(
    tg: BotApiStandIn, app: RunningBot, payload: str
) -> None:
    async with app.sessionmaker() as session:
        first = await session.get(Maker, 1)
        assert first is not None
        first.status = MakerStatus.REJECTED.value
        await session.commit()
    _, answer = await tg.reply_to(BOB, f"/start {payload}", count=2)
    assert answer.text == text("makers.card.not_found", "en")


async def test_register_approve_then_find(
    tg: BotApiStandIn, app_with_sender: RunningBot, clock: ManualClock
) -> None:
    app = app_with_sender
    intro, ask_name = await tg.reply_to(CAROL, "/maker", count=2)
    assert intro.text == text("wizard.intro.new", "en")
    assert ask_name.text == text("wizard.ask.name", "en")
    # Refusals keep the step.
    (again,) = await tg.reply_to(CAROL, "🌱🌱🌱")
    assert again.text.startswith(text("wizard.error.no_letters", "en"))
    (again,) = await tg.reply_to(CAROL, "   ")
    assert again.text.startswith(text("wizard.error.empty", "en"))
    (ask_category,) = await tg.reply_to(CAROL, "Atelier <Carol> & Co")
    assert ask_category.text == text("wizard.ask.category", "en")
    (again,) = await tg.reply_to(CAROL, "jewellery")
    assert again.text.startswith(text("wizard.error.use_buttons", "en"))
    (ask_description,) = await tg.click(CAROL, again, tr.t("makers.category.jewellery", "en"))
    assert ask_description.text == text("wizard.ask.description", "en")
    (again,) = await tg.reply_to(CAROL, "x" * 4096)
    assert again.text.startswith(text("wizard.error.too_long", "en", limit=1000))
    (ask_location,) = await tg.reply_to(CAROL, "Rings made of recycled silver.")
    assert ask_location.text.startswith(text("wizard.ask.location", "en"))
    (again,) = await tg.reply_to(CAROL, "91, 0")
    assert again.text.startswith(text("location.invalid", "en"))
    noted, ask_address = await share(tg, CAROL, 44.8, -0.6)
    assert ask_address.text == text("wizard.ask.address", "en")
    assert noted.text == text(
        "wizard.location_noted", "en", place=tr.t("wizard.location_point", "en")
    )
    (ask_website,) = await tg.reply_to(CAROL, "12 rue des Bijoux, Bordeaux")
    assert ask_website.text == text("wizard.ask.website", "en")
    (again,) = await tg.reply_to(CAROL, "javascript:alert(1)")
    assert again.text.startswith(text("wizard.error.bad_url", "en"))
    (ask_phone,) = await tg.reply_to(CAROL, "carol.example")
    (ask_actions,) = await tg.click(CAROL, ask_phone, tr.t("wizard.button.skip", "en"))
    assert ask_actions.text.startswith(text("places.wizard.ask", "en").split("\n")[0])
    # The optional step: the eco-actions one can do there, ticked in place.
    since = tg.mark()
    await tg.click(CAROL, ask_actions, "Repaired instead of replaced", count=0)
    (ticked,) = await tg.wait_for("editMessageReplyMarkup", since=since)
    assert "✅ Repaired instead of replaced" in [
        label for row in buttons(ticked) for label, _ in row
    ]
    (preview,) = await tg.click(CAROL, ticked, tr.t("places.wizard.done", "en"))
    assert "Atelier <Carol> & Co" in preview.text
    assert "https://carol.example" in preview.text
    assert "Here you can: Repaired instead of replaced" in preview.text
    calls = await tg.click(CAROL, preview, tr.t("wizard.button.submit", "en"), count=2)
    assert calls[-1].text == text("wizard.submitted", "en")
    async with app.sessionmaker() as session:
        listing = await session.scalar(select(Maker).where(Maker.owner_id == CAROL.id))
    assert listing is not None
    assert listing.status == MakerStatus.PENDING.value
    # Not listed yet.
    await tg.reply_to(BOB, "/makers Carol")
    _, before = await share(tg, BOB, 44.8, -0.6)
    assert not any("Carol" in line for line in items(before))

    # A non-organiser can neither list nor approve, even with a forged button.
    (refused,) = await tg.reply_to(BOB, "/moderation")
    assert refused.text == text("moderation.refused", "en")
    forged = ModerationCb(action=ModerationAction.APPROVE, maker_id=listing.id).pack()
    since = tg.mark()
    query_id = tg.push_callback(BOB, forged)
    await tg.wait_for("answerCallbackQuery", since=since)
    answer = tg.callback_answer(query_id)
    assert answer is not None
    assert answer.params.get("text") == tr.t("moderation.refused", "en")
    async with app.sessionmaker() as session:
        still = await session.get(Maker, listing.id)
        assert still is not None
        assert still.status == MakerStatus.PENDING.value

    # The organiser approves; Carol is told in English, by the sender, from the outbox.
    header, item = await tg.reply_to(ORGANISER, "/moderation", count=2)
    assert header.text == text("moderation.header", "fr", count=counted("count.listings", 1))
    assert "Atelier <Carol> & Co" in item.text
    # The declared actions are moderated with the rest of the listing.
    assert "Objet réparé au lieu de racheté" in item.text
    # Who submitted it, by name, as a mention the organiser can open.
    assert f"proposée par {CAROL.first_name}" in item.text and "Telegram" not in item.text
    assert f'href="tg://user?id={CAROL.id}"' in str(item.params["text"])
    since = tg.mark()
    await tg.click(ORGANISER, item, tr.t("moderation.button.approve", "fr"), count=2)
    (told,) = await tg.wait_for("sendMessage", chat_id=CAROL.id, since=since)
    assert told.text == text("moderation.notify.approved", "en", name="Atelier <Carol> & Co")
    assert await queued_for(app, CAROL) == [
        ("maker.approved", f"maker:{listing.id}:approved:{decided_at(clock)}")
    ]
    (found,) = await tg.reply_to(BOB, "/makers Carol")
    assert items(found)[0].startswith("1. Atelier <Carol> & Co")


async def _wizard_to_location(tg: BotApiStandIn, user: TgUser, name: str) -> None:
    await tg.reply_to(user, "/maker", count=2)
    (ask_category,) = await tg.reply_to(user, name)
    (_ask_description,) = await tg.click(user, ask_category, tr.t("makers.category.food", "en"))
    (ask_location,) = await tg.reply_to(user, "Bread from local flour.")
    assert ask_location.text.startswith(text("wizard.ask.location", "en"))


async def test_a_street_the_geocoder_cannot_place_asks_for_the_pin_of_the_door(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    # Carol types her street where the place is asked: the town is found, not the street.
    await _wizard_to_location(tg, CAROL, "Fournil Carol")
    noted, ask_pin = await tg.reply_to(CAROL, "12 rue Sainte-Catherine, Bordeaux", count=2)
    assert noted.text == text("wizard.location_noted", "en", place="Bordeaux")
    assert ask_pin.text == text(
        "wizard.ask.pin", "en", address="12 rue Sainte-Catherine", town="Bordeaux"
    )
    # Another town's name is still a centre, not a door.
    (again,) = await tg.reply_to(CAROL, "33000")
    assert again.text.startswith(text("wizard.pin.not_precise", "en"))
    # The pin of the door: the address is kept (no address step), the website comes next.
    pin_noted, ask_website = await share(tg, CAROL, 44.8412, -0.5738)
    assert pin_noted.text == text("wizard.pin.noted", "en", address="12 rue Sainte-Catherine")
    assert ask_website.text == text("wizard.ask.website", "en")
    (ask_phone,) = await tg.click(CAROL, ask_website, tr.t("wizard.button.skip", "en"))
    (ask_actions,) = await tg.click(CAROL, ask_phone, tr.t("wizard.button.skip", "en"))
    (preview,) = await tg.click(CAROL, ask_actions, tr.t("places.wizard.done", "en"))
    assert text("makers.card.address", "en", address="12 rue Sainte-Catherine, Bordeaux") in (
        preview.text
    )
    await tg.click(CAROL, preview, tr.t("wizard.button.submit", "en"), count=2)
    async with app.sessionmaker() as session:
        listing = await session.scalar(select(Maker).where(Maker.owner_id == CAROL.id))
    assert listing is not None and listing.pin_precise
    assert (listing.latitude, listing.longitude) == (44.841, -0.574)  # as shared, rounded


async def test_a_town_centre_pin_never_shows_a_street(tg: BotApiStandIn, app: RunningBot) -> None:
    # Bob gives a town, then a street at the address step: asked for the pin; he declines.
    await _wizard_to_location(tg, BOB, "Fournil Bob")
    _noted, ask_address = await tg.reply_to(BOB, "Bordeaux", count=2)
    assert ask_address.text == text("wizard.ask.address", "en")
    (ask_pin,) = await tg.reply_to(BOB, "3 cours Victor Hugo")
    assert ask_pin.text == text(
        "wizard.ask.pin", "en", address="3 cours Victor Hugo", town="Bordeaux"
    )
    told, ask_website = await tg.reply_to(BOB, tr.t("wizard.button.town_only", "en"), count=2)
    assert told.text == text("wizard.pin.town_only", "en", town="Bordeaux")
    assert ask_website.text == text("wizard.ask.website", "en")
    (ask_phone,) = await tg.click(BOB, ask_website, tr.t("wizard.button.skip", "en"))
    (ask_actions,) = await tg.click(BOB, ask_phone, tr.t("wizard.button.skip", "en"))
    (preview,) = await tg.click(BOB, ask_actions, tr.t("places.wizard.done", "en"))
    # The card shows the town only, and says why the street is not there.
    assert text("makers.card.address", "en", address="Bordeaux") in preview.text
    assert "Victor Hugo, Bordeaux" not in preview.text
    assert (
        text("wizard.preview.address_hidden", "en", address="3 cours Victor Hugo", town="Bordeaux")
        in preview.text
    )
    await tg.click(BOB, preview, tr.t("wizard.button.submit", "en"), count=2)
    async with app.sessionmaker() as session:
        listing = await session.scalar(select(Maker).where(Maker.owner_id == BOB.id))
    assert listing is not None and not listing.pin_precise
    assert listing.address == "3 cours Victor Hugo"


async def test_reject_with_a_reason_tells_the_maker(
    tg: BotApiStandIn, app_with_sender: RunningBot, clock: ManualClock
) -> None:
    app = app_with_sender
    await tg.reply_to(CAROL, "/maker", count=2)
    (category,) = await tg.reply_to(CAROL, "Savons Carol")
    await tg.click(CAROL, category, tr.t("makers.category.cosmetics", "en"))
    await tg.reply_to(CAROL, "Soaps.")
    await tg.reply_to(CAROL, "Nantes", count=2)
    await tg.reply_to(CAROL, "1 quai")
    # No pin for the door: the card will show Nantes only.
    await tg.reply_to(CAROL, tr.t("wizard.button.town_only", "en"), count=2)
    await tg.reply_to(CAROL, "savons.example")
    (ask_actions,) = await tg.reply_to(CAROL, "05 56 00 00 00")
    (preview,) = await tg.click(CAROL, ask_actions, tr.t("places.wizard.done", "en"))
    await tg.click(CAROL, preview, tr.t("wizard.button.submit", "en"), count=2)
    _, item = await tg.reply_to(ORGANISER, "/moderation", count=2)
    cleared, ask = await tg.click(ORGANISER, item, tr.t("moderation.button.reject", "fr"), count=2)
    assert cleared.method == "editMessageReplyMarkup"
    assert ask.text == text("moderation.ask_reason", "fr", name="Savons Carol")
    since = tg.mark()
    (done,) = await tg.reply_to(ORGANISER, "Adresse <incomplète>")
    assert done.text == text("moderation.rejected", "fr", name="Savons Carol")
    # Carol reads the organiser's reason in English, from the outbox.
    (told,) = await tg.wait_for("sendMessage", chat_id=CAROL.id, since=since)
    assert told.text == text(
        "moderation.notify.rejected", "en", name="Savons Carol", reason="Adresse <incomplète>"
    )
    async with app.sessionmaker() as session:
        listing = await session.scalar(select(Maker).where(Maker.owner_id == CAROL.id))
    assert listing is not None
    assert await queued_for(app, CAROL) == [
        ("maker.rejected", f"maker:{listing.id}:rejected:{decided_at(clock)}")
    ]
    # A second click on the same button is stale, and tells Carol nothing more.
    since = tg.mark()
    query_id = tg.push_callback(
        ORGANISER, ModerationCb(action=ModerationAction.APPROVE, maker_id=listing.id).pack()
    )
    await tg.wait_for("answerCallbackQuery", since=since)
    answer = tg.callback_answer(query_id)
    assert answer is not None
    assert answer.params.get("text") == tr.t("moderation.already", "fr")
    await tg.wait_idle()
    assert not any(c.chat_id == CAROL.id for c in tg.calls[since:])
    assert len(await queued_for(app, CAROL)) == 1


async def test_a_redelivered_approval_tells_the_owner_once_and_the_next_decision_too(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> None:
    """Telegram posts the organiser's approval to the webhook three times (deliveries not
    acknowledged in time) and the organiser presses once more: the owner is told once.
    She edits her listing; the next decisions, a rejection then a second approval, are
    told too, in the language she chose (English; Telegram says French, as does the
    organiser)."""
    async with running_bot(
        settings, tg, clock=clock, webhook=True, background=True, background_timing=FAST
    ) as app:
        (picker,) = await tg.reply_to(ALICE, "/language")
        await tg.click(ALICE, picker, "English", count=2)
        draft = makers.ListingDraft(
            name="Bijoux <Alice>",
            category="jewellery",
            description="Rings.",
            latitude=44.84,
            longitude=-0.58,
            address="1 rue X",
        )
        async with app.sessionmaker() as session:
            listing_id = (await makers.submit_listing(session, ALICE.id, draft, clock.now())).id
            await session.commit()
        _, item = await tg.reply_to(ORGANISER, "/moderation", count=2)
        approve = ModerationCb(action=ModerationAction.APPROVE, maker_id=listing_id).pack()
        since = tg.mark()
        query_id = tg.push_callback(ORGANISER, approve, item.result["message_id"])
        (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
        assert told.text == text("moderation.notify.approved", "en", name="Bijoux <Alice>")
        approved_key = f"maker:{listing_id}:approved:{decided_at(clock)}"
        update_id = tg.redeliver_callback(query_id)
        tg.redeliver_callback(query_id)
        pressed_again = tg.push_callback(ORGANISER, approve, item.result["message_id"])
        await app.settled()
        await tg.wait_idle()
        # The redeliveries reached the bot, which handled the update once.
        deliveries = [status for uid, status in tg.webhook_deliveries if uid == update_id]
        assert deliveries == [200, 200, 200]
        async with app.sessionmaker() as session:
            inbox = await session.get(InboxUpdate, update_id)
        assert inbox is not None
        assert inbox.status == InboxStatus.DONE
        again = tg.callback_answer(pressed_again)
        assert again is not None
        assert again.params.get("text") == tr.t("moderation.already", "fr")
        sent = [c for c in tg.calls[since:] if c.method == "sendMessage"]
        assert sorted(c.chat_id or 0 for c in sent) == [ALICE.id, ORGANISER.id]
        assert await queued_for(app, ALICE) == [("maker.approved", approved_key)]

        # An edit puts the listing back in moderation; the organiser rejects it later on.
        clock.advance(timedelta(minutes=5))
        async with app.sessionmaker() as session:
            await makers.submit_listing(session, ALICE.id, draft, clock.now())
            await session.commit()
        _, item = await tg.reply_to(ORGANISER, "/moderation", count=2)
        await tg.click(ORGANISER, item, tr.t("moderation.button.reject", "fr"), count=2)
        since = tg.mark()
        (done,) = await tg.reply_to(ORGANISER, "Photos floues & <rien>")
        assert done.text == text("moderation.rejected", "fr", name="Bijoux <Alice>")
        (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
        assert told.text == text(
            "moderation.notify.rejected",
            "en",
            name="Bijoux <Alice>",
            reason="Photos floues & <rien>",
        )
        rejected_key = f"maker:{listing_id}:rejected:{decided_at(clock)}"
        assert await queued_for(app, ALICE) == [
            ("maker.approved", approved_key),
            ("maker.rejected", rejected_key),
        ]

        # Fixed and approved again: a second approval of the same listing is told too.
        clock.advance(timedelta(minutes=5))
        async with app.sessionmaker() as session:
            await makers.submit_listing(session, ALICE.id, draft, clock.now())
            await session.commit()
        _, item = await tg.reply_to(ORGANISER, "/moderation", count=2)
        since = tg.mark()
        await tg.click(ORGANISER, item, tr.t("moderation.button.approve", "fr"), count=2)
        (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
        assert told.text == text("moderation.notify.approved", "en", name="Bijoux <Alice>")
        assert await queued_for(app, ALICE) == [
            ("maker.approved", approved_key),
            ("maker.rejected", rejected_key),
            ("maker.approved", f"maker:{listing_id}:approved:{decided_at(clock)}"),
        ]


async def test_a_place_sent_out_of_the_blue_is_used_by_the_lists(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    """Issue 17: a bare postcode, town or location outside a prompt used to get "I did
    not understand" or "pick something first": it is kept as the person's place, and the
    menu's lists start from it without asking again."""
    (noted,) = await tg.reply_to(BOB, "33000")
    assert noted.text == text("fallback.place_noted", "en", place="Bordeaux")
    (listing,) = await tg.reply_to(BOB, tr.t("menu.makers", "en"))
    assert text("makers.list.header", "en", place="Bordeaux") in listing.text
    # A location too, and a town's name.
    since = tg.mark()
    tg.push_location(ALICE, *BORDEAUX)
    (here,) = await tg.wait_for(SEND_METHODS, chat_id=ALICE.id, since=since)
    assert here.text == text("fallback.place_noted", "fr", place=tr.t("makers.list.here", "fr"))
    (town,) = await tg.reply_to(ALICE, "Pessac")
    assert town.text == text("fallback.place_noted", "fr", place="Pessac")
    # A sentence is not a place.
    (sentence,) = await tg.reply_to(ALICE, "bonjour, je cherche un atelier vélo")
    assert sentence.text == text("fallback.not_understood", "fr")


async def test_a_list_says_when_nothing_is_near_and_its_place_can_be_changed(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    """Issue 17: a search from far away listed makers 274 km off as "nearest"; and the
    list's place could not be changed for 30 minutes."""
    await tg.reply_to(BOB, "/makers")
    _, far = await share(tg, BOB, 48.390, -4.486)  # Brest: no demo maker within 30 km
    assert "No maker within 30 km" in far.text
    (prompt,) = await tg.click(BOB, far, tr.t("places.change", "en"))
    assert prompt.text == text("location.prompt", "en")
    _noted, near = await tg.reply_to(BOB, "33000", count=2)
    assert text("makers.list.header", "en", place="Bordeaux") in near.text
    assert "No maker within" not in near.text
