"""Engaged neighbours end to end: consent, shares, bands, k-anonymity, hiding, live
locations, expiry, and a privacy scan of every stored value and every message sent."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import actions, neighbours
from bot.services.geo import geohash
from bot.standin import SEND_METHODS, BotApiStandIn, RecordedCall, TgUser
from bot.worker import jobs
from bot.worker.background import BackgroundTiming
from models import Base, NeighbourProfile
from models.database import has_writes
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text as plain
from tests.support.texts import tr

ANA = TgUser(id=2001, first_name="Ana", language_code="en")
BEN = TgUser(id=2002, first_name="Ben", language_code="en")
CLO = TgUser(id=2003, first_name="Clo", language_code="fr")
DAN = TgUser(id=2004, first_name="Dan", language_code="en")
EVE = TgUser(id=2005, first_name="Eve", language_code="en")

# Bordeaux, with decimals no cell centre has, so a leak would be recognisable.
HOME = (44.8379173, -0.5792319)
KM_LAT = 1 / 110.574


def north(km: float, origin: tuple[float, float] = HOME) -> tuple[float, float]:
    return origin[0] + km * KM_LAT, origin[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Long conversations are not floods: the throttle has its own tests.
    return make_settings(tmp_path, throttle_burst=1000)


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, tg, clock=clock) as running:
        yield running


def locale_of(user: TgUser) -> str:
    return "en" if user.language_code == "en" else "fr"


async def join(
    tg: BotApiStandIn,
    user: TgUser,
    where: tuple[float, float],
    name: str | None = None,
    *,
    live: bool = False,
) -> RecordedCall:
    """Consent, choose a name (or not), share a location; the view the bot answers."""
    locale = locale_of(user)
    (consent,) = await tg.reply_to(user, "/neighbours")
    assert consent.text == plain("neighbours.consent.text", locale)
    _, ask_name = await tg.click(user, consent, tr.t("neighbours.consent.accept", locale), count=2)
    if name is None:
        await tg.click(user, ask_name, tr.t("neighbours.name.anonymous", locale), count=2)
    else:
        await tg.reply_to(user, name, count=2)
    since = tg.mark()
    tg.push_location(user, *where, live_period=3600 if live else None)
    saved, view = await tg.wait_for(SEND_METHODS, chat_id=user.id, count=2, since=since)
    assert saved.text == plain("neighbours.location.saved", locale)
    return view


async def act(
    app: RunningBot, clock: ManualClock, *people: TgUser, slug: str = "veggie_meal"
) -> None:
    async with app.sessionmaker() as session:
        for person in people:
            await actions.log_action(
                session,
                user_id=person.id,
                slug=slug,
                chat_id=person.id,
                now=clock.now(),
                tz=app.settings.tz,
            )
        await session.commit()


def last_location_id(tg: BotApiStandIn, user: TgUser) -> int:
    """The id of the last location `user` sent in their private chat."""
    ids = (m["message_id"] for m in tg.messages_in(user.id))
    for message_id in range(max(ids) + 1, 0, -1):
        message = tg.message(user.id, message_id)
        if message and "location" in message and message["from"]["id"] == user.id:
            return message_id
    raise AssertionError(f"{user.id} shared no location")


async def view_of(tg: BotApiStandIn, user: TgUser) -> str:
    (reply,) = await tg.reply_to(user, "/neighbours")
    return reply.text


async def gather(tg: BotApiStandIn, app: RunningBot, clock: ManualClock) -> None:
    """Ana at home; Ben (named) next door, Clo 2 km away, Dan (named) 6 km away; all acted."""
    await join(tg, ANA, HOME)
    await join(tg, BEN, north(0.2), "Ben <the> & neighbour")
    await join(tg, CLO, north(2))
    await join(tg, DAN, north(6), "Dan")
    await act(app, clock, ANA, BEN, CLO, DAN)
    await act(app, clock, CLO, slug="bike_trip")


async def test_consent_share_and_bands(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    seen = await view_of(tg, ANA)
    assert plain("neighbours.view.count_too_few", "en", radius=1) in seen
    assert plain("neighbours.view.count_too_few", "en", radius=3) in seen
    assert plain("neighbours.view.count", "en", radius=10, count=3) in seen
    food = plain("act.category.food", "en")
    transport = plain("act.category.transport", "en")
    assert plain("neighbours.view.activity_item", "en", category=food, count=3) in seen
    assert plain("neighbours.view.activity_item", "en", category=transport, count=1) in seen
    # Named people only, each with a band; the anonymous one never appears by name.
    band = {b: plain(f"neighbours.band.{b.value}", "en") for b in neighbours.Band}
    assert f"Ben <the> & neighbour — {band[neighbours.Band.UNDER_1]}" in seen
    assert f"Dan — {band[neighbours.Band.KM_3_10]}" in seen
    assert "Clo" not in seen
    # Clo (French) sees the others too, with her own language.
    seen_by_clo = await view_of(tg, CLO)
    assert plain("neighbours.view.count", "fr", radius=10, count=3) in seen_by_clo


async def test_alone_sees_too_few(tg: BotApiStandIn, app: RunningBot, clock: ManualClock) -> None:
    await join(tg, ANA, HOME)
    await join(tg, BEN, north(0.5), "Ben")
    await act(app, clock, ANA, BEN)
    seen = await view_of(tg, ANA)
    assert plain("neighbours.view.too_few", "en", k=3) in seen
    assert "Ben" not in seen
    # Someone far away (over 10 km) does not count either.
    await join(tg, CLO, north(15))
    await act(app, clock, CLO)
    assert plain("neighbours.view.too_few", "en", k=3) in await view_of(tg, ANA)


async def test_people_without_recent_actions_are_not_counted(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    clock.advance(timedelta(days=31))
    # Positions refreshed, but nobody acted in the last 30 days but Ben.
    for person, where in ((ANA, HOME), (BEN, north(0.2)), (CLO, north(2)), (DAN, north(6))):
        await tg.reply_to(person, "/neighbours")
        since = tg.mark()
        tg.push_location(person, *where)
        await tg.wait_for(SEND_METHODS, chat_id=person.id, count=2, since=since)
    await act(app, clock, BEN)
    assert plain("neighbours.view.too_few", "en", k=3) in await view_of(tg, ANA)


async def test_hiding_removes_a_person_at_once(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    assert plain("neighbours.view.count", "en", radius=10, count=3) in await view_of(tg, ANA)
    # Dan hides from the panel under his own view.
    (dan_view,) = await tg.reply_to(DAN, "/neighbours")
    _, note = await tg.click(DAN, dan_view, tr.t("neighbours.button.hide", "en"), count=2)
    assert note.text == plain("neighbours.hidden", "en")
    # The same button again (a stale copy): no edit that changes nothing, just the note.
    since = tg.mark()
    tg.push_callback(DAN, "gn:h:0", int(dan_view.result["message_id"]))
    (again,) = await tg.wait_for(SEND_METHODS, chat_id=DAN.id, since=since)
    assert again.method == "sendMessage" and again.text == plain("neighbours.hidden", "en")
    seen = await view_of(tg, ANA)
    assert plain("neighbours.view.too_few", "en", k=3) in seen
    assert "Dan" not in seen
    # And back, from /settings this time.
    (settings_menu,) = await tg.reply_to(DAN, "/settings")
    (panel,) = await tg.click(DAN, settings_menu, tr.t("settings.button.neighbours", "en"))
    # The panel takes the settings screen's place, and keeps a way back after a switch.
    assert panel.method == "editMessageText"
    assert plain("neighbours.status.hidden", "en") in panel.text
    (switched, _) = await tg.click(DAN, panel, tr.t("neighbours.button.show", "en"), count=2)
    assert switched.method == "editMessageReplyMarkup"
    assert "Dan — " in await view_of(tg, ANA)
    (back,) = await tg.click(DAN, panel, tr.t("settings.button.back", "en"))
    assert back.method == "editMessageText"
    assert back.text == plain("settings.text", "en", language=tr.t("language.name.en", "en"))


async def test_live_location_moving_changes_the_band(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    await join(tg, EVE, north(0.3), "Eve", live=True)
    await act(app, clock, EVE)
    band = {b: plain(f"neighbours.band.{b.value}", "en") for b in neighbours.Band}
    assert f"Eve — {band[neighbours.Band.UNDER_1]}" in await view_of(tg, ANA)
    tg.push_edited_location(EVE, last_location_id(tg, EVE), *north(5.3))
    await tg.wait_idle()
    assert f"Eve — {band[neighbours.Band.KM_3_10]}" in await view_of(tg, ANA)
    # Live edits are silent: Eve was sent nothing for them.
    async with app.sessionmaker() as session:
        eve = await session.get(NeighbourProfile, EVE.id)
    assert eve is not None and eve.cell == geohash.encode(*north(5.3))


async def test_positions_expire_after_30_days(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    assert plain("neighbours.view.count", "en", radius=10, count=3) in await view_of(tg, ANA)
    clock.advance(timedelta(days=29))
    # Fresh actions: only the positions' age matters below.
    await act(app, clock, BEN, CLO, DAN)
    assert plain("neighbours.view.count", "en", radius=10, count=3) in await view_of(tg, ANA)
    async with app.sessionmaker() as session:
        # Nothing to forget yet: the look stays a read (no wait for SQLite's one writer).
        assert await neighbours.purge_expired_positions(session, clock.now()) == 0
        assert not await has_writes(session)
    clock.advance(timedelta(days=2))
    async with app.sessionmaker() as session:
        assert await neighbours.purge_expired_positions(session, clock.now()) == 4
        assert await has_writes(session)
        await session.commit()
        cells = (await session.scalars(select(NeighbourProfile.cell))).all()
    assert cells == [None, None, None, None]
    # Ana's own position expired too: she is asked again, then sees nobody.
    (ask,) = await tg.reply_to(ANA, "/neighbours")
    assert plain("neighbours.location.ask", "en") in ask.text
    since = tg.mark()
    tg.push_location(ANA, *HOME)
    _, seen = await tg.wait_for(SEND_METHODS, chat_id=ANA.id, count=2, since=since)
    assert plain("neighbours.view.too_few", "en", k=3) in seen.text


async def test_expired_positions_are_ignored_before_any_clean_up(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    clock.advance(timedelta(days=31))
    await act(app, clock, BEN, CLO, DAN)
    async with app.sessionmaker() as session:
        await neighbours.record_position(session, ANA.id, *HOME, clock.now())
        people = await neighbours._engaged_around(
            session, ANA.id, geohash.encode(*HOME), clock.now()
        )
    assert people == []


async def test_typed_town_and_bad_input(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    (consent,) = await tg.reply_to(ANA, "/neighbours")
    await tg.click(ANA, consent, tr.t("neighbours.consent.accept", "en"), count=2)
    (problem,) = await tg.reply_to(ANA, "x" * 40)
    assert problem.text == plain("neighbours.name.invalid", "en", limit=32)
    await tg.reply_to(ANA, "Ana", count=2)
    (problem,) = await tg.reply_to(ANA, "91, 200")
    assert problem.text == plain("location.invalid", "en", query="91, 200")
    _, view = await tg.reply_to(ANA, "Bordeaux", count=2)
    assert plain("neighbours.view.too_few", "en", k=3) in view.text
    # Updates commit once their handler has answered.
    await tg.wait_idle()
    async with app.sessionmaker() as session:
        ana = await session.get(NeighbourProfile, ANA.id)
    assert ana is not None and ana.display_name == "Ana" and ana.cell is not None
    assert len(ana.cell) == geohash.CELL_LENGTH


async def test_decline_stores_nothing_and_buttons_need_consent(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    (consent,) = await tg.reply_to(BEN, "/neighbours")
    (declined,) = await tg.click(BEN, consent, tr.t("neighbours.consent.decline", "en"))
    assert declined.text == plain("neighbours.consent.declined", "en")
    # Updates commit once their handler has answered.
    await tg.wait_idle()
    async with app.sessionmaker() as session:
        assert await session.get(NeighbourProfile, BEN.id) is None
    # A forged "hide me" without consent changes nothing and says why.
    since = tg.mark()
    query_id = tg.push_callback(BEN, "gn:h:0", int(consent.result["message_id"]))
    await tg.wait_for(
        "answerCallbackQuery",
        since=since,
        predicate=lambda c: str(c.params.get("callback_query_id")) == query_id,
    )
    answer = tg.callback_answer(query_id)
    assert answer is not None and answer.params.get("text") == tr.t("neighbours.no_consent", "en")
    # A live location from someone who never consented is ignored.
    tg.push_location(BEN, *HOME, live_period=600)
    await tg.wait_idle()
    async with app.sessionmaker() as session:
        assert await session.get(NeighbourProfile, BEN.id) is None


# ----------------------------------------------------------------------------- privacy

_DECIMAL = re.compile(r"\d+[.,]\d+")
_KM = re.compile(r"(\d+)\s*km\b")
_METRES = re.compile(r"\d+\s*m\b")


def _numbers_in(value: object) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float | Decimal):
        return [float(value)]
    if isinstance(value, str):
        return [float(n.replace(",", ".")) for n in _DECIMAL.findall(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers_in(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers_in(v)]
    return []


def _strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings_in(v)]
    return []


def assert_reveals_no_point(value: object, points: list[tuple[float, float]]) -> None:
    """Nothing finer than a ~1 km cell: no number near a shared coordinate (a cell is
    about 0.005° tall and 0.011° wide, so 0.001° is far finer), no geohash longer than 6
    of a shared point."""
    for number in _numbers_in(value):
        for lat, lon in points:
            assert not math.isclose(number, lat, abs_tol=1e-3), (value, lat)
            assert not math.isclose(number, lon, abs_tol=1e-3), (value, lon)
    for text in _strings_in(value):
        for lat, lon in points:
            assert geohash.encode(lat, lon, 7) not in text, (text, lat, lon)


async def test_privacy_nothing_stored_or_sent_is_finer_than_a_cell(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    await join(tg, EVE, north(0.3), "Eve", live=True)
    tg.push_edited_location(EVE, last_location_id(tg, EVE), *north(5.3))
    await tg.wait_idle()
    await act(app, clock, EVE)
    for person in (ANA, BEN, CLO, DAN, EVE):
        await view_of(tg, person)
    points = [HOME, north(0.2), north(2), north(6), north(0.3), north(5.3)]
    # Updates commit once their handler has answered.
    await tg.wait_idle()

    # Every table, every row, every column.
    async with app.sessionmaker() as session:
        scanned = 0
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for value in row:
                    assert_reveals_no_point(value, points)
                    scanned += 1
    assert scanned > 50
    # The conversation state keeps no place either.
    for person in (ANA, BEN, CLO, DAN, EVE):
        context = app.dispatcher.fsm.get_context(app.bot, chat_id=person.id, user_id=person.id)
        assert_reveals_no_point(await context.get_data(), points)

    # Every call the bot made: no coordinates, no map, no distance finer than a band.
    sent = [c for c in tg.calls if c.method != "getUpdates"]
    assert not [c for c in sent if c.method in ("sendLocation", "sendVenue")]
    for call in sent:
        assert_reveals_no_point(call.params, points)
        text = call.text
        assert not _DECIMAL.search(text), text
        assert not _METRES.search(text), text
        assert {int(n) for n in _KM.findall(text)} <= {1, 3, 10}, text


async def test_rename_from_the_panel_returns_to_the_view(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    (view,) = await tg.reply_to(CLO, "/neighbours")
    (ask,) = await tg.click(CLO, view, tr.t("neighbours.button.rename", "fr"))
    assert ask.text == plain("neighbours.name.ask", "fr")
    saved, again = await tg.reply_to(CLO, "Clo & co", count=2)
    assert saved.text == plain("neighbours.name.saved", "fr", name="Clo & co")
    assert plain("neighbours.status.name", "fr", name="Clo & co") in again.text
    assert "Clo & co — " in await view_of(tg, ANA)


async def test_the_scheduler_forgets_expired_positions(
    tg: BotApiStandIn, tmp_path: Path, clock: ManualClock
) -> None:
    settings = make_settings(tmp_path, throttle_burst=1000)
    timing = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=timing
    ) as app:
        assert app.background is not None
        assert app.background.scheduler.next_run_at(jobs.NEIGHBOURS_PURGE_JOB) is not None
        await gather(tg, app, clock)
        await tg.wait_idle()
        clock.advance(timedelta(days=30, seconds=1))
        # APScheduler (on the wall clock) would call exactly this.
        await jobs.purge_neighbour_positions()
        async with app.sessionmaker() as session:
            cells = (await session.scalars(select(NeighbourProfile.cell))).all()
        assert cells == [None, None, None, None]
