"""Inline mode end to end through the test Bot API server: `@bot words` in any chat finds
cards near the person's place, a chosen card lands in the chat with a button whose deep
link opens it in the bot, a card's "share" button types its own query; answers are
cached a short while per (query, place, language) and floods are throttled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import challenges
from bot.services.users import TelegramProfile, upsert_user
from bot.standin import SEND_METHODS, BotApiStandIn, TgChat, TgUser
from handlers.sharing.inline import INLINE_BURST
from models import ChallengeScope, Maker, MakerStatus
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text, tr

from .test_makers import with_demo_makers

ALICE = TgUser(id=2201, first_name="Alice", language_code="fr")
BOB = TgUser(id=2202, first_name="Bob", language_code="en")
CAROL = TgUser(id=2203, first_name="Carol", language_code="en")
ORGANISER = TgUser(id=2299, first_name="Olga", language_code="fr")
FRIENDS = TgChat(-100_777, "supergroup", "Les voisins")
BORDEAUX = (44.8378, -0.5792)


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
    async with running_bot(settings, tg, clock=clock) as running:
        yield await with_demo_makers(running)


async def give_place(tg: BotApiStandIn, user: TgUser) -> None:
    """The person tells the bot where they are (/makers, then a location)."""
    await tg.reply_to(user, "/makers")
    since = tg.mark()
    tg.push_location(user, *BORDEAUX)
    await tg.wait_for(SEND_METHODS, chat_id=user.id, count=2, since=since)


async def a_challenge(app: RunningBot, clock: ManualClock) -> int:
    async with app.sessionmaker() as session:
        await upsert_user(session, TelegramProfile(ORGANISER.id, "Olga", None, "fr"), clock.now())
        challenge = await challenges.create_challenge(
            session,
            challenges.ChallengeDraft(
                title="Semaine du vrac",
                description="Des courses sans emballage",
                action_slugs=("bulk_shopping",),
                weekly_target=50,
                scope=ChallengeScope.EVERYONE,
                contest_id=None,
                team_id=None,
                pledge="Le marché installe une fontaine à vrac",
                last_day=date(2026, 2, 1),
            ),
            ORGANISER.id,
            app.settings.organiser_ids,
            clock.now(),
            app.settings.tz,
        )
        await session.commit()
        return challenge.id


def titles(answer: dict[str, Any]) -> list[str]:
    return [str(result["title"]) for result in answer["results"]]


def open_url(message: dict[str, Any]) -> str:
    [[button]] = message["reply_markup"]["inline_keyboard"]
    return str(button["url"])


async def test_words_find_nearby_makers_and_a_chosen_card_opens_in_the_bot(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    await give_place(tg, ALICE)
    answer = await tg.ask_inline(ALICE, "gants")
    assert answer["is_personal"] is True and answer["cache_time"] == 30
    assert "button" not in answer or answer["button"] is None  # the place is known
    assert titles(answer)[0] == "Ganterie Lacroix"
    first = answer["results"][0]
    assert first["id"].startswith("maker_")
    assert first["description"].endswith(" m")  # the distance from her place
    # Posted in a group "via" the bot: the card, and a button to open it in the bot.
    posted = tg.choose_inline_result(ALICE, answer["id"], first["id"], FRIENDS)
    assert posted["text"].startswith("Ganterie Lacroix")
    url = open_url(posted)
    assert url == f"https://t.me/{tg.bot_username}?start={first['id']}"
    # Bob, in the group, taps it: the bot shows him the maker's card.
    _, card, venue = await tg.follow_link(BOB, url, count=3)
    assert card.text.startswith("Ganterie Lacroix")
    assert venue.method == "sendVenue"


async def test_a_card_shares_itself_and_a_challenge_carries_its_join_link(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    challenge_id = await a_challenge(app, clock)
    await give_place(tg, ALICE)
    async with app.sessionmaker() as session:
        maker = await session.scalar(select(Maker).where(Maker.name == "Ganterie Lacroix"))
        assert maker is not None
    _, card, _venue = await tg.reply_to(ALICE, f"/start maker_{maker.id}", count=3)
    share = next(
        button
        for row in card.params["reply_markup"]["inline_keyboard"]
        for button in row
        if "switch_inline_query_chosen_chat" in button
    )
    assert share["text"] == tr.t("share.button", "fr")
    query = share["switch_inline_query_chosen_chat"]["query"]
    assert query == f"maker_{maker.id}"
    answer = await tg.ask_inline(ALICE, query)
    assert [result["id"] for result in answer["results"]] == [query]

    # A challenge found by its words; its card joins whoever follows the link.
    answer = await tg.ask_inline(BOB, "vrac")
    [found] = [r for r in answer["results"] if r["id"].startswith("join_")]
    assert found["id"] == f"join_{challenge_id}"
    posted = tg.choose_inline_result(BOB, answer["id"], found["id"], FRIENDS)
    assert "Semaine du vrac" in posted["text"] and "fontaine à vrac" in posted["text"]
    replies = await tg.follow_link(CAROL, open_url(posted), count=3)
    assert text("challenges.joined", "en") in [reply.text for reply in replies]


async def test_without_a_place_only_challenges_and_a_way_to_give_one(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await a_challenge(app, clock)
    answer = await tg.ask_inline(CAROL, "")
    assert titles(answer) == ["Semaine du vrac"]
    assert answer["button"]["text"] == tr.t("share.no_place", "en")
    assert answer["button"]["start_parameter"] == "place"
    # Telegram's own location, when the person lets the bot have it, is used at once.
    answer = await tg.ask_inline(CAROL, "gants", location=BORDEAUX)
    assert titles(answer)[0] == "Ganterie Lacroix"
    assert answer.get("button") is None


async def test_answers_are_cached_a_short_while(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await give_place(tg, ALICE)
    assert "Ganterie Lacroix" in titles(await tg.ask_inline(ALICE, "gants"))
    async with app.sessionmaker() as session:
        await session.execute(
            update(Maker)
            .where(Maker.name == "Ganterie Lacroix")
            .values(status=MakerStatus.REJECTED.value)
        )
        await session.commit()
    # The same query from the same place, in the same language: the kept answer.
    assert "Ganterie Lacroix" in titles(await tg.ask_inline(ALICE, "  Gants "))
    clock.advance(timedelta(seconds=61))
    assert "Ganterie Lacroix" not in titles(await tg.ask_inline(ALICE, "gants"))


async def test_a_flood_of_queries_is_throttled(tg: BotApiStandIn, app: RunningBot) -> None:
    since = tg.mark()
    for letters in range(1, INLINE_BURST + 6):
        tg.push_inline_query(BOB, "savon"[: 1 + letters % 5])
    await tg.wait_for("answerInlineQuery", count=INLINE_BURST, since=since)
    await tg.wait_idle()
    answered = [c for c in tg.calls[since:] if c.method == "answerInlineQuery"]
    assert len(answered) == INLINE_BURST
