"""`greenhood console`: the whole bot process against the Bot API stand-in, driven from a
scripted terminal."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramNotFound
from aiogram.filters import Command
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from PIL import Image
from rich.console import Console

from bot.app.console import FILES_DIR, ConsoleView, Feed, run_console, to_rich_text
from bot.app.console.lines import Meta, Place, Press, Say, duration, parse_line, photo_argument
from bot.app.console.people import person_id
from bot.app.wiring import prepare_database
from bot.core.clock import OffsetClock
from bot.core.settings import PROJECT_ROOT, Settings
from bot.core.telegram_html import parse as parse_html
from bot.services.catalogue import default_catalogue
from bot.services.demo.actions import DEMO_USER_BASE
from bot.standin import BotApiStandIn, TgUser
from bot.ui.i18n import Translator, create_translator
from bot.ui.keyboards import MAIN_MENU_KEYS
from models import MakerCategory

Step = str | None | Callable[[str], str] | Callable[[str], Awaitable[str]]
_BOX = re.compile(r"[│╭╮╰╯─┃]")


def flat(text: str) -> str:
    """Rendered output without panel borders and line wrapping."""
    return " ".join(_BOX.sub(" ", text).split())


def plain(markup: str) -> str:
    """What a localized HTML string looks like once drawn."""
    return flat(parse_html(markup)[0])


def number_of(output: str, label: str) -> str:
    """The number shown last for the button labelled `label`."""
    numbers = re.findall(r"\[(\d+)\] " + re.escape(label), output)
    assert numbers, f"no button {label!r} on screen"
    return str(numbers[-1])


def press(label: str) -> Callable[[str], str]:
    return lambda screen: number_of(screen, label)


class Script:
    """A read_line that types `steps`; a step may compute its line from the screen."""

    def __init__(self, output: Console, steps: Sequence[Step]) -> None:
        self.output = output
        self.steps = list(steps)
        self.prompts: list[str] = []
        self.typed: list[str] = []

    def screen(self) -> str:
        return flat(self.output.export_text(clear=False))

    async def __call__(self, prompt: str) -> str | None:
        self.prompts.append(prompt)
        if not self.steps:
            return None
        step = self.steps.pop(0)
        line = step(self.screen()) if callable(step) else step
        if not isinstance(line, str | None):
            line = await line
        if line is not None:
            self.typed.append(line)
        return line


def console_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/c.db",
        "bot_token": None,
        # Scripted lines arrive faster than any person types.
        "throttle_burst": 100,
    }
    return Settings(_env_file=None, **(values | overrides))


@pytest.fixture
def translator(tmp_path: Path) -> Translator:
    settings = console_settings(tmp_path)
    return create_translator(settings.locales_dir, settings.default_language)


@pytest.fixture(autouse=True)
def _user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "alice")


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new console database with the demo data, as a first start makes it, made once per
    test session (the demo takes seconds to load) and copied for each test."""
    folder = tmp_path_factory.mktemp("console-demo")

    async def make() -> None:
        engine = await prepare_database(console_settings(folder))
        await engine.dispose()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, make()).result()
    return folder / "c.db"


@pytest.fixture(autouse=True)
def _seeded(tmp_path: Path, demo_database: Path) -> None:
    shutil.copyfile(demo_database, tmp_path / "c.db")


async def chat(
    tmp_path: Path,
    steps: Sequence[Step],
    language: str | None = None,
    *,
    extra_routers: Sequence[Router] = (),
    standin: BotApiStandIn | None = None,
    **settings: Any,
) -> tuple[str, Script]:
    output = Console(record=True, width=100, file=io.StringIO())
    script = Script(output, steps)
    await run_console(
        console_settings(tmp_path, **settings),
        language=language,
        read_line=script,
        output=output,
        extra_routers=extra_routers,
        standin=standin,
    )
    return flat(output.export_text()), script


# -- the whole console


async def test_banner_explains_the_console_then_quit_ends(
    tmp_path: Path, translator: Translator
) -> None:
    screen, script = await chat(tmp_path, [":quit", "/start"])
    assert plain(translator.t("console.banner.text", "fr")) in screen
    assert "@44.84,-0.58" in screen
    assert ":help" in screen
    assert translator.t("console.goodbye", "fr") in screen
    # Nothing is read after :quit.
    assert script.typed == [":quit"]
    assert script.prompts == [translator.t("console.prompt", "fr")]
    assert "Bonjour" not in screen


