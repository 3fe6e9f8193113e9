"""Zero-waste offers end to end: the real bot polls the test Bot API server while people
post an offer through the whole wizard (photo included), find it, reserve it, confirm the
pickup, subscribe to alerts, report it, and watch it expire."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import challenges, offers
from bot.services.challenges import ChallengeDraft
from bot.services.offers import OfferDraft
from bot.standin import SEND_METHODS, BotApiStandIn, RecordedCall, TgUser, buttons
from bot.ui.callbacks.offers import OfferAction, OfferCb, ReservationAction, ReservationCb
from bot.worker import jobs
from bot.worker.background import BackgroundTiming
from models import (
    ActionLog,
    ChallengeScope,
    Offer,
    OfferStatus,
    OutboxMessage,
    Reservation,
    ReservationStatus,
    User,
)
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text, tr

ALICE = TgUser(id=3001, first_name="Alice", language_code="fr")
BOB = TgUser(id=3002, first_name="Bob", language_code="en")
CAROL = TgUser(id=3003, first_name="Carol", language_code="en")
DAVE = TgUser(id=3004, first_name="Dave", language_code="fr")
ORGANISER = TgUser(id=3099, first_name="Olga", language_code="fr")
BORDEAUX = (44.8378, -0.5792)
PARIS = (48.8566, 2.3522)

FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)


def labels(call: RecordedCall) -> list[str]:
    return [label for row in buttons(call) for label, _ in row]


def png(colour: str = "green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    return make_settings(
        tmp_path,  # type: ignore[arg-type]
        organiser_ids=frozenset({ORGANISER.id}),
        throttle_burst=1000,
    )


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        yield running


async def send(
    tg: BotApiStandIn, user: TgUser, extra: dict[str, object], count: int = 1
) -> list[RecordedCall]:
    since = tg.mark()
    tg.push_message(user, extra)
    return await tg.wait_for(SEND_METHODS, chat_id=user.id, count=count, since=since)


async def share(
    tg: BotApiStandIn, user: TgUser, lat: float, lon: float, count: int
) -> list[RecordedCall]:
    since = tg.mark()
    tg.push_location(user, lat, lon)
    return await tg.wait_for(SEND_METHODS, chat_id=user.id, count=count, since=since)


async def press(
    tg: BotApiStandIn, user: TgUser, data: str, count: int = 0
) -> tuple[str, list[RecordedCall]]:
    """Push callback data as a (possibly forged) button press; the answer's text."""
    since = tg.mark()
    query_id = tg.push_callback(user, data)
    await tg.wait_for(
        "answerCallbackQuery",
        since=since,
        predicate=lambda c: str(c.params.get("callback_query_id")) == query_id,
    )
    sent = await tg.wait_for(SEND_METHODS, chat_id=user.id, count=count, since=since)
    answer = tg.callback_answer(query_id)
    assert answer is not None
    return str(answer.params.get("text", "")), sent


async def subscribe(
    tg: BotApiStandIn, user: TgUser, locale: str, radius: int, where: tuple[float, float]
) -> None:
    (menu,) = await tg.reply_to(user, "/alerts")
    assert menu.text == text("offers.alerts.off", locale)
    await tg.click(user, menu, tr.t("offers.alerts.radius", locale, radius=radius))
    (saved,) = await share(tg, user, *where, count=1)
    assert saved.text == text("offers.alerts.saved", locale, radius=radius)


async def post_directly(
    app: RunningBot, clock: ManualClock, poster: TgUser, **fields: object
) -> int:
    values: dict[str, object] = {
        "title": "Yaourts",
        "description": "Date courte",
        "category": "dairy",
        "quantity": 2,
        "pickup_end": clock.now() + timedelta(hours=3),
        "latitude": BORDEAUX[0],
        "longitude": BORDEAUX[1],
        "address": "Marché des Capucins",
    }
    values.update(fields)
    async with app.sessionmaker() as session:
        if await session.get(User, poster.id) is None:
            now = clock.now()
            session.add(
                User(id=poster.id, first_name=poster.first_name, created_at=now, last_seen_at=now)
            )
            await session.flush()
        offer, _ = await offers.publish(session, poster.id, OfferDraft(**values), clock.now())  # type: ignore[arg-type]
        await session.commit()
        return offer.id


