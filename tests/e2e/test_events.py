"""Events near me end to end (issue #15): the real bot, its worker and sender, the test Bot
API server. An organiser creates an event through the whole wizard and a resident finds
it near a typed postcode, answers and adds it to a calendar (.ics parsed back); a
resident's proposal waits in /moderation; fifty people race for the last place (SQLite
and PostgreSQL); the waiting list is promoted; reminders arrive at local times, never in
quiet hours nor twice across a restart; check-in logs the action once; a cancellation
tells everyone once; a team group hears of its campus event."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import contests, events
from bot.services.events import Answer, EventDraft
from bot.standin import (
    SEND_METHODS,
    BotApiStandIn,
    RecordedCall,
    TgChat,
    TgUser,
    buttons,
)
from bot.ui.callbacks.events import RsvpCb
from bot.ui.notices import events as event_notices
from bot.worker import jobs
from bot.worker.background import BackgroundTiming
from models import (
    ActionLog,
    Event,
    EventCheckin,
    EventRsvp,
    EventStatus,
    OutboxMessage,
    RsvpStatus,
    User,
)
from models.database import create_sessionmaker
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import counted, text, tr

PARIS = ZoneInfo("Europe/Paris")
ALICE = TgUser(id=4001, first_name="Alice", language_code="fr")
BOB = TgUser(id=4002, first_name="Bob", language_code="en")
CAROL = TgUser(id=4003, first_name="Carol", language_code="en")
ORGANISER = TgUser(id=4099, first_name="Olga", language_code="fr")
CAMPUS = TgChat(id=-1004242, type="supergroup", title="IUT Bordeaux")
BORDEAUX = (44.8378, -0.5792)
FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def labels(call: RecordedCall) -> list[str]:
    return [label for row in buttons(call) for label, _ in row]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        organiser_ids=frozenset({ORGANISER.id}),
        throttle_burst=1000,
        timezone="Europe/Paris",
    )


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        yield running


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


async def published(app: RunningBot, clock: ManualClock, **fields: object) -> tuple[int, int]:
    """An organiser's event made through the service: (its id, its check-in code)."""
    start = paris(10, 9)  # Saturday 09:00
    values: dict[str, object] = {
        "title": "Repair café",
        "description": "Apportez vos objets cassés",
        "category": "repair",
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "latitude": BORDEAUX[0],
        "longitude": BORDEAUX[1],
        "address": "Salle Saint-Michel",
        "capacity": 1,
        "action_slug": "repaired_item",
    }
    values.update(fields)
    async with app.sessionmaker() as session:
        now = clock.now()
        if await session.get(User, ORGANISER.id) is None:
            session.add(User(id=ORGANISER.id, first_name="Olga", created_at=now, last_seen_at=now))
            await session.flush()
        event, notices = await events.create_event(
            session,
            ORGANISER.id,
            EventDraft(**values),  # type: ignore[arg-type]
            now,
            app.settings.organiser_ids,
            "Europe/Paris",
        )
        from bot.ui.i18n import create_translator

        translator = create_translator(app.settings.locales_dir, "fr")
        await event_notices.enqueue(session, translator, notices, now, app.settings)
        await session.commit()
        return event.id, event.checkin_code


async def answer(tg: BotApiStandIn, user: TgUser, event_id: int, choice: Answer) -> str:
    text_, _ = await press(tg, user, RsvpCb(event_id=event_id, answer=choice).pack(), count=1)
    return text_