async def test_end_of_input_ends_cleanly(tmp_path: Path, translator: Translator) -> None:
    screen, script = await chat(tmp_path, [])
    assert len(script.prompts) == 1
    assert translator.t("console.goodbye", "fr") in screen


async def test_start_shows_the_greeting_and_the_numbered_main_menu(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, ["/start", ":quit"])
    assert "Bonjour Alice 🌱" in screen
    keys = [key for row in MAIN_MENU_KEYS for key in row]
    for number, key in enumerate(keys, start=1):
        assert f"[{number}] {translator.t(key, 'fr')}" in screen


async def test_numbered_buttons_open_settings_and_switch_to_english(
    tmp_path: Path, translator: Translator
) -> None:
    fr = "fr"
    screen, script = await chat(
        tmp_path,
        [
            "/start",
            press(translator.t("menu.settings", fr)),
            press(translator.t("settings.button.language", fr)),
            press(translator.t("language.name.en", fr)),
            "/settings",
            ":quit",
        ],
    )
    language_fr = translator.t("language.name.fr", fr)
    assert plain(translator.t("settings.text", fr, language=language_fr)) in screen
    # The language picker replaced the settings message: drawn again, marked edited.
    assert plain(translator.t("language.choose", fr)) in screen
    assert f"Greenhood ({translator.t('console.edited', fr)})" in screen
    # The inline buttons come after the six keyboard buttons.
    assert script.typed[1:4] == ["6", "7", "8"]
    # From then on the bot speaks English, and so does the console.
    assert translator.t("language.changed", "en") in screen
    english = translator.t("language.name.en", "en")
    after_switch = screen.split(translator.t("language.changed", "en"), 1)[1]
    assert plain(translator.t("settings.text", "en", language=english)) in after_switch
    assert f"[6] {translator.t('menu.settings', 'en')}" in after_switch
    assert script.prompts[-1] == translator.t("console.prompt", "en")


def _place_noted_prefix(translator: Translator) -> str:
    """What the bot says of a place sent out of the blue, up to the place itself."""
    return plain(translator.t("fallback.place_noted", "fr", place="")).split(":")[0]


async def test_coordinates_reach_the_bot_as_a_location(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, ["@44.84,-0.58", ":quit"])
    assert "44.84, -0.58" in screen
    # A location nobody asked for becomes the person's place for the menu's lists.
    place = translator.t("makers.list.here", "fr")
    assert plain(translator.t("fallback.place_noted", "fr", place=place)) in screen


async def test_a_town_is_geocoded_and_sent_as_a_location(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, ["@Bordeaux", ":quit"])
    assert "Bordeaux (FR) : 44.83802, -0.57964" in screen
    place = translator.t("makers.list.here", "fr")
    assert plain(translator.t("fallback.place_noted", "fr", place=place)) in screen


async def test_an_unknown_place_is_reported_and_nothing_is_sent(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, ["@nowhere-xyz", ":quit"])
    assert plain(translator.t("console.place_not_found", "fr", query="nowhere-xyz")) in screen
    assert _place_noted_prefix(translator) not in screen


@pytest.mark.parametrize("line", ["@999,0", "@0,181", "@44.84", "@-91;2"])
async def test_impossible_coordinates_are_refused(
    tmp_path: Path, translator: Translator, line: str
) -> None:
    screen, _ = await chat(tmp_path, [line, ":quit"])
    assert plain(translator.t("console.invalid_coordinates", "fr")) in screen
    assert _place_noted_prefix(translator) not in screen


async def test_a_number_without_a_button_gets_a_hint(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, ["42", "\\42", ":quit"], language="en")
    assert plain(translator.t("console.no_such_button", "en", number=42)) in screen
    # With a backslash, "42" goes to the bot as text.
    assert plain(translator.t("fallback.not_understood", "en")) in screen


async def test_english_console_and_help(tmp_path: Path, translator: Translator) -> None:
    screen, script = await chat(tmp_path, ["/start", ":help", ":nope", ":quit"], language="en")
    assert plain(translator.t("console.banner.text", "en")) in screen
    assert "Hello Alice 🌱" in screen
    assert plain(translator.t("console.help.text", "en", folder=f"{FILES_DIR}/")) in screen
    # :help tells who is typing (the id `greenhood organisers add` needs).
    assert plain(translator.t("console.you", "en", name="Alice", id=1)) in screen
    # :help lists the command menu the bot registered at start-up.
    assert f"/start {translator.t('commands.start', 'en')}" in screen
    assert plain(translator.t("console.unknown_meta", "en", command=":nope")) in screen
    assert script.prompts[0] == translator.t("console.prompt", "en")