async def test_post_find_reserve_confirm_with_alerts(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await subscribe(tg, CAROL, "en", 2, (44.845, -0.575))
    await subscribe(tg, DAVE, "fr", 10, PARIS)

    # --- the wizard, with bad input at every step
    intro, ask_title = await tg.reply_to(ALICE, "/newoffer", count=2)
    assert intro.text == text("offers.wizard.intro", "fr")
    assert ask_title.text == text("offers.wizard.ask.title", "fr")
    since = tg.mark()
    tg.push_photo(ALICE, png("red"))
    (again,) = await tg.wait_for(SEND_METHODS, chat_id=ALICE.id, since=since)
    assert again.text.startswith(text("offers.wizard.error.not_text", "fr"))
    (again,) = await tg.reply_to(ALICE, "x" * 5000)
    assert again.text.startswith(text("offers.wizard.error.too_long", "fr", limit=80))
    (ask_description,) = await tg.reply_to(ALICE, "Pain <de> la veille")
    assert ask_description.text == text("offers.wizard.ask.description", "fr")
    (ask_category,) = await tg.reply_to(ALICE, "Six baguettes & deux pains bio")
    assert ask_category.text == text("offers.wizard.ask.category", "fr")
    (again,) = await tg.reply_to(ALICE, "boulangerie")
    assert again.text.startswith(text("offers.wizard.error.use_buttons", "fr"))
    (ask_quantity,) = await tg.click(ALICE, again, tr.t("offers.category.bakery", "fr"))
    assert ask_quantity.text == text("offers.wizard.ask.quantity", "fr", min=1, max=99)
    for bad in ("0", "1000000000", "deux"):
        (again,) = await tg.reply_to(ALICE, bad)
        assert again.text.startswith(text("offers.wizard.error.bad_quantity", "fr", min=1, max=99))
    (ask_start,) = await tg.reply_to(ALICE, "3")
    assert ask_start.text == text("offers.wizard.ask.start", "fr")
    # 10:00 in Paris: "9h" is tomorrow, once Alice says so; she says no.
    (question,) = await tg.reply_to(ALICE, "9h")
    assert question.text == text("offers.wizard.confirm_time", "fr", when="Demain 9:00")
    _, ask_start = await tg.click(ALICE, question, tr.t("offers.wizard.no", "fr"), count=2)
    assert ask_start.text == text("offers.wizard.ask.start", "fr")
    noted, ask_pickup = await tg.reply_to(ALICE, "18h", count=2)
    assert noted.text == text("offers.wizard.start_noted", "fr", when="ce soir 18:00")
    assert ask_pickup.text == text("offers.wizard.ask.pickup", "fr")
    (again,) = await tg.reply_to(ALICE, "04/01 10:00")
    assert again.text.startswith(text("offers.wizard.error.past", "fr"))
    (again,) = await tg.reply_to(ALICE, "demain")
    # The example is two hours ahead, never a time already gone.
    assert again.text.startswith(text("offers.wizard.error.bad_time", "fr", example="12:00"))
    (again,) = await tg.reply_to(ALICE, "18 h 05")
    assert again.text.startswith(text("offers.wizard.error.before_start", "fr", minutes=10))
    assert tr.t("offers.wizard.preset.tonight", "fr") == "Ce soir 21:00"
    noted, ask_location = await tg.click(
        ALICE, again, tr.t("offers.wizard.preset.h3", "fr"), count=2
    )
    assert noted.text == text("offers.wizard.pickup_noted", "fr", when="ce soir 21:00")
    assert ask_location.text.startswith(text("offers.wizard.ask.location", "fr"))
    (again,) = await tg.reply_to(ALICE, "Atlantis-sur-Mer")
    assert text("location.not_found", "fr", query="Atlantis-sur-Mer") in again.text
    _, ask_note = await share(tg, ALICE, *BORDEAUX, count=2)
    assert ask_note.text == text("offers.wizard.ask.note", "fr", limit=200)
    (again,) = await tg.reply_to(ALICE, "x" * 201)
    assert again.text.startswith(text("offers.wizard.error.too_long", "fr", limit=200))
    (ask_photo,) = await tg.reply_to(ALICE, "12 rue X, <sonner> à l'interphone")
    assert ask_photo.text == text("offers.wizard.ask.photo", "fr")
    (again,) = await tg.reply_to(ALICE, "voici")
    assert again.text.startswith(text("offers.wizard.error.not_photo", "fr"))
    since = tg.mark()
    tg.push_photo(ALICE, png())
    photo, preview = await tg.wait_for(SEND_METHODS, chat_id=ALICE.id, count=2, since=since)
    assert photo.method == "sendPhoto"
    assert preview.text.startswith(text("offers.wizard.preview", "fr"))
    assert "Pain <de> la veille" in preview.text
    window = text("offers.window.later", "fr", start="ce soir 18:00", end="ce soir 21:00")
    assert window in preview.text
    assert "📝 12 rue X, <sonner> à l'interphone" in preview.text
    published_from = tg.mark()
    edit, published, card = await tg.click(
        ALICE, preview, tr.t("offers.wizard.publish", "fr"), count=3
    )
    assert edit.method == "editMessageReplyMarkup"
    (alert,) = await tg.wait_for("sendMessage", chat_id=CAROL.id, since=published_from)
    await tg.wait_idle()  # the update's transaction commits after its last reply
    async with app.sessionmaker() as session:
        offer = (await session.scalars(select(Offer))).one()
    assert published.text == text("offers.wizard.published", "fr", id=offer.id)
    assert card.method == "sendPhoto"
    assert offer.photo_file_id and offer.quantity_left == 3

    # --- alerts: Carol (2 km away... within her radius) hears once, Dave (Paris) never
    assert alert.text.startswith("🥕")
    assert "Pain <de> la veille" in alert.text
    # A nudge may wait for the end of quiet hours: its dates are never "tonight".
    assert "🕒 Pickup · opens Mon 5 Jan 18:00 · ends Mon 5 Jan 21:00" in alert.text
    await tg.wait_idle()
    assert len([c for c in tg.calls if c.chat_id == CAROL.id and "Pain" in c.text]) == 1
    assert all("Pain" not in c.text for c in tg.calls if c.chat_id == DAVE.id)

    # --- Bob finds it nearby and reserves it
    (prompt,) = await tg.reply_to(BOB, tr.t("menu.offers", "en"))
    assert prompt.text == text("location.prompt", "en")
    _, header, found = await share(tg, BOB, 44.84, -0.58, count=3)
    assert header.text == text("offers.list.header", "en", place=tr.t("offers.list.here", "en"))
    assert found.method == "sendPhoto"
    assert found.text.startswith("1. Pain <de> la veille")  # pin 1 of the map
    assert "⏰" not in found.text
    window = text("offers.window.later", "en", start="tonight 18:00", end="tonight 21:00")
    assert window == "🕒 Pickup · opens tonight 18:00 · ends tonight 21:00"
    assert window in found.text
    assert "📝 12 rue X, <sonner> à l'interphone" in found.text
    # Reserved before the window opens: allowed, and told where and when.
    since = tg.mark()
    reserved, venue = await tg.click(BOB, found, tr.t("offers.button.reserve", "en"), count=2)
    assert reserved.text.startswith("✅")
    assert window in reserved.text
    assert "📝 12 rue X, <sonner> à l'interphone" in reserved.text
    assert venue.method == "sendVenue"
    (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    record = text("offers.notice.record", "fr", pickups="0 retrait", no_shows="0 absence")
    assert told.text == text(
        "offers.notice.reserved",
        "fr",
        name="Bob",
        title="Pain <de> la veille",
        left=2,
        total=3,
        record=record,
    )
    (held,) = await tg.reply_to(BOB, "/myoffers")
    assert window in held.text and "📝 12 rue X" in held.text
    # A second click is refused: one active reservation per person.
    answer, _ = await press(tg, BOB, OfferCb(action=OfferAction.RESERVE, offer_id=offer.id).pack())
    assert answer == tr.t("offers.reserve.already", "en")

    # --- forged buttons: Carol cannot cancel Bob's reservation nor reserve a closed offer
    async with app.sessionmaker() as session:
        reservation = (await session.scalars(select(Reservation))).one()
    forged = ReservationCb(action=ReservationAction.CANCEL, reservation_id=reservation.id).pack()
    answer, _ = await press(tg, CAROL, forged)
    assert answer == tr.t("offers.reservation.not_found", "en")
    confirm = ReservationCb(action=ReservationAction.CONFIRM, reservation_id=reservation.id).pack()
    answer, _ = await press(tg, BOB, confirm)
    assert answer == tr.t("offers.reservation.not_found", "en")

    # --- Alice confirms the pickup from /myoffers
    (mine,) = await tg.reply_to(ALICE, "/myoffers")
    assert (
        text(
            "offers.mine.reservation",
            "fr",
            number=1,
            name="Bob",
            status=tr.t("offers.reservation.status.reserved", "fr"),
        )
        in mine.text
    )
    since = tg.mark()
    await tg.click(ALICE, mine, tr.t("offers.button.confirm", "fr", number=1), count=1)
    (thanks,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert thanks.text == text("offers.notice.picked_up", "en", title="Pain <de> la veille")
    async with app.sessionmaker() as session:
        reservation = (await session.scalars(select(Reservation))).one()
        logs = (await session.scalars(select(ActionLog))).all()
    assert reservation.status == ReservationStatus.PICKED_UP.value
    assert [(log.user_id, log.action_slug) for log in logs] == [(BOB.id, "saved_food")]

    # --- closing early, then a forged reserve is refused and nothing changes
    (mine,) = await tg.reply_to(ALICE, "/myoffers")
    await tg.click(ALICE, mine, tr.t("offers.button.close", "fr"), count=1)
    answer, _ = await press(
        tg, CAROL, OfferCb(action=OfferAction.RESERVE, offer_id=offer.id).pack()
    )
    assert answer == tr.t("offers.reserve.ended", "en")
    async with app.sessionmaker() as session:
        closed = await session.get(Offer, offer.id)
        assert closed is not None
        assert closed.status == OfferStatus.CLOSED.value and closed.quantity_left == 2


async def test_a_confirmed_pickup_that_meets_a_pledge_tells_its_organiser(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    """The saved-food log of a confirmed pickup counts for challenges like any log: when
    it meets a pledge, the organiser's notice is queued with it and delivered."""
    offer_id = await post_directly(app, clock, ALICE)
    await tg.reply_to(BOB, "/start")
    async with app.sessionmaker() as session:
        challenge = await challenges.create_challenge(
            session,
            ChallengeDraft(
                title="Anti-gaspi",
                description="Sauver des invendus",
                action_slugs=("saved_food",),
                weekly_target=1,
                scope=ChallengeScope.EVERYONE,
                contest_id=None,
                team_id=None,
                pledge="Un frigo solidaire au campus",
                last_day=date(2026, 3, 1),
            ),
            ORGANISER.id,
            app.settings.organiser_ids,
            clock.now(),
            app.settings.tz,
        )
        await challenges.join_challenge(session, challenge.id, BOB.id, clock.now())
        reservation, _, _ = await offers.reserve(session, offer_id, BOB.id, clock.now())
        await session.commit()
        challenge_id, reservation_id = challenge.id, reservation.id
    since = tg.mark()
    confirm = ReservationCb(action=ReservationAction.CONFIRM, reservation_id=reservation_id)
    await press(tg, ALICE, confirm.pack(), count=1)
    (notice,) = await tg.wait_for("sendMessage", chat_id=ORGANISER.id, since=since)
    assert notice.text == text(
        "challenges.pledge_met_notice",
        "fr",
        title="Anti-gaspi",
        total=1,
        target=1,
        pledge="Un frigo solidaire au campus",
    )
    async with app.sessionmaker() as session:
        keys = list(
            await session.scalars(
                select(OutboxMessage.idempotency_key).where(OutboxMessage.chat_id == ORGANISER.id)
            )
        )
    assert keys == [f"pledge:{challenge_id}:2026-01-05"]


async def test_an_ended_offer_disappears_and_its_reservation_is_released(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_directly(
        app,
        clock,
        ALICE,
        pickup_end=clock.now() + timedelta(hours=1),
        pickup_note="Sonner <Martin>",
    )
    await tg.reply_to(BOB, "/offers")
    _, _, card = await share(tg, BOB, *BORDEAUX, count=3)
    assert "⏰" in card.text  # under two hours left
    since = tg.mark()
    await tg.click(BOB, card, tr.t("offers.button.reserve", "en"), count=2)
    # The poster's notice leaves the outbox once the reservation is committed.
    await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    clock.advance(timedelta(minutes=5))
    since = tg.mark()
    await jobs.remind_offer(offer_id)  # the job scheduled an hour before the end
    (reminder,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert reminder.text == text(
        "offers.notice.reminder", "en", title="Yaourts", address="Marché des Capucins"
    ) + "\n" + text("offers.card.note", "en", note="Sonner <Martin>")
    await jobs.remind_offer(offer_id)  # run twice: still one reminder
    clock.advance(timedelta(minutes=56))
    # Not swept yet: /offers already hides it.
    await tg.reply_to(BOB, "/offers")  # the shared location is too old: asked again
    _, empty = await share(tg, BOB, *BORDEAUX, count=2)
    assert empty.text == text(
        "offers.list.empty", "en", radius=15, place=tr.t("offers.list.your_location", "en")
    )
    since = tg.mark()
    await jobs.sweep_offers()  # what the worker runs every minute
    (released,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert released.text == text("offers.notice.released", "en", title="Yaourts")
    async with app.sessionmaker() as session:
        offer = await session.get(Offer, offer_id)
        reservation = (await session.scalars(select(Reservation))).one()
    assert offer is not None and offer.status == OfferStatus.EXPIRED.value
    assert reservation.status == ReservationStatus.NO_SHOW.value
    (mine,) = await tg.reply_to(BOB, "/myoffers")
    assert mine.text == text("offers.mine.empty", "en")


async def test_a_report_reaches_moderation_and_removal_tells_the_poster(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_directly(app, clock, ALICE, title="Suspicious <stuff>")
    _, card = await tg.reply_to(CAROL, f"/start offer_{offer_id}", count=2)
    assert card.text.startswith("Suspicious <stuff>")
    (ask,) = await tg.click(CAROL, card, tr.t("offers.button.report", "en"))
    assert ask.text == text("offers.report.ask", "en")
    await tg.click(CAROL, ask, tr.t("offers.report.reason.unsafe", "en"), count=1)
    # Not an organiser: refused, whatever the button says.
    (refused,) = await tg.reply_to(CAROL, "/moderation")
    assert refused.text == text("moderation.refused", "en")
    header, item = await tg.reply_to(ORGANISER, "/moderation", count=2)
    assert header.text == text("offers.moderation.header", "fr", count=1)
    assert "Suspicious <stuff>" in item.text
    since = tg.mark()
    # The item loses its buttons, then "removed" is said.
    await tg.click(ORGANISER, item, tr.t("offers.moderation.remove", "fr"), count=2)
    (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    assert told.text == text(
        "offers.notice.removed",
        "fr",
        title="Suspicious <stuff>",
        reason=tr.t("offers.report.reason.unsafe", "fr"),
    )
    (empty,) = await tg.reply_to(ORGANISER, "/moderation")
    assert empty.text == text("moderation.empty", "fr")


async def test_qr_code_holds_the_deep_link(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_directly(app, clock, ALICE, title="Pommes")
    _, card = await tg.reply_to(BOB, f"/start offer_{offer_id}", count=2)
    (photo,) = await tg.click(BOB, card, tr.t("offers.button.qr", "en"))
    image = Image.open(io.BytesIO(photo.files["photo"]))
    assert image.format == "PNG"
    decoded = [barcode.text for barcode in zxingcpp.read_barcodes(image)]
    assert decoded == [f"https://t.me/{tg.bot_username}?start=offer_{offer_id}"]


async def test_myoffers_lists_only_what_is_still_on(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    """A cancelled reservation is gone from both sides; one whose window is over (not yet
    swept) is not shown to its holder as something to fetch."""
    first = await post_directly(app, clock, ALICE, title="Pommes")
    second = await post_directly(
        app, clock, ALICE, title="Poires", pickup_end=clock.now() + timedelta(minutes=30)
    )
    _, card = await tg.reply_to(BOB, f"/start offer_{first}", count=2)
    await tg.click(BOB, card, tr.t("offers.button.reserve", "en"), count=2)
    (held,) = await tg.reply_to(BOB, "/myoffers")
    await tg.click(BOB, held, tr.t("offers.button.cancel_number", "en", number=1), count=1)
    await tg.wait_idle()
    _, card = await tg.reply_to(BOB, f"/start offer_{second}", count=2)
    await tg.click(BOB, card, tr.t("offers.button.reserve", "en"), count=2)
    await tg.wait_idle()
    cancelled = tr.t("offers.reservation.status.cancelled", "fr")
    posted = await tg.reply_to(ALICE, "/myoffers", count=2)
    assert all(cancelled not in call.text for call in posted)
    assert [("Bob" in call.text) for call in posted] == [True, False]  # newest first
    clock.advance(timedelta(minutes=31))  # Poires' window is over, not swept yet
    (mine,) = await tg.reply_to(BOB, "/myoffers")
    assert mine.text == text("offers.mine.empty", "en")


async def test_an_empty_search_says_where_it_looked_and_offers_elsewhere(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await post_directly(app, clock, ALICE)  # in Bordeaux
    await tg.reply_to(BOB, "/offers")
    _, empty = await share(tg, BOB, *PARIS, count=2)
    assert empty.text == text(
        "offers.list.empty", "en", radius=15, place=tr.t("offers.list.your_location", "en")
    )
    assert "/newoffer" in empty.text
    # /offers again reuses the place: the button is the way to look elsewhere.
    (again,) = await tg.reply_to(BOB, "/offers")
    assert again.text == empty.text
    (prompt,) = await tg.click(BOB, again, tr.t("offers.list.elsewhere", "en"))
    assert prompt.text == text("location.prompt", "en")
    _, _, found = await share(tg, BOB, *BORDEAUX, count=3)
    assert found.text.startswith("1. Yaourts")


async def test_dates_read_the_same_everywhere_in_each_language(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    """Monday 5 January, 10:00 in Paris: later days are named, never "04/12"."""
    later = await post_directly(
        app,
        clock,
        ALICE,
        title="Confiture",
        pickup_start=clock.now() + timedelta(days=1),
        pickup_end=clock.now() + timedelta(days=3, hours=9),
    )
    _, card = await tg.reply_to(BOB, f"/start offer_{later}", count=2)
    assert "🕒 Pickup · opens tomorrow 10:00 · ends Thu 8 Jan 19:00" in card.text
    _, card = await tg.reply_to(DAVE, f"/start offer_{later}", count=2)
    assert "🕒 Retrait · début : demain 10:00 · fin : jeu. 8 janv. 19:00" in card.text
    (mine,) = await tg.reply_to(ALICE, "/myoffers")
    assert "fin : jeu. 8 janv. 19:00" in mine.text
    for call in tg.calls:
        assert "jusqu'à le" not in call.text and "/01 " not in call.text


async def test_a_typed_time_already_passed_is_tomorrow_once_confirmed(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    """In English, with the skip of the pickup instructions."""
    await tg.reply_to(BOB, "/newoffer", count=2)
    await tg.reply_to(BOB, "Jam")
    (ask,) = await tg.reply_to(BOB, "Homemade, three jars")
    (ask,) = await tg.click(BOB, ask, tr.t("offers.category.grocery", "en"))
    (ask,) = await tg.reply_to(BOB, "3")
    noted, _ = await tg.click(BOB, ask, tr.t("offers.wizard.preset.now", "en"), count=2)
    assert noted.text == text("offers.wizard.start_now_noted", "en")
    (confirm,) = await tg.reply_to(BOB, "9:30")  # 10:00 in Paris
    assert confirm.text == text("offers.wizard.confirm_time", "en", when="Tomorrow 9:30")
    edit, noted, _ = await tg.click(BOB, confirm, tr.t("offers.wizard.yes", "en"), count=3)
    assert edit.method == "editMessageReplyMarkup"
    assert noted.text == text("offers.wizard.pickup_noted", "en", when="tomorrow 9:30")
    _, ask_note = await share(tg, BOB, *BORDEAUX, count=2)
    (ask_photo,) = await tg.click(BOB, ask_note, tr.t("offers.wizard.skip", "en"))
    (preview,) = await tg.click(BOB, ask_photo, tr.t("offers.wizard.skip", "en"))
    assert "🕒 Pickup open · ends tomorrow 9:30" in preview.text
    assert "📝" not in preview.text


async def test_three_no_shows_pause_reservations_for_a_week(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    """Each reservation still held when its window ends is a no-show; the third within 30
    days pauses reserving for 7 days (Settings), said with its date; then it is allowed
    again. The poster sees the record; /forget takes it away."""
    for day in range(3):
        offer_id = await post_directly(
            app, clock, ALICE, title=f"Soupe {day}", pickup_end=clock.now() + timedelta(hours=1)
        )
        _, card = await tg.reply_to(BOB, f"/start offer_{offer_id}", count=2)
        since = tg.mark()
        await tg.click(BOB, card, tr.t("offers.button.reserve", "en"), count=2)
        (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
        record = text(
            "offers.notice.record",
            "fr",
            pickups=tr.tn("offers.notice.pickups", 0, "fr"),
            no_shows=tr.tn("offers.notice.no_shows", day, "fr"),
        )
        assert record in told.text
        clock.advance(timedelta(hours=1))
        since = tg.mark()
        await jobs.sweep_offers()
        (released,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
        assert released.text == text("offers.notice.released", "en", title=f"Soupe {day}")
        clock.advance(timedelta(days=1) - timedelta(hours=1))
    assert tr.tn("offers.notice.no_shows", 2, "fr") == "2 absences"

    # Thursday 8 January 10:00 in Paris; the third no-show was Wednesday 11:00.
    offer_id = await post_directly(
        app, clock, ALICE, title="Pain", pickup_end=clock.now() + timedelta(hours=3)
    )
    _, card = await tg.reply_to(BOB, f"/start offer_{offer_id}", count=2)
    (refused,) = await tg.click(BOB, card, tr.t("offers.button.reserve", "en"))
    assert refused.text == tr.tn(
        "offers.reserve.paused", 3, "en", until="Wed 14 Jan 11:00", days=30
    )
    async with app.sessionmaker() as session:
        held = await session.scalars(
            select(Reservation).where(Reservation.status == ReservationStatus.RESERVED.value)
        )
        assert held.all() == []

    clock.advance(timedelta(days=6, hours=1, minutes=1))  # Wednesday 14 January 11:01
    offer_id = await post_directly(
        app, clock, ALICE, title="Pain", pickup_end=clock.now() + timedelta(hours=3)
    )
    _, card = await tg.reply_to(BOB, f"/start offer_{offer_id}", count=2)
    since = tg.mark()
    reserved, _ = await tg.click(BOB, card, tr.t("offers.button.reserve", "en"), count=2)
    assert reserved.text.startswith("✅")
    (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    assert "3 absences" in told.text

    # /forget: the record goes with the person.
    (confirm,) = await tg.reply_to(BOB, "/forget")
    await tg.click(BOB, confirm, tr.t("forget.button.confirm", "en"))
    await tg.wait_idle()
    async with app.sessionmaker() as session:
        assert (await offers.record_of(session, BOB.id)) == offers.Record(0, 0)
        left = await session.scalars(select(Reservation).where(Reservation.user_id == BOB.id))
        assert left.all() == []


async def test_favourites_hear_of_their_makers_new_offers_once(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    """An offer posted as a maker (its owner used the listing's address) alerts whoever
    favourited the maker, with the same caps, quiet hours and key as the radius alerts:
    one message even for someone both near and a follower, never a second one."""
    from bot.services import makers
    from bot.ui.notices import offers as offer_notices
    from models import Maker

    await subscribe(tg, DAVE, "fr", 2, BORDEAUX)  # near, and a follower
    await subscribe(tg, BOB, "en", 2, BORDEAUX)  # near only
    await tg.reply_to(CAROL, "/start")  # a follower, far away
    async with app.sessionmaker() as session:
        now = clock.now()
        session.add(User(id=ALICE.id, first_name="Alice", created_at=now, last_seen_at=now))
        maker = Maker(
            name="Fournil <Bio>",
            category="bakery",
            latitude=BORDEAUX[0],
            longitude=BORDEAUX[1],
            status="approved",
            owner_id=ALICE.id,
            source="user",
            created_at=now,
            updated_at=now,
        )
        session.add(maker)
        await session.flush()
        for follower in (CAROL, DAVE, ALICE):
            await makers.set_favourite(session, follower.id, maker.id, True, now)
        await session.commit()
        maker_id = maker.id

    # Through the wizard, posted at the listing's address, so as the maker.
    await tg.reply_to(ALICE, "/newoffer", count=2)
    await tg.reply_to(ALICE, "Brioches")
    (ask,) = await tg.reply_to(ALICE, "De ce matin")
    (ask,) = await tg.click(ALICE, ask, tr.t("offers.category.bakery", "fr"))
    (ask,) = await tg.reply_to(ALICE, "4")
    _, ask = await tg.click(ALICE, ask, tr.t("offers.wizard.preset.now", "fr"), count=2)
    _, _, hint = await tg.click(ALICE, ask, tr.t("offers.wizard.preset.h3", "fr"), count=3)
    assert hint.text == text("offers.wizard.maker_hint", "fr", name="Fournil <Bio>")
    _, ask_note = await tg.click(ALICE, hint, tr.t("offers.wizard.use_maker", "fr"), count=2)
    (ask_photo,) = await tg.click(ALICE, ask_note, tr.t("offers.wizard.skip", "fr"))
    (preview,) = await tg.click(ALICE, ask_photo, tr.t("offers.wizard.skip", "fr"))
    since = tg.mark()
    await tg.click(ALICE, preview, tr.t("offers.wizard.publish", "fr"), count=3)
    (carol,) = await tg.wait_for("sendMessage", chat_id=CAROL.id, since=since)
    assert (
        carol.text.startswith("⭐") and "Fournil <Bio>" in carol.text and "Brioches" in carol.text
    )
    (dave,) = await tg.wait_for("sendMessage", chat_id=DAVE.id, since=since)
    assert dave.text.startswith("⭐")
    (bob,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert bob.text.startswith("🥕")
    await tg.wait_idle()
    async with app.sessionmaker() as session:
        offer = (await session.scalars(select(Offer))).one()
        assert offer.maker_id == maker_id
        # Decided again (a retry, a restart): the outbox keys stop a second message.
        again = await offers.alert_notices(session, offer)
        assert sorted(n.chat_id for n in again) == [BOB.id, CAROL.id, DAVE.id]
        assert await offer_notices.enqueue(session, tr, again, clock.now(), app.settings) == 0
        await session.commit()
    for person in (CAROL, DAVE, BOB):
        assert len([c for c in tg.calls if c.chat_id == person.id and "Brioches" in c.text]) == 1
    assert all(
        "Brioches" not in c.text for c in tg.calls if c.chat_id == ALICE.id and "⭐" in c.text
    )

    # 23:00 in Paris the next day: quiet hours. Nothing now; the alert comes at 08:00.
    clock.advance(timedelta(hours=37))
    since = tg.mark()
    async with app.sessionmaker() as session:
        baguettes = OfferDraft(
            title="Baguettes",
            description="Du jour",
            category="bakery",
            quantity=5,
            pickup_end=clock.now() + timedelta(hours=12),
            maker_id=maker_id,
        )
        _, notices = await offers.publish(session, ALICE.id, baguettes, clock.now())
        assert await offer_notices.enqueue(session, tr, notices, clock.now(), app.settings) == 3
        await session.commit()
    app.background.sender.wake()  # type: ignore[union-attr]
    await tg.wait_idle()
    assert all("Baguettes" not in c.text for c in tg.calls[since:])
    clock.advance(timedelta(hours=9, minutes=1))
    app.background.sender.wake()  # type: ignore[union-attr]
    (carol,) = await tg.wait_for("sendMessage", chat_id=CAROL.id, since=since)
    assert carol.text.startswith("⭐") and "Baguettes" in carol.text


async def test_a_forgotten_confirmation_is_not_a_no_show(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    """The window ended before Alice pressed "picked up": Bob's no-show is shown for what
    it is in /myoffers, and her late confirmation takes it back and logs his saved food."""
    offer_id = await post_directly(app, clock, ALICE, pickup_end=clock.now() + timedelta(hours=1))
    _, card = await tg.reply_to(BOB, f"/start offer_{offer_id}", count=2)
    await tg.click(BOB, card, tr.t("offers.button.reserve", "en"), count=2)
    clock.advance(timedelta(hours=2))
    since = tg.mark()
    await jobs.sweep_offers()
    await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    (mine,) = await tg.reply_to(ALICE, "/myoffers")
    # 12:00 in Paris: the window closed at 11:00, and the card does not say it is open.
    assert text("offers.window.over", "fr", end="aujourd'hui 11:00") in mine.text
    no_show = tr.t("offers.reservation.status.no_show", "fr")
    assert text("offers.mine.reservation", "fr", number=1, name="Bob", status=no_show) in mine.text
    assert tr.t("offers.button.cancel_number", "fr", number=1) not in labels(mine)
    since = tg.mark()
    await tg.click(ALICE, mine, tr.t("offers.button.confirm", "fr", number=1), count=1)
    (thanks,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert thanks.text == text("offers.notice.picked_up", "en", title="Yaourts")
    async with app.sessionmaker() as session:
        assert (await offers.record_of(session, BOB.id)) == offers.Record(1, 0)
        logs = (await session.scalars(select(ActionLog))).all()
    assert [(log.user_id, log.action_slug) for log in logs] == [(BOB.id, "saved_food")]
