"""End to end over real HTTP: the real bot polls the test Bot API server and we talk to it
as people would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.standin import BotApiStandIn, TgChat, TgUser, buttons, reply_keyboard
from models import User
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import counted, text, tr

ALICE = TgUser(id=1001, first_name="Alice", language_code="fr")
BOB = TgUser(id=1002, first_name="Bob", language_code="en-GB")
ORGANISER = TgUser(id=1009, first_name="Orla", language_code="fr")
GROUP = TgChat(id=-100555, title="Campus")
NO_LANG = TgUser(id=1003, first_name="Zed", language_code=None)


async def boom(message: Message) -> None:
    raise RuntimeError("a handler failed")


async def boom_after_answering(query: CallbackQuery) -> None:
    await query.answer()
    raise RuntimeError("a handler failed after answering the press")


def boom_router() -> Router:
    router = Router(name="test-boom")
    router.message.register(boom, Command("boom"))
    router.callback_query.register(boom_after_answering, F.data == "boom")
    return router


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, tg, clock=clock, extra_routers=[boom_router()]) as running:
        yield running


async def test_start_in_french_shows_greeting_and_main_menu(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    (reply,) = await tg.reply_to(ALICE, "/start")
    assert reply.text == text("start.greeting", "fr", name="Alice")
    keyboard = [label for row in reply_keyboard(reply) for label, _ in row]
    assert keyboard == [
        tr.t(key, "fr")
        for key in (
            "menu.makers",
            "menu.offers",
            "menu.act",
            "menu.challenges",
            "menu.neighbours",
            "menu.settings",
        )
    ]


async def test_start_in_english_and_unknown_language_falls_back_to_french(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    (reply,) = await tg.reply_to(BOB, "/start")
    assert reply.text == text("start.greeting", "en", name="Bob")
    (reply,) = await tg.reply_to(NO_LANG, "/start")
    assert reply.text == text("start.greeting", "fr", name="Zed")


async def test_user_row_is_upserted(tg: BotApiStandIn, app: RunningBot) -> None:
    await tg.reply_to(BOB, "/start")
    async with app.sessionmaker() as session:
        user = await session.get(User, BOB.id)
    assert user is not None
    assert user.first_name == "Bob"
    assert user.telegram_language == "en-GB"
    assert user.language is None


async def test_name_is_escaped_in_the_greeting(tg: BotApiStandIn, app: RunningBot) -> None:
    mallory = TgUser(id=1066, first_name="<b>M&M</b>", language_code="en")
    (reply,) = await tg.reply_to(mallory, "/start")
    # The server rejects broken HTML like Telegram does, so a reply at all proves escaping.
    assert "<b>M&M</b>" in reply.text


@pytest.mark.parametrize(
    ("payload", "expected_key", "params"),
    [
        # Challenges, teams and makers have landed: a link to one that does not exist says so.
        ("join_12", "challenges.gone", {}),
        ("team_7", "team.gone", {}),
        ("maker_3", "makers.card.not_found", {}),
        ("offer_99", "offers.not_found", {}),
        ("offer_abc", "deeplink.invalid", {}),
        ("<script>", "deeplink.invalid", {}),
    ],
)
async def test_deep_links_are_parsed(
    tg: BotApiStandIn,
    app: RunningBot,
    payload: str,
    expected_key: str,
    params: dict[str, object],
) -> None:
    greeting, answer = await tg.reply_to(BOB, f"/start {payload}", count=2)
    assert greeting.text == text("start.greeting", "en", name="Bob")
    if "subject" in params:
        params = {**params, "subject": tr.t(f"deeplink.subject.{params['subject']}", "en")}
    assert answer.text == text(expected_key, "en", **params)


async def test_language_switch_persists_and_overrides_telegram(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    (picker,) = await tg.reply_to(ALICE, "/language")
    assert picker.text == text("language.choose", "fr")
    labels = [label for row in buttons(picker) for label, _ in row]
    assert labels == ["✓ Français", "English"]
    calls = await tg.click(ALICE, picker, "English", count=2)
    edited, menu = [c for c in calls if c.method != "answerCallbackQuery"]
    assert edited.method == "editMessageText"
    assert edited.text == text("language.changed", "en")
    assert next(label for row in reply_keyboard(menu) for label, _ in row) == tr.t(
        "menu.makers", "en"
    )
    # Telegram still says French, the person's choice wins from now on.
    (reply,) = await tg.reply_to(ALICE, "/help")
    assert reply.text.startswith(text("help.title", "en"))
    async with app.sessionmaker() as session:
        language = await session.scalar(select(User.language).where(User.id == ALICE.id))
    assert language == "en"


async def test_menu_button_works_in_both_languages(tg: BotApiStandIn, app: RunningBot) -> None:
    (reply,) = await tg.reply_to(ALICE, tr.t("menu.settings", "fr"))
    assert reply.text == text("settings.text", "fr", language="Français")
    # A keyboard left over from the other language still works.
    (reply,) = await tg.reply_to(ALICE, tr.t("menu.settings", "en"))
    assert reply.text == text("settings.text", "fr", language="Français")
    calls = await tg.click(ALICE, reply, tr.t("settings.button.language", "fr"))
    assert calls[-1].method == "editMessageText"
    assert calls[-1].text == text("language.choose", "fr")
    # The picker opened from /settings leads back there.
    (back,) = await tg.click(ALICE, calls[-1], tr.t("settings.button.back", "fr"))
    assert back.method == "editMessageText"
    assert back.text == text("settings.text", "fr", language="Français")


async def test_cancel_with_and_without_state(tg: BotApiStandIn, app: RunningBot) -> None:
    (reply,) = await tg.reply_to(ALICE, "/cancel")
    assert reply.text == text("cancel.nothing", "fr")
    from aiogram.fsm.context import FSMContext
    from aiogram.fsm.storage.base import StorageKey

    key = StorageKey(bot_id=app.bot.id, chat_id=ALICE.id, user_id=ALICE.id)
    context = FSMContext(storage=app.dispatcher.storage, key=key)
    await context.set_state("SomeWizard:step")
    (reply,) = await tg.reply_to(ALICE, "/cancel")
    assert reply.text == text("cancel.done", "fr")
    assert await context.get_state() is None


async def test_me_starts_at_zero(tg: BotApiStandIn, app: RunningBot) -> None:
    (reply,) = await tg.reply_to(BOB, "/me")
    figures = text(
        "me.text",
        "en",
        week=counted("count.eco_actions", 0, "en"),
        week_co2="0",
        streak=counted("count.weeks", 0, "en"),
        total_actions=counted("count.eco_actions", 0, "en"),
        co2="0",
    )
    assert reply.text == figures + "\n\n" + text("me.anonymous", "en")


async def test_help_lists_what_this_person_can_do_here(
    tg: BotApiStandIn, tmp_path: Path, clock: ManualClock
) -> None:
    """/help is complete and role-aware: a resident sees every private command by section,
    an organiser the organisers' section too, a group its own commands."""
    settings = make_settings(tmp_path, organiser_ids=frozenset({ORGANISER.id}))
    async with running_bot(settings, tg, clock=clock):
        (resident,) = await tg.reply_to(BOB, "/help")
        (organiser,) = await tg.reply_to(ORGANISER, "/help")
        (group,) = await tg.reply_to(BOB, "/help", chat=GROUP)
    for command in ("/act", "/makers", "/offers", "/events", "/neighbours", "/forget", "/maker"):
        assert command in resident.text, command
    assert text("help.section.organisers", "en") not in resident.text
    assert "/broadcast" not in resident.text and "/stats" not in resident.text
    assert text("help.section.organisers", "fr") in organiser.text
    assert "/broadcast" in organiser.text and "/export" in organiser.text
    assert "/team" in group.text and "/act" in group.text and "/makers" not in group.text