async def test_a_second_session_goes_on_with_the_same_database(
    tmp_path: Path, translator: Translator
) -> None:
    await chat(tmp_path, ["/start", ":quit"], language="en")
    # The inbox remembers the first session's updates: the new ones must not collide.
    screen, _ = await chat(tmp_path, ["/start", ":quit"], language="en")
    assert "Hello Alice 🌱" in screen


def where_router() -> Router:
    router = Router()

    @router.message(Command("where"))
    async def where(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="📍 Share", request_location=True)]]
        )
        await message.answer("Where are you?", reply_markup=keyboard)

    @router.message(F.location)
    async def located(message: Message) -> None:
        assert message.location is not None
        await message.answer(f"got {message.location.latitude},{message.location.longitude}")

    return router


async def test_share_location_button_explains_and_locations_arrive(
    tmp_path: Path, translator: Translator
) -> None:
    async with BotApiStandIn() as server:
        screen, _ = await chat(
            tmp_path,
            ["/where", "1", "@Bordeaux", "@ 45,5 ; 1,25", ":quit"],
            "en",
            extra_routers=[where_router()],
            standin=server,
        )
    assert "[1] 📍 Share" in screen
    assert plain(translator.t("console.location_button", "en")) in screen
    # What a handler sees of a shared point: rounded (bot/services/geo/privacy.py).
    assert "got 44.838,-0.58" in screen
    # French decimal commas are understood too.
    assert "got 45.5,1.25" in screen
    # The person's three messages and the bot's three answers share the chat's message ids.
    person = [m for m in server.state.messages[1].values() if m["from"]["id"] == 1]
    bot = server.messages_in(1)
    assert len(person) == 3 and len(bot) == 3
    assert not {m["message_id"] for m in person} & {m["message_id"] for m in bot}
    updates = [call for call in server.calls if call.method == "getUpdates" and call.result]
    update_ids = [u["update_id"] for call in updates for u in call.result]
    assert update_ids == sorted(set(update_ids)) and len(update_ids) == 3


# -- what the stand-in records, drawn


@pytest.fixture
async def server() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as running:
        yield running


@pytest.fixture
def view(translator: Translator, server: BotApiStandIn) -> ConsoleView:
    output = Console(record=True, width=100, file=io.StringIO())
    return ConsoleView(output, translator, "en", file_content=server.file_content)


@pytest.fixture
def feed(server: BotApiStandIn, view: ConsoleView) -> Feed:
    return Feed(server, view)