async def walk_wizard(
    tg: BotApiStandIn, user: TgUser, locale: str, title: str, *, organiser: bool
) -> RecordedCall:
    """/newevent from the title to the preview, with a refused answer on the way; the
    preview."""
    intro, ask_title = await tg.reply_to(user, "/newevent", count=2)
    key = "events.wizard.intro" if organiser else "events.wizard.intro_proposal"
    assert intro.text == text(key, locale)
    assert ask_title.text == text("events.wizard.ask.title", locale)
    (again,) = await tg.reply_to(user, "!!!")
    assert again.text.startswith(text("events.wizard.error.no_letters", locale))
    (ask_description,) = await tg.reply_to(user, title)
    assert ask_description.text == text("events.wizard.ask.description", locale)
    (ask_category,) = await tg.reply_to(user, "Bring what is broken & a smile")
    _, ask_start = await tg.click(
        user, ask_category, tr.t("events.category.repair", locale), count=2
    )
    assert ask_start.text == text("events.wizard.ask.start", locale)
    (again,) = await tg.reply_to(user, "demain")
    assert again.text.startswith(text("events.wizard.error.bad_time", locale))
    (ask_end,) = await tg.reply_to(user, "10/01 10:00")
    assert ask_end.text == text("events.wizard.ask.ends", locale)
    _, noted, ask_place = await tg.click(
        user, ask_end, tr.tn("events.wizard.duration", 3, locale, hours=3), count=3
    )
    assert noted.text.startswith(text("events.wizard.time_noted", locale, when="")[:8])
    assert ask_place.text.startswith(text("events.wizard.ask.location", locale))
    (again,) = await tg.reply_to(user, "Atlantis-sur-Mer")
    assert text("location.not_found", locale, query="Atlantis-sur-Mer") in again.text
    _, ask_capacity = await tg.reply_to(user, "33000", count=2)
    assert ask_capacity.text == text("events.wizard.ask.capacity", locale, max=10000)
    (again,) = await tg.reply_to(user, "0")
    assert again.text.startswith(text("events.wizard.error.bad_capacity", locale, max=10000))
    (ask_action,) = await tg.reply_to(user, "2")
    assert ask_action.text == text("events.wizard.ask.action", locale)
    (edited,) = await tg.click(user, ask_action, tr.t("act.category.consumption", locale))
    assert edited.method == "editMessageReplyMarkup"
    repaired = "Objet réparé" if locale == "fr" else "Repaired instead"
    _, ask_next = await tg.click(user, ask_action, repaired, count=2)
    if organiser:
        assert ask_next.text == text("events.wizard.ask.scope", locale)
        _, ask_next = await tg.click(
            user, ask_next, tr.t("events.wizard.scope.everyone", locale), count=2
        )
    assert ask_next.text == text("events.wizard.ask.recurrence", locale)
    _, ask_photo = await tg.click(
        user, ask_next, tr.t("events.wizard.recurrence.none", locale), count=2
    )
    assert ask_photo.text == text("events.wizard.ask.photo", locale)
    _, preview = await tg.click(user, ask_photo, tr.t("events.wizard.skip", locale), count=2)
    assert preview.text.startswith(text("events.wizard.preview", locale))
    return preview


async def _wizard_to_place(tg: BotApiStandIn, user: TgUser, locale: str) -> None:
    await tg.reply_to(user, "/newevent", count=2)
    await tg.reply_to(user, "Repair café")
    (ask_category,) = await tg.reply_to(user, "Bring what is broken")
    await tg.click(user, ask_category, tr.t("events.category.repair", locale), count=2)
    (ask_end,) = await tg.reply_to(user, "10/01 10:00")
    await tg.click(user, ask_end, tr.tn("events.wizard.duration", 3, locale, hours=3), count=3)