async def test_error_handler_apologises_and_bot_keeps_serving(
    tg: BotApiStandIn, app: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    (apology,) = await tg.reply_to(BOB, "/boom")
    assert apology.text == text("errors.apology", "en")
    assert "a handler failed" not in apology.text
    assert any("a handler failed" in str(r.exc_info) for r in caplog.records if r.exc_info)
    (reply,) = await tg.reply_to(BOB, "/help")
    assert reply.text.startswith(text("help.title", "en"))


async def test_a_press_answered_before_the_failure_gets_the_apology_in_the_chat(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    await tg.reply_to(BOB, "/help")
    since = tg.mark()
    tg.push_callback(BOB, "boom")
    (apology,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert apology.text == text("errors.apology", "en")
    answers = [c for c in tg.calls[since:] if c.method == "answerCallbackQuery"]
    assert [c.ok for c in answers] == [True, False]  # the handler's, then the refused one


async def test_throttling_warns_once_then_recovers(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    burst = app.settings.throttle_burst
    since = tg.mark()
    for _ in range(burst + 5):
        tg.push_text(ALICE, "/help")
    replies = await tg.wait_for("sendMessage", chat_id=ALICE.id, count=burst + 1, since=since)
    await tg.wait_idle()
    sent = [c for c in tg.calls[since:] if c.method == "sendMessage" and c.chat_id == ALICE.id]
    assert len(sent) == burst + 1
    assert [c.text for c in replies].count(text("throttle.slow_down", "fr")) == 1
    # Someone else is served meanwhile.
    (reply,) = await tg.reply_to(BOB, "/help")
    assert reply.text.startswith(text("help.title", "en"))
    clock.advance(timedelta(seconds=10))
    (reply,) = await tg.reply_to(ALICE, "/help")
    assert reply.text.startswith(text("help.title", "fr"))


@pytest.mark.parametrize(
    "message",
    [
        "x" * 4096,
        "🌱🔥👩🏽‍🌾🇫🇷" * 100,
        "שלום עולם مرحبا بالعالم",
        "\u202eevil\u202c <b>&amp;",
        "/definitely_not_a_command with args",
        "/start " + "a" * 300,
        "   ",
    ],
    ids=["4096", "emoji", "rtl", "controls", "unknown-command", "long-payload", "blank"],
)
async def test_bad_input_gets_a_localized_answer(
    tg: BotApiStandIn, app: RunningBot, message: str
) -> None:
    calls = await tg.reply_to(BOB, message)
    answers = {
        text(key, "en")
        for key in ("fallback.unknown_command", "fallback.not_understood", "deeplink.invalid")
    }
    greeting = text("start.greeting", "en", name="Bob")
    assert calls[0].text in answers | {greeting}
    await tg.wait_idle()
    assert all(c.status == 200 for c in tg.calls), "the bot sent something Telegram rejects"
    assert not any("Traceback" in (c.text or "") for c in tg.calls)


async def test_message_without_text_is_answered(tg: BotApiStandIn, app: RunningBot) -> None:
    since = tg.mark()
    tg.push_message(
        BOB,
        {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "s1u",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
    )
    (reply,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert reply.text == text("fallback.not_understood", "en")


@pytest.mark.parametrize("data", ["lg:de", "lg:", "st:explode", "zz:1", "x" * 64, "lg:fr:extra"])
async def test_forged_callbacks_change_nothing(
    tg: BotApiStandIn, app: RunningBot, data: str
) -> None:
    (menu,) = await tg.reply_to(BOB, "/settings")
    message_id = menu.result["message_id"]
    since = tg.mark()
    query_id = tg.push_callback(BOB, data, message_id=message_id)
    await tg.wait_for("answerCallbackQuery", since=since)
    await tg.wait_idle()
    answer = tg.callback_answer(query_id)
    assert answer is not None
    assert answer.params.get("text") in {
        text("fallback.stale_button", "en"),
        text("errors.apology", "en"),
    }
    assert answer.params.get("text") == text("fallback.stale_button", "en")
    async with app.sessionmaker() as session:
        user = await session.get(User, BOB.id)
    assert user is not None
    assert user.language is None


async def test_commands_registered_per_language_and_scope(
    tg: BotApiStandIn, tmp_path: Path, clock: ManualClock
) -> None:
    settings = make_settings(tmp_path, organiser_ids=frozenset({4242}))
    async with running_bot(settings, tg, clock=clock):
        calls = [c for c in tg.calls if c.method == "setMyCommands"]
    scopes = {
        (c.params.get("scope", {}).get("type", "default"), c.params.get("language_code"))
        for c in calls
    }
    for language in (None, "fr", "en"):
        assert ("all_private_chats", language) in scopes
        assert ("all_group_chats", language) in scopes
        assert ("chat", language) in scopes
    french = next(
        c
        for c in calls
        if c.params.get("language_code") == "fr"
        and c.params["scope"]["type"] == "all_private_chats"
    )
    names = [command["command"] for command in french.params["commands"]]
    assert {"start", "help", "settings", "language", "cancel", "me"} <= set(names)
    descriptions = {
        command["command"]: command["description"] for command in french.params["commands"]
    }
    assert descriptions["help"] == tr.t("commands.help", "fr")


async def test_same_conversation_on_postgres_and_redis(
    tg: BotApiStandIn,
    tmp_path: Path,
    clock: ManualClock,
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    from aiogram.fsm.storage.redis import RedisStorage

    settings = make_settings(
        tmp_path, database_url=postgres_url, redis_url=redis_url, redis_prefix=redis_prefix
    )
    async with running_bot(settings, tg, clock=clock) as running:
        assert isinstance(running.dispatcher.storage, RedisStorage)
        (reply,) = await tg.reply_to(BOB, "/start")
        assert reply.text == text("start.greeting", "en", name="Bob")
        (picker,) = await tg.reply_to(BOB, "/language")
        await tg.click(BOB, picker, "Français", count=2)
        (reply,) = await tg.reply_to(BOB, "/cancel")
        assert reply.text == text("cancel.nothing", "fr")
        async with running.sessionmaker() as session:
            user = await session.get(User, BOB.id)
        assert user is not None
        assert user.language == "fr"