@pytest.fixture
async def bot(server: BotApiStandIn) -> AsyncIterator[Bot]:
    """A bare aiogram bot (the app's session tolerates stale-UI errors: these tests look at
    what Telegram answers)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    bot = Bot(server.token, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield bot
    await bot.session.close()


def screen_of(view: ConsoleView, feed: Feed) -> str:
    feed.pump()
    return flat(view.output.export_text(clear=False))


async def test_messages_get_increasing_ids_and_render_html_safely(
    bot: Bot, view: ConsoleView, feed: Feed
) -> None:
    first = await bot.send_message(1, "<b>bold</b> &lt;b&gt; [red]not markup[/red]")
    second = await bot.send_message(
        1,
        'see <a href="https://example.org/x">the site</a>, '
        "<tg-spoiler>secret</tg-spoiler>, <code>x</code>",
    )
    assert second.message_id > first.message_id
    assert first.text == "bold <b> [red]not markup[/red]"
    assert first.entities is not None and first.entities[0].type == "bold"
    assert first.from_user is not None and first.from_user.is_bot
    screen = screen_of(view, feed)
    assert "bold <b> [red]not markup[/red]" in screen
    assert "the site (https://example.org/x)" in screen


async def test_html_telegram_refuses_is_refused(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, "hello <unknown>there</unknown>")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, "<b>never closed")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1, "  ")
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot.send_message(1, "x" * 4097)


async def test_edits_rerender_and_unchanged_edits_fail_like_telegram(
    bot: Bot, view: ConsoleView, feed: Feed
) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Yes", callback_data="y")],
            [InlineKeyboardButton(text="Docs", url="https://example.org/docs")],
        ]
    )
    sent = await bot.send_message(1, "Question?", reply_markup=keyboard)
    assert "[1] Yes" in screen_of(view, feed)
    assert "Docs (https://example.org/docs)" in screen_of(view, feed)
    assert view.buttons()[1].callback_data == "y"
    edited = await bot.edit_message_text("Answered", chat_id=1, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "Answered" and edited.reply_markup is None
    assert "Greenhood (edited) Answered" in screen_of(view, feed)
    assert view.buttons() == {}  # the edit took the keyboard away
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text("Answered", chat_id=1, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="not found"):
        await bot.edit_message_text("x", chat_id=1, message_id=999)
    assert await bot.delete_message(1, sent.message_id)
    assert "The bot deleted a message." in screen_of(view, feed)
    with pytest.raises(TelegramBadRequest, match="not found"):
        await bot.delete_message(1, sent.message_id)


async def test_callback_answers_show_as_toasts_and_alerts(
    bot: Bot, server: BotApiStandIn, view: ConsoleView, feed: Feed
) -> None:
    person = TgUser(1, "Alice")
    await bot.send_message(1, "Pick", reply_markup=_one_button("c"))
    first, second = server.push_callback(person, "c"), server.push_callback(person, "c")
    assert await bot.answer_callback_query(first, text="Saved")
    assert await bot.answer_callback_query(second, text="Careful!", show_alert=True)
    screen = screen_of(view, feed)
    assert "🔔 Saved" in screen
    assert "⚠ Alert Careful!" in screen
    # A query is answered once, as in Telegram.
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(first, text="again")


async def test_venues_and_locations_link_to_openstreetmap(
    bot: Bot, view: ConsoleView, feed: Feed
) -> None:
    await bot.send_venue(1, 44.83802, -0.57964, "Atelier <Bois>", "1 rue X, Bordeaux")
    await bot.send_location(1, 45.0, 1.5)
    screen = screen_of(view, feed)
    assert "Atelier <Bois>" in screen
    assert "1 rue X, Bordeaux" in screen
    assert "https://www.openstreetmap.org/?mlat=44.83802&mlon=-0.57964#map=16/" in screen
    assert "📍 45.00000, 1.50000" in screen


async def test_photos_and_documents_are_saved_to_console_files(
    tmp_path: Path, bot: Bot, view: ConsoleView, feed: Feed
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(image, format="PNG")
    photo = await bot.send_photo(
        1, BufferedInputFile(image.getvalue(), "../qr code.png"), caption="<b>Scan me</b>"
    )
    assert photo.photo is not None
    assert (photo.photo[-1].width, photo.photo[-1].height) == (40, 30)
    source = tmp_path / "export.csv"
    source.write_text("a,b\n1,2\n")
    document = await bot.send_document(1, FSInputFile(source))
    assert document.document is not None
    screen = screen_of(view, feed)
    saved = FILES_DIR / f"{photo.photo[-1].file_id}.png"
    assert saved.read_bytes() == image.getvalue()
    assert saved.resolve().parent == (tmp_path / FILES_DIR).resolve()
    kept = FILES_DIR / f"{document.document.file_id}-export.csv"
    assert kept.read_text() == "a,b\n1,2\n"
    assert f"Photo saved to {saved}" in screen
    assert "Scan me" in screen
    assert f"Document saved to {kept}" in screen
    # Sent again by file_id, the same picture is shown.
    again = await bot.send_photo(1, photo.photo[-1].file_id)
    assert again.photo is not None
    screen_of(view, feed)
    assert (FILES_DIR / f"{again.photo[-1].file_id}.png").read_bytes() == image.getvalue()


async def test_bot_plumbing_methods(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == bot.id
    member = await bot.get_chat_member(1, 1)
    assert member.status == "member" and member.user.id == 1
    assert await bot.delete_webhook()
    assert await bot.send_chat_action(1, "typing")
    sent = await bot.send_message(1, "pin me")
    assert await bot.pin_chat_message(1, sent.message_id)
    assert await bot.set_my_commands([BotCommand(command="start", description="Go")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    assert (await bot.get_chat(1)).id == 1
    # A method the stand-in does not imitate is refused clearly.
    with pytest.raises(TelegramNotFound, match="method not found"):
        await bot.set_chat_title(-100, "x")


def _one_button(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Confirm", callback_data=data)]]
    )


async def test_messages_to_other_chats_wait_there(bot: Bot, view: ConsoleView, feed: Feed) -> None:
    await bot.send_message(42, "Someone reserved your offer", reply_markup=_one_button("c"))
    screen = screen_of(view, feed)
    assert "Someone reserved your offer" not in screen
    assert view.buttons() == {}  # not the person's to press
    assert view.take_new_waiting() == [42]
    view.switch(42)
    screen = screen_of(view, feed)
    assert "Someone reserved your offer" in screen
    assert "[1] Confirm" in screen
    assert view.buttons()[1].callback_data == "c"


# -- text conversion and typed lines


def test_rich_text_styles_quotes_and_pre() -> None:
    text, spans = parse_html(
        '<blockquote>one\ntwo</blockquote><pre><code class="language-py">x = 1</code></pre>'
    )
    assert [s.kind for s in spans] == ["blockquote", "pre"]
    assert spans[1].language == "py"
    rendered = to_rich_text(text, spans)
    assert rendered.plain == "▎ one\n▎ twox = 1"
    assert any("italic" in str(span.style) for span in rendered.spans)


def test_typed_lines() -> None:
    assert parse_line("  ") is None
    assert parse_line("3") == Press(3)
    assert parse_line("\\3") == Say("3")
    assert parse_line("@ Bordeaux ") == Place("Bordeaux")
    assert parse_line(":AS Léa Martin") == Meta("as", ":as", "Léa Martin")
    assert parse_line(":groupe Campus") == Meta("group", ":groupe", "Campus")
    assert parse_line(":what") == Meta("", ":what", "")
    assert duration("+1d") == timedelta(days=1)
    assert duration("1d12h") == timedelta(days=1, hours=12)
    assert duration("+30m") == timedelta(minutes=30)
    assert duration("+2w") == timedelta(weeks=2)
    assert duration("-1d") is None and duration("+0m") is None and duration("+400d") is None
    assert photo_argument('"my pic.png" Hello there') == ("my pic.png", "Hello there")
    assert photo_argument("pic.png") == ("pic.png", "")
    # Ids derived from names are the same in every session, whatever the case.
    assert person_id("Sam") == person_id("sam") == 861023320


def test_offset_clock_only_moves_forward() -> None:
    clock = OffsetClock()
    before = clock.now()
    clock.advance(timedelta(days=1))
    assert clock.now() - before >= timedelta(days=1)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))


async def test_makers_near_a_typed_town_in_the_console(
    tmp_path: Path, translator: Translator
) -> None:
    # A new console database gets the demo makers; "@Nancy" answers the location prompt.
    screen, _ = await chat(tmp_path, ["/makers", "@Nancy", ":quit"], language="en")
    assert plain(translator.t("location.prompt", "en")) in screen
    here = translator.t("makers.list.here", "en")
    assert plain(translator.t("makers.list.header", "en", place=here)) in screen
    assert "Nancy" in screen
    assert plain(translator.t("makers.list.more", "en")) in screen


# -- several people, groups, photos, time


POSTER = "Épicerie solidaire"  # the demo shop that posted the demo offers


async def test_reserving_an_offer_notifies_the_poster_who_reads_it_as_themselves(
    tmp_path: Path, translator: Translator
) -> None:
    reserve = translator.t("offers.button.reserve", "en")
    screen, script = await chat(
        tmp_path,
        ["/offers", "@Bordeaux", press(reserve), f":as {POSTER}", ":quit"],
        language="en",
    )
    notice = "🙋 Alice a réservé «"
    waiting = plain(translator.t("console.waiting", "en", names=POSTER))
    before, after = screen.split(waiting, 1)
    # The notice was sent by the outbox sender to the poster's chat, not drawn in Alice's…
    assert notice not in before
    # …and is there when one becomes the poster (who speaks French).
    assert notice in after
    assert plain(translator.t("console.as", "en", name=POSTER, id=4_100_000_000_000_000)) in after
    assert script.prompts[-1] == translator.t("console.prompt_as", "en", name=POSTER)


async def test_people_have_stable_ids_and_their_own_chats(
    tmp_path: Path, translator: Translator
) -> None:
    sam = person_id("Sam")
    screen, script = await chat(
        tmp_path,
        [":as Sam", "/start", ":help", ":as alice", ":buttons", ":as sam", ":quit"],
        language="en",
    )
    assert plain(translator.t("console.as_new", "en", name="Sam", id=sam)) in screen
    assert "Hello Sam 🌱" in screen
    assert plain(translator.t("console.you", "en", name="Sam", id=sam)) in screen
    # Back to Alice (id 1, whatever the case typed), who never said /start: no keyboard.
    assert plain(translator.t("console.as", "en", name="Alice", id=1)) in screen
    assert plain(translator.t("console.buttons.none", "en")) in screen
    # Sam again: the same person, not a new one.
    assert plain(translator.t("console.as", "en", name="Sam", id=sam)) in screen
    assert script.prompts[1:] == [
        translator.t("console.prompt_as", "en", name="Sam"),
        translator.t("console.prompt_as", "en", name="Sam"),
        translator.t("console.prompt_as", "en", name="Sam"),
        translator.t("console.prompt", "en"),
        translator.t("console.prompt", "en"),
        translator.t("console.prompt_as", "en", name="Sam"),
    ]


async def test_a_demo_student_logs_an_action_in_her_team_group(
    tmp_path: Path, translator: Translator
) -> None:
    transport = translator.t("act.category.transport", "en")
    action = default_catalogue().by_slug("bike_trip")
    assert action is not None
    bike = action.title("en")
    screen, script = await chat(
        tmp_path,
        [
            ":as Léa",
            ":group Campus des Chartrons",
            "/act",
            press(transport),
            press(bike),
            ":private",
            ":quit",
        ],
        language="en",
    )
    assert plain(translator.t("console.as", "en", name="Léa", id=DEMO_USER_BASE + 1)) in screen
    group = "Campus des Chartrons (démo)"
    assert plain(translator.t("console.group", "en", group=group, name="Léa")) in screen
    assert plain(translator.t("act.choose_category_group", "en")) in screen
    assert f"✅ Léa: {bike}" in screen
    assert f"team {group}" in screen
    assert script.prompts[2] == translator.t("console.prompt_group", "en", name="Léa", group=group)
    assert plain(translator.t("console.private", "en", name="Léa")) in screen


async def test_a_new_group_becomes_a_campus_team_with_its_join_code(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, [":group IUT Test", "/team ANVERT", ":quit"], language="en")
    assert plain(translator.t("console.group_new", "en", group="IUT Test", name="Alice")) in screen
    # Alice created the group, so she is its owner and may register it.
    assert (
        plain(
            translator.t(
                "team.registered", "en", team="IUT Test", contest="Mets ton campus à l'an vert"
            )
        )
        in screen
    )


async def test_a_photo_reaches_the_bot(tmp_path: Path, translator: Translator) -> None:
    picture = tmp_path / "my picture.png"
    Image.new("RGB", (20, 10), "green").save(picture)
    async with BotApiStandIn() as server:
        screen, _ = await chat(
            tmp_path,
            [f':photo "{picture}" Look at this', ":photo nowhere.png", ":photo", ":quit"],
            language="en",
            standin=server,
        )
        [pushed] = [m for m in server.state.messages[1].values() if "photo" in m]
        assert pushed["caption"] == "Look at this"
        assert server.file_content(pushed["photo"][-1]["file_id"]) == picture.read_bytes()
    # No flow waits for a photo here: the bot's fallback answers it.
    assert plain(translator.t("fallback.not_understood", "en")) in screen
    assert "Cannot read nowhere.png" in screen
    assert plain(translator.t("console.photo_usage", "en")) in screen


def a_zone_at_midday() -> str:
    """A fixed-offset time zone where it is about midday now. The console runs on the real
    clock (the demo offers end hours after loading, by the real clock), and a reminder
    due in quiet hours (22:00-08:00 local) is held: this test would pass by day and fail
    in the evening in Paris."""
    hours = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # -12 .. 11
    if hours == 0:
        return "Etc/GMT"
    # The Etc zones' signs are POSIX's: Etc/GMT-3 is three hours ahead of UTC.
    return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"


async def test_time_jumps_run_what_became_due(tmp_path: Path, translator: Translator) -> None:
    reserve = translator.t("offers.button.reserve", "en")
    lasagnes = "Trois parts de lasagnes"  # a demo offer that ends two hours after loading

    def reserve_lasagnes(screen: str) -> str:
        # The lasagnes' Reserve button: the first one after their title.
        after = screen.rsplit(lasagnes, 1)[1]
        return number_of(after.split("[", 1)[0] + "[" + after.split("[", 1)[1], reserve)

    screen, _ = await chat(
        tmp_path,
        [
            "/offers",
            "@Bordeaux",
            reserve_lasagnes,
            ":time",
            ":time +90m",
            ":time +1h",
            ":time soon",
            ":quit",
        ],
        language="en",
        timezone=a_zone_at_midday(),
    )
    assert f"“{lasagnes}”" in screen or lasagnes in screen
    # An hour before the end, the reminder; at the end, the reservation released (a no-show).
    reminder = screen.index("⏰ One hour left to pick up")
    released = screen.index(plain(translator.t("offers.notice.released", "en", title=lasagnes)))
    assert screen.index("+1h30m") < reminder < released
    assert plain(translator.t("console.time_usage", "en")) in screen


# -- the README's console tour, run as written

README = PROJECT_ROOT / "README.md"


def tour_lines() -> list[str]:
    section = README.read_text().split("## Console tour", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def press_containing(word: str) -> Callable[[str], str]:
    def number(screen: str) -> str:
        numbers = re.findall(r"\[(\d+)\] [^\[]*?" + re.escape(word), screen)
        assert numbers, f"no button with {word!r} on screen"
        return str(numbers[-1])

    return number


def in_another_terminal(command: str, database_url: str) -> Callable[[str], Awaitable[str]]:
    """`$ .venv/bin/greenhood ARGS`: the CLI run aside on the console's database; the
    console then reads its next line."""

    async def run(screen: str) -> str:
        program, *args = command.split()
        assert program == ".venv/bin/greenhood", command
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.app.cli",
            *args,
            env={**os.environ, "DATABASE_URL": database_url},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        assert process.returncode == 0, output.decode()
        return ""

    return run


async def test_the_readme_console_tour_runs_as_written(
    tmp_path: Path, translator: Translator
) -> None:
    # A first start, as a newcomer's: the console loads the demo data itself.
    database_url = f"sqlite+aiosqlite:///{tmp_path}/tour.db"
    steps: list[Step] = []
    for line in tour_lines():
        if line.startswith("$ "):
            steps.append(in_another_terminal(line[2:], database_url))
        elif line.startswith("[") and line.endswith("]"):
            steps.append(press_containing(line[1:-1]))
        else:
            steps.append(line)
    assert steps[-1] == ":quit"
    screen, script = await chat(tmp_path, steps, "en", database_url=database_url)
    assert script.typed[-1] == ":quit"
    # 1. The shop was told of the reservation, in its own chat.
    shop, rest = screen.split("You are now Épicerie solidaire", 1)
    assert "📨 New in other chats: Épicerie solidaire" in shop
    assert "a réservé «" in rest.split("You are now Léa", 1)[0]
    assert "Telegram id 4100000000000000" in rest
    # 2. Léa's log, answered in her team's group.
    assert "✅ Léa: Cycled or walked instead of driving" in screen
    assert "team Campus des Chartrons (démo)" in screen
    # 3. Sam (the id the README gives) broadcast, and Léa received it.
    assert "You are now Sam, a new person (Telegram id 861023320)" in screen
    sam, after = screen.split("You are now Sam", 1)[1].split("You are now Léa", 1)
    assert "Announcement #1" in sam or "#1" in sam
    assert "Grand nettoyage du campus samedi à 10 h !" in after


async def test_the_makers_map_in_the_console_and_another_category(
    tmp_path: Path, translator: Translator
) -> None:
    # The list comes under its map (a photo saved to console-files); a category button
    # (the 14th: after the menu keyboard's six, five makers, "more" and "all") redraws
    # both in place.
    screen, _ = await chat(tmp_path, ["/makers", "@Nancy", "14", ":quit"], language="en")
    maps = sorted((tmp_path / FILES_DIR).glob("*.png"))
    assert len(maps) == 2, screen
    assert all(Image.open(path).size == (960, 720) for path in maps)
    assert plain(translator.t("errors.apology", "en")) not in screen
    first = translator.t(f"makers.category.{next(iter(MakerCategory)).value}", "en")
    assert plain(translator.t("makers.list.filter_category", "en", category=first)) in screen
