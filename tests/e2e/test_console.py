"""`greenhood console`: the real dispatcher driven from a scripted terminal."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    TelegramObject,
    Update,
)
from PIL import Image
from rich.console import Console

from bot.app.console import (
    FILES_DIR,
    ConsoleSession,
    ConsoleUnsupportedMethodError,
    ConsoleView,
    _Conversation,
    entities_from_spans,
    run_console,
    spans_from_entities,
    to_rich_text,
)
from bot.app.wiring import create_bot
from bot.core.settings import Settings
from bot.core.telegram_html import parse as parse_html
from bot.ui.i18n import Translator, create_translator
from bot.ui.keyboards import MAIN_MENU_KEYS
from models import MakerCategory
from models.database import create_engine, create_sessionmaker, upgrade

Step = str | None | Callable[[str], str]
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
        if line is not None:
            self.typed.append(line)
        return line


def console_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db",
        bot_token=None,
        # Scripted lines arrive faster than any person types.
        throttle_burst=100,
    )


@pytest.fixture
def translator(tmp_path: Path) -> Translator:
    settings = console_settings(tmp_path)
    return create_translator(settings.locales_dir, settings.default_language)


@pytest.fixture(autouse=True)
def _user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "alice")


async def chat(
    tmp_path: Path, steps: Sequence[Step], language: str | None = None
) -> tuple[str, Script]:
    output = Console(record=True, width=100, file=io.StringIO())
    script = Script(output, steps)
    await run_console(
        console_settings(tmp_path), language=language, read_line=script, output=output
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
            lambda s: number_of(s, translator.t("menu.settings", fr)),
            lambda s: number_of(s, translator.t("settings.button.language", fr)),
            lambda s: number_of(s, translator.t("language.name.en", fr)),
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


async def test_coordinates_reach_the_bot_as_a_location(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, ["@44.84,-0.58", ":quit"])
    assert "44.84, -0.58" in screen
    # The bot answers a location nobody asked for with its fallback.
    assert plain(translator.t("fallback.location", "fr")) in screen


async def test_a_town_is_geocoded_and_sent_as_a_location(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, ["@Bordeaux", ":quit"])
    assert "Bordeaux (FR) : 44.83802, -0.57964" in screen
    assert plain(translator.t("fallback.location", "fr")) in screen


async def test_an_unknown_place_is_reported_and_nothing_is_sent(
    tmp_path: Path, translator: Translator
) -> None:
    screen, _ = await chat(tmp_path, ["@nowhere-xyz", ":quit"])
    assert plain(translator.t("console.place_not_found", "fr", query="nowhere-xyz")) in screen
    assert plain(translator.t("fallback.location", "fr")) not in screen


@pytest.mark.parametrize("line", ["@999,0", "@0,181", "@44.84", "@-91;2"])
async def test_impossible_coordinates_are_refused(
    tmp_path: Path, translator: Translator, line: str
) -> None:
    screen, _ = await chat(tmp_path, [line, ":quit"])
    assert plain(translator.t("console.invalid_coordinates", "fr")) in screen
    assert plain(translator.t("fallback.location", "fr")) not in screen


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
    # :help lists the command menu the bot registered at start-up.
    assert f"/start {translator.t('commands.start', 'en')}" in screen
    assert plain(translator.t("console.unknown_meta", "en", command=":nope")) in screen
    assert script.prompts[0] == translator.t("console.prompt", "en")


# -- the conversation with a dispatcher of our own


async def test_share_location_button_explains_and_locations_arrive(
    tmp_path: Path, translator: Translator
) -> None:
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

    output = Console(record=True, width=100, file=io.StringIO())
    view = ConsoleView(output, translator, "en")
    session = ConsoleSession(view, user_id=7, first_name="Alice")
    bot = create_bot(console_settings(tmp_path), session=session)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    seen: list[Update] = []

    async def record(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        update: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(update, Update)
        seen.append(update)
        return await handler(update, data)

    dispatcher.update.outer_middleware(record)

    engine = create_engine(console_settings(tmp_path).database_url)
    await upgrade(engine)
    try:
        conversation = _Conversation(
            bot=bot,
            dispatcher=dispatcher,
            session=session,
            view=view,
            sessionmaker=create_sessionmaker(engine),
            language_code="en",
        )
        for line in ["/where", "1", "@Bordeaux", "@ 45,5 ; 1,25"]:
            assert await conversation.handle(line)
        assert not await conversation.handle(":quit")
    finally:
        await engine.dispose()
    screen = flat(output.export_text())
    assert "[1] 📍 Share" in screen
    assert plain(translator.t("console.location_button", "en")) in screen
    assert "got 44.83802,-0.57964" in screen
    # French decimal commas are understood too.
    assert "got 45.5,1.25" in screen
    update_ids = [update.update_id for update in seen]
    assert update_ids == sorted(set(update_ids)) and len(update_ids) == 3
    person_ids = {update.message.message_id for update in seen if update.message}
    bot_ids = {message_id for _chat, message_id in session.messages}
    assert len(person_ids) == 3 and len(bot_ids) == 3
    assert not person_ids & bot_ids


# -- the imitated Bot API


@pytest.fixture
def view(translator: Translator) -> ConsoleView:
    return ConsoleView(Console(record=True, width=100, file=io.StringIO()), translator, "en")


@pytest.fixture
def bot(tmp_path: Path, view: ConsoleView) -> Bot:
    return create_bot(console_settings(tmp_path), session=ConsoleSession(view, user_id=1))


def screen_of(view: ConsoleView) -> str:
    return flat(view.output.export_text(clear=False))


async def test_messages_get_increasing_ids_and_render_html_safely(
    bot: Bot, view: ConsoleView
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
    screen = screen_of(view)
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
    bot: Bot, view: ConsoleView
) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Yes", callback_data="y")],
            [InlineKeyboardButton(text="Docs", url="https://example.org/docs")],
        ]
    )
    sent = await bot.send_message(1, "Question?", reply_markup=keyboard)
    assert "[1] Yes" in screen_of(view)
    assert "Docs (https://example.org/docs)" in screen_of(view)
    assert view.buttons()[1].callback_data == "y"
    edited = await bot.edit_message_text("Answered", chat_id=1, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "Answered" and edited.reply_markup is None
    assert "Greenhood (edited) Answered" in screen_of(view)
    assert view.buttons() == {}  # the edit took the keyboard away
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text("Answered", chat_id=1, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="not found"):
        await bot.edit_message_text("x", chat_id=1, message_id=999)
    assert await bot.delete_message(1, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="not found"):
        await bot.delete_message(1, sent.message_id)


async def test_callback_answers_show_as_toasts_and_alerts(bot: Bot, view: ConsoleView) -> None:
    assert await bot.answer_callback_query("q1", text="Saved")
    assert await bot.answer_callback_query("q2", text="Careful!", show_alert=True)
    screen = screen_of(view)
    assert "🔔 Saved" in screen
    assert "⚠ Alert Careful!" in screen


async def test_venues_and_locations_link_to_openstreetmap(bot: Bot, view: ConsoleView) -> None:
    await bot.send_venue(1, 44.83802, -0.57964, "Atelier <Bois>", "1 rue X, Bordeaux")
    await bot.send_location(1, 45.0, 1.5)
    screen = screen_of(view)
    assert "Atelier <Bois>" in screen
    assert "1 rue X, Bordeaux" in screen
    assert "https://www.openstreetmap.org/?mlat=44.83802&mlon=-0.57964#map=16/" in screen
    assert "📍 45.00000, 1.50000" in screen


async def test_photos_and_documents_are_saved_to_console_files(
    tmp_path: Path, bot: Bot, view: ConsoleView
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(image, format="PNG")
    photo = await bot.send_photo(
        1, BufferedInputFile(image.getvalue(), "../qr code.png"), caption="<b>Scan me</b>"
    )
    assert photo.photo is not None
    assert (photo.photo[-1].width, photo.photo[-1].height) == (40, 30)
    saved = FILES_DIR / photo.photo[-1].file_id
    assert saved.read_bytes() == image.getvalue()
    assert saved.resolve().parent == (tmp_path / FILES_DIR).resolve()
    source = tmp_path / "export.csv"
    source.write_text("a,b\n1,2\n")
    document = await bot.send_document(1, FSInputFile(source))
    assert document.document is not None
    assert (FILES_DIR / document.document.file_id).read_text() == "a,b\n1,2\n"
    screen = screen_of(view)
    assert f"Photo saved to {saved}" in screen
    assert "Scan me" in screen
    assert f"Document saved to {FILES_DIR / document.document.file_id}" in screen
    # Sent again by file_id, the same file is shown.
    again = await bot.send_photo(1, photo.photo[-1].file_id)
    assert again.photo is not None and again.photo[-1].file_id == photo.photo[-1].file_id


async def test_bot_plumbing_methods(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == bot.id
    member = await bot.get_chat_member(1, 1)
    assert member.status == "member" and member.user.id == 1
    assert await bot.delete_webhook()
    assert await bot.send_chat_action(1, "typing")
    assert await bot.pin_chat_message(1, 1)
    from aiogram.types import BotCommand

    assert await bot.set_my_commands([BotCommand(command="start", description="Go")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    # A method returning True in Telegram is accepted; others are refused clearly.
    assert await bot.set_chat_title(1, "x")
    with pytest.raises(ConsoleUnsupportedMethodError, match="GetChat"):
        await bot.get_chat(1)


async def test_messages_to_other_chats_are_shown_apart(bot: Bot, view: ConsoleView) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Confirm", callback_data="c")]]
    )
    await bot.send_message(42, "Someone reserved your offer", reply_markup=keyboard)
    screen = screen_of(view)
    assert "to chat 42" in screen
    assert "[·] Confirm" in screen
    assert view.buttons() == {}  # not the person's to press


# -- text conversion


def test_entities_round_trip_in_utf16() -> None:
    text, spans = parse_html("🌱 <b>vert</b> <i>é</i>")
    entities = entities_from_spans(text, spans)
    assert entities[0] == {"type": "bold", "offset": 3, "length": 4}
    from aiogram.types import MessageEntity

    back = spans_from_entities(text, [MessageEntity(**entity) for entity in entities])
    assert [(s.start, s.end, s.kind) for s in back] == [(s.start, s.end, s.kind) for s in spans]


def test_rich_text_styles_quotes_and_pre() -> None:
    text, spans = parse_html(
        '<blockquote>one\ntwo</blockquote><pre><code class="language-py">x = 1</code></pre>'
    )
    assert [s.kind for s in spans] == ["blockquote", "pre"]
    assert spans[1].language == "py"
    rendered = to_rich_text(text, spans)
    assert rendered.plain == "▎ one\n▎ twox = 1"
    assert any("italic" in str(span.style) for span in rendered.spans)


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


async def test_the_makers_map_in_the_console_and_another_category(
    tmp_path: Path, translator: Translator
) -> None:
    # The list comes under its map (a photo saved to console-files); a category button
    # (the 14th: after the menu keyboard's six, five makers, "more" and "all") redraws
    # both in place.
    screen, _ = await chat(tmp_path, ["/makers", "@Nancy", "14", ":quit"], language="en")
    maps = sorted((tmp_path / FILES_DIR).glob("*makers*"))
    assert len(maps) == 2, screen
    assert all(Image.open(path).size == (960, 720) for path in maps)
    assert plain(translator.t("errors.apology", "en")) not in screen
    first = translator.t(f"makers.category.{next(iter(MakerCategory)).value}", "en")
    assert plain(translator.t("makers.list.filter_category", "en", category=first)) in screen