async def test_a_street_the_geocoder_cannot_place_asks_for_the_pin_of_the_entrance(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    await _wizard_to_place(tg, BOB, "en")
    # The town is found, not the street: the bot asks for the pin rather than put the
    # street's name over the town's centre.
    (ask_pin,) = await tg.reply_to(BOB, "12 rue Sainte-Catherine, Bordeaux")
    assert ask_pin.text == text(
        "events.wizard.ask.pin", "en", address="12 rue Sainte-Catherine", town="Bordeaux"
    )
    since = tg.mark()
    tg.push_location(BOB, 44.8412, -0.5738)
    noted, ask_capacity = await tg.wait_for(SEND_METHODS, chat_id=BOB.id, count=2, since=since)
    assert noted.text == text(
        "events.wizard.location_noted", "en", place="12 rue Sainte-Catherine, Bordeaux"
    )
    assert ask_capacity.text == text("events.wizard.ask.capacity", "en", max=10000)
    # Declined, the event says the town only.
    await _wizard_to_place(tg, ALICE, "fr")
    await tg.reply_to(ALICE, "3 cours Victor Hugo, Bordeaux")
    noted, _ = await tg.reply_to(ALICE, tr.t("events.wizard.button.town_only", "fr"), count=2)
    assert noted.text == text("events.wizard.location_noted", "fr", place="Bordeaux")


async def test_an_organiser_creates_and_a_resident_finds_it_near_a_typed_postcode(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    preview = await walk_wizard(tg, ORGANISER, "fr", "Repair café <du> quartier", organiser=True)
    assert "Repair café <du> quartier" in preview.text
    assert "Compte comme : Objet réparé au lieu de racheté" in preview.text
    _, published_, card, venue = await tg.click(
        ORGANISER, preview, tr.t("events.wizard.publish", "fr"), count=4
    )
    async with app.sessionmaker() as session:
        event = (await session.scalars(select(Event))).one()
    assert published_.text == text("events.wizard.published", "fr", id=event.id)
    assert event.status == EventStatus.PUBLISHED.value and event.capacity == 2
    assert event.starts_at == paris(10, 10) and event.ends_at == paris(10, 13)
    assert event.action_slug == "repaired_item" and event.timezone == "Europe/Paris"
    assert "sam. 10 janv., 10:00–13:00" in card.text
    assert "👥 0 participant · 2 places restantes" in card.text
    assert venue.method == "sendVenue"

    # --- Bob (English, on a desktop) types a postcode
    (prompt,) = await tg.reply_to(BOB, "/events")
    assert prompt.text.startswith(text("events.ask_location", "en"))
    _, listing = await tg.reply_to(BOB, "33000", count=2)
    assert listing.text.startswith(text("events.list.header.all", "en", place="Bordeaux"))
    assert "1. Repair café <du> quartier" in listing.text
    assert "Sat 10 Jan, 10:00–13:00" in listing.text
    card, venue = await tg.click(BOB, listing, "1. Repair café", count=2)
    assert venue.method == "sendVenue"
    (edited,) = await tg.click(BOB, card, tr.t("events.button.going", "en"))
    assert edited.method == "editMessageText"
    assert text("events.card.you.going", "en") in edited.text
    assert "👥 1 going · 1 place left" in edited.text
    # Filters: this weekend holds it; paging: nothing more.
    (weekend,) = await tg.click(BOB, listing, tr.t("events.list.window.weekend", "en"))
    assert weekend.text.startswith(text("events.list.header.weekend", "en", place="Bordeaux"))
    assert "Repair café <du> quartier" in weekend.text

    # --- "Add to my calendar": a real .ics, parsed back
    (document,) = await tg.click(BOB, edited, tr.t("events.button.ics", "en"))
    assert document.method == "sendDocument"
    calendar = icalendar.Calendar.from_ical(document.files["document"])
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["summary"]) == "Repair café <du> quartier"
    assert entry.decoded("dtstart") == paris(10, 10)
    assert entry.decoded("dtend") == paris(10, 13)
    assert str(entry["url"]) == f"https://t.me/{tg.bot_username}?start=event_{event.id}"

    # --- the QR poster holds the deep link, which opens the card
    (poster,) = await tg.click(BOB, edited, tr.t("events.button.qr", "en"))
    image = Image.open(io.BytesIO(poster.files["photo"]))
    decoded = [barcode.text for barcode in zxingcpp.read_barcodes(image)]
    assert decoded == [f"https://t.me/{tg.bot_username}?start=event_{event.id}"]
    _, card, _ = await tg.reply_to(CAROL, f"/start event_{event.id}", count=3)
    assert card.text.startswith("Repair café <du> quartier")


async def test_a_residents_proposal_waits_in_moderation(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    preview = await walk_wizard(tg, ALICE, "fr", "Troc de graines", organiser=False)
    _, submitted = await tg.click(ALICE, preview, tr.t("events.wizard.submit", "fr"), count=2)
    async with app.sessionmaker() as session:
        event = (await session.scalars(select(Event))).one()
    assert submitted.text == text("events.wizard.submitted", "fr", id=event.id)
    assert event.status == EventStatus.PENDING.value
    # Nobody else sees it, nor finds it.
    _, missing = await tg.reply_to(BOB, f"/start event_{event.id}", count=2)
    assert missing.text == text("events.not_found", "en")
    (refused,) = await tg.reply_to(BOB, "/moderation")
    assert refused.text == text("moderation.refused", "en")
    header, item = await tg.reply_to(ORGANISER, "/moderation", count=2)
    assert header.text == text("events.moderation.header", "fr", count=1)
    assert "Troc de graines" in item.text
    since = tg.mark()
    await tg.click(ORGANISER, item, tr.t("events.moderation.approve", "fr"), count=2)
    (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    assert told.text.startswith("✅ Votre événement Troc de graines")
    async with app.sessionmaker() as session:
        approved = await session.get(Event, event.id)
        assert approved is not None and approved.status == EventStatus.PUBLISHED.value
    (empty,) = await tg.reply_to(ORGANISER, "/moderation")
    assert empty.text == text("moderation.empty", "fr")


async def _fifty_way_race(tg: BotApiStandIn, app: RunningBot, clock: ManualClock) -> None:
    event_id, _ = await published(app, clock, capacity=1)
    people = [TgUser(id=5000 + n, first_name=f"P{n}", language_code="en") for n in range(50)]
    data = RsvpCb(event_id=event_id, answer=Answer.GOING).pack()
    since = tg.mark()
    for person in people:
        tg.push_callback(person, data)
    await app.settled()
    async with app.sessionmaker() as session:
        statuses = dict(
            (
                await session.execute(
                    select(EventRsvp.status, func.count()).group_by(EventRsvp.status)
                )
            ).all()
        )
        event = await session.get(Event, event_id)
    assert statuses == {RsvpStatus.GOING.value: 1, RsvpStatus.WAITING.value: 49}
    assert event is not None and event.seats_taken == 1
    # The organiser hears once that it is full.
    (full,) = await tg.wait_for("sendMessage", chat_id=ORGANISER.id, since=since)
    assert full.text.startswith("🎉 Repair café est complet")
    await tg.wait_idle()
    assert len([c for c in tg.calls[since:] if c.chat_id == ORGANISER.id]) == 1


async def test_fifty_people_race_for_the_last_place(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await _fifty_way_race(tg, app, clock)


async def test_fifty_people_race_for_the_last_place_on_postgres(
    tg: BotApiStandIn, tmp_path: Path, postgres_url: str, clock: ManualClock
) -> None:
    settings = make_settings(
        tmp_path,
        database_url=postgres_url,
        organiser_ids=frozenset({ORGANISER.id}),
        throttle_burst=1000,
    )
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        await _fifty_way_race(tg, running, clock)


async def test_waiting_list_promotion_and_reminders_at_local_times(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> None:
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as app:
        event_id, _ = await published(app, clock, capacity=1)
        await tg.reply_to(ALICE, "/start")
        await tg.reply_to(BOB, "/start")
        assert await answer(tg, ALICE, event_id, Answer.GOING) == text(
            "events.answer.going", "fr", title="Repair café"
        )
        waiting = await answer(tg, BOB, event_id, Answer.GOING)
        assert waiting == text("events.answer.waiting", "en", title="Repair café", position=1)
        since = tg.mark()
        await answer(tg, ALICE, event_id, Answer.NOT_GOING)
        (promoted,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
        assert promoted.text.startswith("🎟 A place freed up: you're going to Repair café")
        assert tr.t("events.button.cannot_come", "en") in labels(promoted)

        # The day before at 18:00 (Paris): not a minute early, then once.
        clock.set(paris(9, 17, 59))
        since = tg.mark()
        await jobs.sweep_events()
        clock.set(paris(9, 18))
        await jobs.sweep_events()
        await jobs.sweep_events()
        (reminder,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
        assert reminder.text.startswith("⏰ Tomorrow: Repair café, Sat 10 Jan, 9:00")
        assert tr.t("events.button.cannot_come", "en") in labels(reminder)
        await tg.wait_idle()
        assert len([c for c in tg.calls[since:] if c.chat_id == BOB.id]) == 1

    # A restart (a new process on the same database) sends nothing again.
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as app:
        since = tg.mark()
        await jobs.sweep_events()
        # Two hours before is 07:00, inside quiet hours (22:00-08:00): held until 08:00.
        clock.set(paris(10, 7))
        await jobs.sweep_events()
        await tg.wait_idle()
        assert [c for c in tg.calls[since:] if c.chat_id == BOB.id] == []
        # (This process did not see the first one's updates: read without settling them.)
        async with create_sessionmaker(app.engine)() as session:
            held = (
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "event.reminder_soon")
                )
            ).one()
        assert held.not_before == paris(10, 8)
        clock.set(paris(10, 8))
        (soon,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since, timeout=10)
        assert soon.text.startswith("⏰ In two hours: Repair café")
        # "I can't come anymore", from the reminder itself.
        await tg.click(BOB, soon, tr.t("events.button.cannot_come", "en"), count=1)
        await tg.wait_idle()
        async with create_sessionmaker(app.engine)() as session:
            event = await session.get(Event, event_id)
            assert event is not None and event.seats_taken == 0


async def test_check_in_logs_the_action_once(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    event_id, code = await published(app, clock, capacity=None)
    await tg.reply_to(ALICE, "/start")
    await answer(tg, ALICE, event_id, Answer.MAYBE)
    # The organiser prints the check-in QR code from the event's tools.
    (mine, tools) = await tg.reply_to(ORGANISER, "/myevents", count=2)
    assert mine.text == text("events.mine.organised", "fr")
    (photo,) = await tg.click(ORGANISER, tools, tr.t("events.manage.button.checkin_qr", "fr"))
    image = Image.open(io.BytesIO(photo.files["photo"]))
    (link,) = [barcode.text for barcode in zxingcpp.read_barcodes(image)]
    assert link == f"https://t.me/{tg.bot_username}?start=checkin_{code}"
    payload = link.split("start=")[1]
    (early,) = await tg.reply_to(BOB, f"/start {payload}")
    assert early.text == text("events.checkin.too_early", "en")
    clock.set(paris(10, 9, 30))
    (logged,) = await tg.reply_to(BOB, f"/start {payload}")
    assert logged.text == text(
        "events.checkin.logged",
        "en",
        title="Repair café",
        action="Repaired instead of replaced",
    )
    (again,) = await tg.reply_to(BOB, f"/start {payload}")
    assert again.text == text("events.checkin.already", "en")
    # The organiser's button: people who answered get "I'm here".
    since = tg.mark()
    await tg.click(ORGANISER, tools, tr.t("events.manage.button.open_checkin", "fr"), count=1)
    (invite,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    (done,) = await tg.click(ALICE, invite, tr.t("events.button.here", "fr"))
    assert done.text.startswith("📍 Présence enregistrée à Repair café")
    answer_text, _ = await press(tg, ALICE, buttons(invite)[0][0][1] or "", count=0)
    assert answer_text == tr.t("events.checkin.already", "fr")
    async with app.sessionmaker() as session:
        logs = (await session.execute(select(ActionLog.user_id, ActionLog.action_slug))).all()
        checkins = await session.scalar(select(func.count()).select_from(EventCheckin))
    assert sorted(logs) == [(ALICE.id, "repaired_item"), (BOB.id, "repaired_item")]
    assert checkins == 2
    # Attendance: a count, and names only of people who agreed to be named.
    (seen,) = await tg.click(ORGANISER, tools, tr.t("events.manage.button.attendance", "fr"))
    assert "Présences enregistrées : 2 personnes" in seen.text
    assert "Alice" not in seen.text and "Bob" not in seen.text
    (export,) = await tg.click(ORGANISER, tools, tr.t("events.manage.button.export", "fr"))
    assert export.method == "sendDocument"
    assert export.files["document"].decode().count("anonyme") == 2


async def test_a_cancellation_tells_everyone_once(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    event_id, _ = await published(app, clock, capacity=1)
    for person in (ALICE, BOB, CAROL):
        await tg.reply_to(person, "/start")
    before_full = tg.mark()
    await answer(tg, ALICE, event_id, Answer.GOING)
    # Alice took the one place: the organiser hears it is full (through the outbox, so
    # possibly later than Alice's answer; waited for here, or it could arrive among the
    # cancellation's calls below).
    await tg.wait_for(
        "sendMessage",
        chat_id=ORGANISER.id,
        since=before_full,
        predicate=lambda call: call.text.startswith("🎉 Repair café est complet"),
    )
    await answer(tg, BOB, event_id, Answer.GOING)  # waiting list
    await answer(tg, CAROL, event_id, Answer.NOT_GOING)
    (_, tools) = await tg.reply_to(ORGANISER, "/myevents", count=2)
    (ask,) = await tg.click(ORGANISER, tools, tr.t("events.manage.button.cancel", "fr"))
    since = tg.mark()
    calls = await tg.click(ORGANISER, ask, tr.t("events.manage.confirm_cancel", "fr"), count=2)
    # The question loses its buttons and the answer comes (in either order on PostgreSQL).
    (done,) = [call for call in calls if call.method == "sendMessage"]
    assert done.text == text(
        "events.manage.cancelled", "fr", title="Repair café", count=counted("count.people", 2)
    )
    (alice,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    (bob,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert alice.text.startswith("🚫 Repair café (sam. 10 janv., 9:00–12:00) est annulé")
    assert bob.text.startswith("🚫 Repair café (Sat 10 Jan")
    # A second tap on the confirmation changes nothing and tells nobody again.
    answer_text, _ = await press(tg, ORGANISER, buttons(ask)[0][0][1] or "")
    assert answer_text == tr.t("events.manage.closed", "fr")
    late, _ = await press(tg, CAROL, RsvpCb(event_id=event_id, answer=Answer.GOING).pack())
    assert late == tr.t("events.answer.closed", "en")
    await tg.wait_idle()
    told = [
        c
        for c in tg.calls[since:]
        if c.method == "sendMessage" and c.chat_id in (ALICE.id, BOB.id, CAROL.id)
    ]
    assert len(told) == 2


async def test_a_campus_event_is_announced_in_its_team_group(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    async with app.sessionmaker() as session:
        now = clock.now()
        session.add(User(id=ORGANISER.id, first_name="Olga", created_at=now, last_seen_at=now))
        await session.flush()
        contest = await contests.create_contest(
            session, "Mets ton campus à l'an vert", ORGANISER.id, app.settings.organiser_ids, now
        )
        await contests.register_team(
            session, contest.join_code, CAMPUS.id, CAMPUS.title, ORGANISER.id, now
        )
        await session.commit()
        contest_id = contest.id
    since = tg.mark()
    event_id, _ = await published(app, clock, contest_id=contest_id, title="Atelier vélo")
    (announced,) = await tg.wait_for("sendMessage", chat_id=CAMPUS.id, since=since)
    assert announced.text.startswith("📣 Nouvel événement pour votre équipe\nAtelier vélo")
    (listing,) = await tg.reply_to(ALICE, "/events", chat=CAMPUS)
    assert listing.text.startswith(text("events.group.header", "fr"))
    assert "1. Atelier vélo" in listing.text
    # In the group, the button opens the card in the person's private chat.
    since = tg.mark()
    query_id = tg.push_callback(ALICE, buttons(listing)[0][0][1] or "", chat=CAMPUS)
    (opened,) = await tg.wait_for(
        "answerCallbackQuery",
        since=since,
        predicate=lambda c: str(c.params.get("callback_query_id")) == query_id,
    )
    assert opened.params.get("url") == f"https://t.me/{tg.bot_username}?start=event_{event_id}"
    # A group that is no team is told what /events is for.
    other = TgChat(id=-1001, type="supergroup", title="Elsewhere")
    (not_team,) = await tg.reply_to(ALICE, "/events", chat=other)
    assert not_team.text == text("events.group.not_team", "fr")


async def test_a_new_time_tells_those_going_once_and_moves_their_reminders(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    event_id, _ = await published(app, clock, capacity=5)
    await tg.reply_to(ALICE, "/start")
    await answer(tg, ALICE, event_id, Answer.GOING)
    (_, tools) = await tg.reply_to(ORGANISER, "/myevents", count=2)
    (ask,) = await tg.click(ORGANISER, tools, tr.t("events.manage.button.edit_time", "fr"))
    assert ask.text.startswith("🕒 Actuellement : sam. 10 janv., 9:00–12:00.")
    (refused,) = await tg.reply_to(ORGANISER, "hier")
    assert refused.text == text("events.wizard.error.bad_time", "fr")
    since = tg.mark()
    done, card = await tg.reply_to(ORGANISER, "17/01 14:00", count=2)
    assert done.text == text(
        "events.manage.changed", "fr", title="Repair café", count=counted("count.people", 1)
    )
    assert "sam. 17 janv., 14:00–17:00" in card.text
    (told,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    assert told.text == "✏️ Repair café a changé : sam. 17 janv., 14:00–17:00, Salle Saint-Michel."
    await tg.wait_idle()
    assert len([c for c in tg.calls[since:] if c.chat_id == ALICE.id]) == 1
    # The old day before passes quietly; the new one reminds her.
    clock.set(paris(9, 18))
    await jobs.sweep_events()
    clock.set(paris(16, 18))
    await jobs.sweep_events()
    _, reminder = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since, count=2)
    assert reminder.text.startswith("⏰ Demain : Repair café, sam. 17 janv., 14:00–17:00")


async def test_forget_gives_the_place_to_the_waiting_list(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    event_id, _ = await published(app, clock, capacity=1)
    for person in (ALICE, BOB):
        await tg.reply_to(person, "/start")
    await answer(tg, ALICE, event_id, Answer.GOING)
    await answer(tg, BOB, event_id, Answer.GOING)  # waiting list
    (confirm,) = await tg.reply_to(ALICE, "/forget")
    since = tg.mark()
    await tg.click(ALICE, confirm, tr.t("forget.button.confirm", "fr"))
    (promoted,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert promoted.text.startswith("🎟 A place freed up: you're going to Repair café")
    async with app.sessionmaker() as session:
        going = (await session.scalars(select(EventRsvp.user_id))).all()
    assert list(going) == [BOB.id]
