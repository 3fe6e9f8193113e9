"""`greenhood console`: chat with the real bot in a terminal, without Telegram or a token.

The real dispatcher, middlewares and handlers run unchanged; only the HTTP session is
replaced. `ConsoleSession` answers the Bot API methods the bot calls and hands what a
person would see to `ConsoleView`, which draws it with rich. `run_console` reads what
the person types and turns it into Telegram updates:

- a number presses the button shown with that number;
- `/command args` is a command, anything else a text message;
- `@lat,lon` sends a location, `@town` looks the town up offline and sends its location;
- `:help`, `:buttons` and `:quit` talk to the console itself; a leading backslash sends
  the rest as plain text.

Telegram's HTML is parsed here into plain text and entities, the way Telegram does it
(including its refusal of unknown tags), and drawn as rich `Text` objects, so nothing a
person or the bot writes is ever read as rich markup.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteMyCommands,
    DeleteWebhook,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    GetChatMember,
    GetFile,
    GetMe,
    GetMyCommands,
    PinChatMessage,
    SendChatAction,
    SendDocument,
    SendLocation,
    SendMessage,
    SendPhoto,
    SendVenue,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BotCommand,
    ChatMemberMember,
    File,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

from bot.core.settings import Settings
from bot.core.telegram_html import HtmlError, Span, parse
from bot.services.geo import geocoding
from bot.ui.formatting import escape
from bot.ui.i18n import Translator, create_translator
from models import User as UserRow

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)

BOT_NAME = "Greenhood"
BOT_USERNAME = "greenhood_console_bot"
FILES_DIR = Path("console-files")
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
OSM_ZOOM = 16

ReadLine = Callable[[str], Awaitable[str | None]]


class ConsoleUnsupportedMethodError(TelegramAPIError):
    """The bot called a Bot API method the console does not imitate yet."""

    def __init__(self, method: TelegramMethod[Any]) -> None:
        name = type(method).__name__
        super().__init__(
            method=method,
            message=f"{name} is not supported by the terminal console: add it to bot/app/console.py",
        )


# --------------------------------------------------------------------------------------
# Telegram formatted text: HTML or entities <-> plain text and spans
# --------------------------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _utf16_to_index(text: str) -> list[int]:
    """utf16 offset -> Python index, for every offset of `text` (and its end)."""
    table: list[int] = []
    for index, char in enumerate(text):
        table.extend([index] * (2 if ord(char) > 0xFFFF else 1))
    table.append(len(text))
    return table


def spans_from_entities(text: str, entities: Sequence[MessageEntity]) -> list[Span]:
    table = _utf16_to_index(text)

    def at(offset: int) -> int:
        return table[min(max(offset, 0), len(table) - 1)]

    spans = []
    for entity in entities:
        start, end = at(entity.offset), at(entity.offset + entity.length)
        extra = entity.custom_emoji_id or (
            str(entity.unix_time) if entity.unix_time is not None else None
        )
        spans.append(Span(start, end, entity.type, entity.url, entity.language, extra))
    return sorted(spans, key=lambda s: (s.start, -s.end))


def entities_from_spans(text: str, spans: Sequence[Span]) -> list[dict[str, Any]]:
    """MessageEntity dicts (UTF-16 offsets) for a message the console hands back to the bot."""
    entities = []
    for span in spans:
        entity: dict[str, Any] = {
            "type": span.kind,
            "offset": _utf16_len(text[: span.start]),
            "length": _utf16_len(text[span.start : span.end]),
        }
        if span.url:
            entity["url"] = span.url
        if span.language:
            entity["language"] = span.language
        if span.kind == "custom_emoji" and span.extra:
            entity["custom_emoji_id"] = span.extra
        if span.kind == "date_time":
            if not (span.extra or "").isdigit():
                continue
            entity["unix_time"] = int(span.extra or 0)
        entities.append(entity)
    return entities


_SPAN_STYLES = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "spoiler": "grey50 on grey19",
    "code": "bold cyan",
    "pre": "cyan",
    "text_link": "underline bright_blue",
    "url": "underline bright_blue",
    "email": "underline bright_blue",
    "mention": "bright_blue",
    "text_mention": "bright_blue",
    "hashtag": "bright_blue",
    "bot_command": "bright_blue",
    "blockquote": "italic",
    "expandable_blockquote": "italic",
}
_QUOTE_BAR = "▎ "


def to_rich_text(text: str, spans: Sequence[Span], base_style: str = "") -> Text:
    """Plain text and spans as a rich Text: styles, "(url)" after links, a bar before quotes."""
    inserts: dict[int, list[Text]] = {}
    for span in spans:
        if span.kind == "text_link" and span.url and span.url != text[span.start : span.end]:
            inserts.setdefault(span.end, []).append(Text(f" ({span.url})", style="dim"))
        elif span.kind in ("blockquote", "expandable_blockquote"):
            starts = [span.start] + [
                i + 1 for i in range(span.start, span.end - 1) if text[i] == "\n"
            ]
            for line_start in starts:
                inserts.setdefault(line_start, []).append(Text(_QUOTE_BAR, style="green"))
    out = Text(style=base_style)
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    position = 0
    for cut in sorted({*inserts, len(text)}):
        out.append(text[position:cut])
        before[cut] = len(out)
        for piece in inserts.get(cut, ()):
            out.append_text(piece)
        after[cut] = len(out)
        position = cut

    def start_of(index: int) -> int:
        if index in after:
            return after[index]
        return _shift(index, after)

    def end_of(index: int) -> int:
        if index in before:
            return before[index]
        return _shift(index, after)

    for span in spans:
        style = _SPAN_STYLES.get(span.kind)
        if style and span.end > span.start:
            out.stylize(style, start_of(span.start), end_of(span.end))
    return out


def _shift(index: int, after: dict[int, int]) -> int:
    """Position in the rendered text of plain index `index` (no insertion at it)."""
    previous = max((cut for cut in after if cut < index), default=None)
    if previous is None:
        return index
    return after[previous] + (index - previous)


def html_text(markup: str, base_style: str = "") -> Text:
    """Our own chrome strings (trusted, from locales) with their few HTML tags."""
    try:
        plain, spans = parse(markup)
    except HtmlError:
        return Text(markup, style=base_style)
    return to_rich_text(plain, spans, base_style)


# --------------------------------------------------------------------------------------
# What the person sees
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PressableButton:
    """A numbered button: an inline one (callback) or a reply-keyboard one."""

    number: int
    label: str
    message_id: int | None = None
    callback_data: str | None = None
    keyboard_button: KeyboardButton | None = None


@dataclass(slots=True)
class _Shown:
    """One thing to draw, collected during an update so buttons can be numbered at the end."""

    kind: str  # message, toast, alert, note, deleted
    message: Message | None = None
    edited: bool = False
    foreign: bool = False
    text: Text | None = None
    numbers: dict[tuple[int, int], int] = field(default_factory=dict)


class ConsoleView:
    """Draws the chat with rich and keeps the numbering of the buttons on screen.

    Numbering: the reply keyboard's buttons (Telegram shows it under the chat) take
    1..k while it is up; the inline buttons of the messages drawn for the latest update
    follow from k+1. When an update draws no inline button, the previous ones keep
    their numbers (minus those of messages edited or deleted since). The numbers
    printed last are always the valid ones.
    """

    def __init__(
        self,
        output: Console,
        translator: Translator,
        locale: str,
        *,
        files_dir: Path = FILES_DIR,
    ) -> None:
        self.output = output
        self.translator = translator
        self.locale = locale
        self.files_dir = files_dir
        self.reply_keyboard: ReplyKeyboardMarkup | None = None
        self._inline: list[PressableButton] = []
        self._batch: list[_Shown] | None = None
        self._keyboard_changed = False
        self._keyboard_size_before = 0
        self._deleted: set[int] = set()

    # -- strings
    def t(self, key: str, /, **params: object) -> str:
        return self.translator.t(key, self.locale, **params)

    def chrome(self, key: str, /, style: str = "", **params: object) -> Text:
        """A localized console string; `params` are escaped (they may come from the person)."""
        escaped = {name: escape(value) for name, value in params.items()}
        return html_text(self.t(key, **escaped), style)

    # -- collecting
    def begin_batch(self) -> None:
        self._batch = []
        self._keyboard_changed = False
        self._keyboard_size_before = self._reply_size()

    def end_batch(self) -> None:
        batch, self._batch = self._batch or [], None
        self._number(batch)
        for shown in batch:
            self._draw(shown)
        if self._keyboard_changed:
            self._draw_keyboard(self.reply_keyboard, removed_note=True)
        self._keyboard_changed = False

    def _add(self, shown: _Shown) -> None:
        if self._batch is not None:
            self._batch.append(shown)
            return
        self.begin_batch()
        assert self._batch is not None
        self._batch.append(shown)
        self.end_batch()

    def message(self, message: Message, *, edited: bool = False, foreign: bool = False) -> None:
        self._add(_Shown("message", message=message, edited=edited, foreign=foreign))

    def deleted(self, message_id: int) -> None:
        self._deleted.add(message_id)
        self._inline = [b for b in self._inline if b.message_id != message_id]
        self._add(_Shown("deleted", text=self.chrome("console.deleted", style="dim italic")))

    def toast(self, text: str, *, alert: bool, url: str | None = None) -> None:
        body = Text(text)
        if url:
            body.append(f" ({url})", style="dim")
        self._add(_Shown("alert" if alert else "toast", text=body))

    def note(self, text: Text) -> None:
        self._add(_Shown("note", text=text))

    def set_reply_markup(self, markup: object) -> None:
        """The reply markup of a message sent to the person (the reply keyboard part)."""
        if isinstance(markup, ReplyKeyboardMarkup):
            if self.reply_keyboard is None or _dump(markup) != _dump(self.reply_keyboard):
                self._keyboard_changed = True
            self.reply_keyboard = markup
        elif isinstance(markup, ReplyKeyboardRemove) and self.reply_keyboard is not None:
            self.reply_keyboard = None
            self._keyboard_changed = True
        elif isinstance(markup, ForceReply):
            hint = self.chrome("console.force_reply", style="dim italic")
            if markup.input_field_placeholder:
                hint.append(f" ({markup.input_field_placeholder})", style="dim")
            self.note(hint)

    # -- numbering
    def _reply_size(self) -> int:
        if self.reply_keyboard is None:
            return 0
        return sum(len(row) for row in self.reply_keyboard.keyboard)

    def _number(self, batch: list[_Shown]) -> None:
        size = self._reply_size()
        last_version = {
            shown.message.message_id: index
            for index, shown in enumerate(batch)
            if shown.kind == "message" and shown.message is not None and not shown.foreign
        }
        touched = set(last_version)
        fresh: list[PressableButton] = []
        number = size + 1
        for index, shown in enumerate(batch):
            message = shown.message
            if message is None or last_version.get(message.message_id) != index:
                continue
            if message.message_id in self._deleted:
                continue
            markup = message.reply_markup
            if markup is None:
                continue
            for r, row in enumerate(markup.inline_keyboard):
                for c, button in enumerate(row):
                    if button.callback_data is None:
                        continue
                    shown.numbers[(r, c)] = number
                    fresh.append(
                        PressableButton(
                            number, button.text, message.message_id, button.callback_data
                        )
                    )
                    number += 1
        if fresh:
            self._inline = fresh
        elif size != self._keyboard_size_before:
            self._inline = []  # their numbers would collide with the new keyboard's
        else:
            self._inline = [b for b in self._inline if b.message_id not in touched]

    def buttons(self) -> dict[int, PressableButton]:
        pressable: dict[int, PressableButton] = {}
        if self.reply_keyboard is not None:
            number = 1
            for row in self.reply_keyboard.keyboard:
                for button in row:
                    pressable[number] = PressableButton(number, button.text, keyboard_button=button)
                    number += 1
        for inline in self._inline:
            pressable[inline.number] = inline
        return pressable

    # -- drawing
    def _draw(self, shown: _Shown) -> None:
        if shown.kind == "message" and shown.message is not None:
            self.output.print(self._message_panel(shown))
        elif shown.kind == "alert" and shown.text is not None:
            self.output.print(
                Panel(
                    shown.text,
                    title=Text(f"⚠ {self.t('console.alert')}", style="bold yellow"),
                    title_align="left",
                    border_style="yellow",
                    expand=False,
                )
            )
        elif shown.kind == "toast" and shown.text is not None:
            self.output.print(Text.assemble(("  🔔 ", "yellow"), shown.text.copy()), style="italic")
        elif shown.text is not None:
            self.output.print(Padding(shown.text, (0, 0, 0, 2)))

    def _message_panel(self, shown: _Shown) -> Panel:
        message = shown.message
        assert message is not None
        title = Text(f"🌱 {BOT_NAME}", style="bold green")
        if shown.foreign:
            title.append(f" → {self.t('console.to_chat', chat=message.chat.id)}", style="dim")
        if shown.edited:
            title.append(f" ({self.t('console.edited')})", style="dim italic")
        parts: list[RenderableType] = list(self._content(message))
        markup = message.reply_markup
        if markup is not None and markup.inline_keyboard:
            parts.append(Text())
            parts.append(self._inline_grid(markup, shown.numbers))
        return Panel(
            Group(*parts),
            title=title,
            title_align="left",
            border_style="dim" if shown.foreign else "green",
            expand=False,
            padding=(0, 1),
        )

    def _content(self, message: Message) -> Iterator[RenderableType]:
        if message.photo:
            yield self._attachment("🖼", self.t("console.photo"), message.photo[-1].file_id)
        if message.document:
            yield self._attachment("📄", self.t("console.document"), message.document.file_id)
        if message.venue is not None:
            venue = message.venue
            yield Text(venue.title, style="bold")
            if venue.address:
                yield Text(venue.address)
            yield _map_line(venue.location.latitude, venue.location.longitude)
        elif message.location is not None:
            location = message.location
            yield Text(f"📍 {location.latitude:.5f}, {location.longitude:.5f}")
            yield _map_line(location.latitude, location.longitude)
        if message.text is not None:
            yield to_rich_text(
                message.text, spans_from_entities(message.text, message.entities or [])
            )
        if message.caption:
            caption = message.caption
            yield to_rich_text(
                caption, spans_from_entities(caption, message.caption_entities or [])
            )

    def _attachment(self, icon: str, label: str, file_id: str) -> Text:
        line = Text(f"{icon} {label} ", style="bold")
        saved = self.files_dir / file_id
        if saved.is_file():
            size = saved.stat().st_size
            line.append(self.t("console.file_saved", path=str(saved)), style="not bold")
            line.append(f" ({_human_size(size)})", style="dim not bold")
        else:
            line.append(self.t("console.file_remote", ref=file_id), style="dim not bold")
        return line

    def _inline_grid(
        self, markup: InlineKeyboardMarkup, numbers: dict[tuple[int, int], int]
    ) -> RenderableType:
        lines = []
        for r, row in enumerate(markup.inline_keyboard):
            line = Text()
            for c, button in enumerate(row):
                if c:
                    line.append("   ")
                line.append_text(self._inline_button(button, numbers.get((r, c))))
            lines.append(line)
        return Group(*lines)

    def _inline_button(self, button: InlineKeyboardButton, number: int | None) -> Text:
        if button.callback_data is not None:
            if number is None:  # an older version of the message, or another person's chat
                return Text.assemble(("[·] ", "dim"), (button.text, "dim"))
            return Text.assemble((f"[{number}]", "bold cyan"), " ", button.text)
        if button.url:
            return Text.assemble(("🔗 ", ""), button.text, (f" ({button.url})", "dim"))
        if button.copy_text is not None:
            return Text.assemble(("📋 ", ""), button.text, (f" ({button.copy_text.text})", "dim"))
        unavailable = self.t("console.buttons.unavailable")
        return Text.assemble(("[–] ", "dim"), button.text, (f" ({unavailable})", "dim"))

    def _draw_keyboard(self, keyboard: ReplyKeyboardMarkup | None, *, removed_note: bool) -> None:
        if keyboard is None:
            if removed_note:
                self.output.print(
                    Padding(self.chrome("console.keyboard_removed", style="dim italic"), (0, 2))
                )
            return
        grid = Table.grid(padding=(0, 3))
        columns = max((len(row) for row in keyboard.keyboard), default=0)
        for _ in range(columns):
            grid.add_column()
        number = 1
        for row in keyboard.keyboard:
            cells: list[RenderableType] = []
            for button in row:
                cells.append(Text.assemble((f"[{number}]", "bold magenta"), " ", button.text))
                number += 1
            grid.add_row(*cells)
        title = Text(f"⌨ {self.t('console.keyboard')}", style="magenta")
        self.output.print(Padding(Group(title, Padding(grid, (0, 0, 0, 2))), (0, 0, 0, 2)))

    def show_buttons(self) -> None:
        pressable = self.buttons()
        if not pressable:
            self.output.print(Padding(self.chrome("console.buttons.none", style="dim"), (0, 2)))
            return
        self.output.print(Padding(Text(self.t("console.buttons.title"), style="bold"), (0, 2)))
        if self.reply_keyboard is not None:
            self._draw_keyboard(self.reply_keyboard, removed_note=False)
        for button in self._inline:
            self.output.print(
                Padding(
                    Text.assemble((f"[{button.number}]", "bold cyan"), " ", button.label), (0, 4)
                )
            )

    def banner(self, database_url: str) -> None:
        body = Group(
            self.chrome("console.banner.text"),
            Text(),
            self.chrome("console.banner.database", style="dim", url=database_url),
        )
        self.output.print(
            Panel(
                body,
                title=Text(f"🌱 {self.t('console.banner.title')}", style="bold green"),
                title_align="left",
                border_style="green",
                padding=(1, 2),
            )
        )

    def help(self, commands: Sequence[BotCommand]) -> None:
        parts: list[RenderableType] = [
            self.chrome("console.help.text", folder=f"{self.files_dir}/"),
        ]
        if commands:
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bright_blue")
            table.add_column()
            for command in commands:
                table.add_row(f"/{command.command}", command.description)
            parts += [Text(), Text(self.t("console.help.commands"), style="bold"), table]
        self.output.print(
            Panel(
                Group(*parts),
                title=Text(f"❔ {self.t('console.help.title')}", style="bold"),
                title_align="left",
                border_style="blue",
                padding=(1, 2),
            )
        )

    def echo_press(self, button: PressableButton) -> None:
        self.output.print(Text.assemble(("  → ", "dim"), (button.label, "dim bold")))


def _map_line(latitude: float, longitude: float) -> Text:
    url = (
        f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}"
        f"#map={OSM_ZOOM}/{latitude:.5f}/{longitude:.5f}"
    )
    return Text.assemble("🗺  ", (url, "underline bright_blue"))


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


# --------------------------------------------------------------------------------------
# The Bot API, imitated
# --------------------------------------------------------------------------------------


class ConsoleSession(BaseSession):
    """A Bot API session that never leaves the process: what the bot sends is drawn by
    a `ConsoleView` and answered with the objects Telegram would return."""

    def __init__(
        self,
        view: ConsoleView,
        *,
        user_id: int = 1,
        first_name: str = "",
    ) -> None:
        super().__init__()
        self.view = view
        self.user_id = user_id
        self.first_name = first_name or "User"
        # Where uploads are written: the view shows them from there.
        self.files_dir = view.files_dir
        self.messages: dict[tuple[int, int], Message] = {}
        self.commands: dict[tuple[str, int | None, str], list[BotCommand]] = {}
        self._message_ids = 0

    # -- ids and objects
    def next_message_id(self) -> int:
        """Message ids are per chat in Telegram; the person's and the bot's share them."""
        self._message_ids += 1
        return self._message_ids

    def person(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": self.first_name}

    def chat(self, chat_id: int | str) -> dict[str, Any]:
        if chat_id == self.user_id:
            return {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if isinstance(chat_id, str):
            return {"id": -1, "type": "channel", "title": chat_id, "username": chat_id.lstrip("@")}
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": str(chat_id)}
        return {"id": chat_id, "type": "supergroup", "title": str(chat_id)}

    @staticmethod
    def bot_user(bot: Bot) -> dict[str, Any]:
        return {"id": bot.id, "is_bot": True, "first_name": BOT_NAME, "username": BOT_USERNAME}

    # -- BaseSession
    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """Files the bot sent earlier (saved under `files_dir`) can be downloaded again."""
        name = url.rstrip("/").rsplit("/", 1)[-1]
        path = self.files_dir / name
        if not name or not path.is_file():
            raise FileNotFoundError(f"the console has no file behind {url}")
        with path.open("rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        result = await self._answer(bot, method)
        return cast(TelegramType, result)

    async def _answer(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage):
            text, spans = self._formatted(
                bot, method, method.text, method.parse_mode, method.entities
            )
            self._check_text(method, text, TEXT_LIMIT, "message text is empty")
            return self._send(
                bot,
                method,
                method.chat_id,
                method.reply_markup,
                text=text,
                entities=entities_from_spans(text, spans) or None,
            )
        if isinstance(method, EditMessageText):
            text, spans = self._formatted(
                bot, method, method.text or "", method.parse_mode, method.entities
            )
            self._check_text(method, text, TEXT_LIMIT, "message text is empty")
            return self._edit(
                bot,
                method,
                method.chat_id,
                method.message_id,
                method.inline_message_id,
                method.reply_markup,
                text=text,
                entities=entities_from_spans(text, spans) or None,
            )
        if isinstance(method, EditMessageCaption):
            caption, spans = self._formatted(
                bot, method, method.caption or "", method.parse_mode, method.caption_entities
            )
            self._check_text(method, caption, CAPTION_LIMIT, None)
            return self._edit(
                bot,
                method,
                method.chat_id,
                method.message_id,
                method.inline_message_id,
                method.reply_markup,
                caption=caption or None,
                caption_entities=entities_from_spans(caption, spans) or None,
            )
        if isinstance(method, EditMessageMedia):
            return await self._edit_photo(bot, method)
        if isinstance(method, EditMessageReplyMarkup):
            return self._edit(
                bot,
                method,
                method.chat_id,
                method.message_id,
                method.inline_message_id,
                method.reply_markup,
            )
        if isinstance(method, DeleteMessage):
            if self.messages.pop((self._chat_id(method.chat_id), method.message_id), None) is None:
                raise TelegramBadRequest(method, "Bad Request: message to delete not found")
            self.view.deleted(method.message_id)
            return True
        if isinstance(method, AnswerCallbackQuery):
            if method.text or method.url:
                self.view.toast(method.text or "", alert=bool(method.show_alert), url=method.url)
            return True
        if isinstance(method, SendLocation):
            location = {"latitude": method.latitude, "longitude": method.longitude}
            return self._send(bot, method, method.chat_id, method.reply_markup, location=location)
        if isinstance(method, SendVenue):
            location = {"latitude": method.latitude, "longitude": method.longitude}
            venue = {"location": location, "title": method.title, "address": method.address}
            return self._send(
                bot, method, method.chat_id, method.reply_markup, location=location, venue=venue
            )
        if isinstance(method, SendPhoto | SendDocument):
            return await self._send_file(bot, method)
        if isinstance(method, SendChatAction | DeleteWebhook):
            return True
        if isinstance(method, SetMyCommands):
            self.commands[self._commands_key(method.scope, method.language_code)] = list(
                method.commands
            )
            return True
        if isinstance(method, DeleteMyCommands):
            self.commands.pop(self._commands_key(method.scope, method.language_code), None)
            return True
        if isinstance(method, GetMyCommands):
            return self.commands.get(self._commands_key(method.scope, method.language_code), [])
        if isinstance(method, GetMe):
            return User.model_validate(
                {**self.bot_user(bot), "can_join_groups": True, "supports_inline_queries": False},
                context={"bot": bot},
            )
        if isinstance(method, GetChatMember):
            if method.user_id == self.user_id:
                member_user = self.person()
            else:
                is_bot = method.user_id == bot.id
                member_user = (
                    self.bot_user(bot)
                    if is_bot
                    else {"id": method.user_id, "is_bot": False, "first_name": str(method.user_id)}
                )
            return ChatMemberMember.model_validate(
                {"status": "member", "user": member_user}, context={"bot": bot}
            )
        if isinstance(method, PinChatMessage):
            self.view.note(self.view.chrome("console.pinned", style="dim italic"))
            return True
        if isinstance(method, GetFile):
            if not (self.files_dir / method.file_id).is_file():
                raise TelegramBadRequest(method, "Bad Request: invalid file_id")
            return File.model_validate(
                {
                    "file_id": method.file_id,
                    "file_unique_id": method.file_id,
                    "file_path": method.file_id,
                },
                context={"bot": bot},
            )
        if getattr(type(method), "__returning__", None) is bool:
            return True
        raise ConsoleUnsupportedMethodError(method)

    # -- helpers
    def commands_for(self, language: str | None) -> list[BotCommand]:
        """What the person's command menu would show in a private chat."""
        for key in (
            ("all_private_chats", None, language or ""),
            ("all_private_chats", None, ""),
            ("default", None, language or ""),
            ("default", None, ""),
        ):
            if key in self.commands:
                return self.commands[key]
        return []

    @staticmethod
    def _commands_key(scope: Any, language: str | None) -> tuple[str, int | None, str]:
        if scope is None:
            return ("default", None, language or "")
        chat_id = getattr(scope, "chat_id", None)
        kind = str(getattr(scope.type, "value", scope.type))
        return (kind, chat_id if isinstance(chat_id, int) else None, language or "")

    def _chat_id(self, chat_id: int | str | None) -> int:
        if isinstance(chat_id, int):
            return chat_id
        return -1 if chat_id else self.user_id

    @staticmethod
    def _formatted(
        bot: Bot,
        method: TelegramMethod[Any],
        text: str,
        parse_mode: str | Default | None,
        entities: Sequence[MessageEntity] | None,
    ) -> tuple[str, list[Span]]:
        mode = bot.default[parse_mode.name] if isinstance(parse_mode, Default) else parse_mode
        if entities:
            return text, spans_from_entities(text, entities)
        if isinstance(mode, str) and mode.upper() == "HTML":
            try:
                return parse(text)
            except HtmlError as error:
                raise TelegramBadRequest(
                    method, f"Bad Request: can't parse entities: {error}"
                ) from error
        return text, []  # Markdown modes are shown as written

    @staticmethod
    def _check_text(
        method: TelegramMethod[Any], text: str, limit: int, empty_error: str | None
    ) -> None:
        if empty_error and not text.strip():
            raise TelegramBadRequest(method, f"Bad Request: {empty_error}")
        if _utf16_len(text) > limit:
            what = "message is too long" if limit == TEXT_LIMIT else "message caption is too long"
            raise TelegramBadRequest(method, f"Bad Request: {what}")

    @staticmethod
    def _check_markup(method: TelegramMethod[Any], markup: object) -> None:
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for button in row:
                    data = button.callback_data
                    if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                        raise TelegramBadRequest(method, "Bad Request: BUTTON_DATA_INVALID")

    def _send(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        chat_id: int | str,
        reply_markup: object,
        **content: Any,
    ) -> Message:
        self._check_markup(method, reply_markup)
        data: dict[str, Any] = {
            "message_id": self.next_message_id(),
            "date": datetime.now(UTC),
            "chat": self.chat(chat_id),
            "from": self.bot_user(bot),
            **{key: value for key, value in content.items() if value is not None},
        }
        if isinstance(reply_markup, InlineKeyboardMarkup):
            data["reply_markup"] = _dump(reply_markup)
        message = Message.model_validate(data, context={"bot": bot})
        self.messages[(message.chat.id, message.message_id)] = message
        foreign = message.chat.id != self.user_id
        if not foreign:
            self.view.set_reply_markup(reply_markup)
        self.view.message(message, foreign=foreign)
        return message

    def _edit(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        chat_id: int | str | None,
        message_id: int | None,
        inline_message_id: str | None,
        reply_markup: InlineKeyboardMarkup | None,
        **changes: Any,
    ) -> Message | bool:
        if inline_message_id is not None:
            return True  # messages sent in inline mode are not shown in the console
        key = (self._chat_id(chat_id), message_id or 0)
        old = self.messages.get(key)
        if old is None:
            raise TelegramBadRequest(method, "Bad Request: message to edit not found")
        if "text" in changes and old.text is None:
            raise TelegramBadRequest(method, "Bad Request: there is no text in the message to edit")
        self._check_markup(method, reply_markup)
        data = old.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name, value in changes.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        data.pop("reply_markup", None)
        if reply_markup is not None and reply_markup.inline_keyboard:
            data["reply_markup"] = _dump(reply_markup)
        new = Message.model_validate(data, context={"bot": bot})
        if _dump(new) == _dump(old):
            raise TelegramBadRequest(
                method,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        data["edit_date"] = int(datetime.now(UTC).timestamp())
        new = Message.model_validate(data, context={"bot": bot})
        self.messages[key] = new
        self.view.message(new, edited=True, foreign=key[0] != self.user_id)
        return new

    async def _edit_photo(self, bot: Bot, method: EditMessageMedia) -> Message | bool:
        """A photo replaced under its caption (a list and its map): saved like a sent one."""
        media = method.media
        if not isinstance(media, InputMediaPhoto) or not isinstance(media.media, InputFile):
            raise ConsoleUnsupportedMethodError(method)
        caption, spans = self._formatted(
            bot, method, media.caption or "", media.parse_mode, media.caption_entities
        )
        self._check_text(method, caption, CAPTION_LIMIT, None)
        data = b"".join([chunk async for chunk in media.media.read(bot)])
        name = _safe_name(media.media.filename or "photo")
        file_id = f"{method.message_id}-edit{len(list(self.files_dir.glob('*-edit*')))}-{name}"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        (self.files_dir / file_id).write_bytes(data)
        width, height = _image_size(data)
        photo = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "width": width,
            "height": height,
            "file_size": len(data),
        }
        return self._edit(
            bot,
            method,
            method.chat_id,
            method.message_id,
            method.inline_message_id,
            method.reply_markup,
            photo=[photo],
            caption=caption or None,
            caption_entities=entities_from_spans(caption, spans) or None,
        )

    async def _send_file(self, bot: Bot, method: SendPhoto | SendDocument) -> Message:
        upload = method.photo if isinstance(method, SendPhoto) else method.document
        caption, spans = self._formatted(
            bot, method, method.caption or "", method.parse_mode, method.caption_entities
        )
        self._check_text(method, caption, CAPTION_LIMIT, None)
        if isinstance(upload, InputFile):
            data = b"".join([chunk async for chunk in upload.read(bot)])
            file_id = f"{self._message_ids + 1}-{_safe_name(upload.filename or 'file')}"
            self.files_dir.mkdir(parents=True, exist_ok=True)
            (self.files_dir / file_id).write_bytes(data)
        else:
            file_id, data = str(upload), b""
            saved = self.files_dir / file_id
            if saved.is_file():
                data = saved.read_bytes()
        media: dict[str, Any]
        if isinstance(method, SendPhoto):
            width, height = _image_size(data)
            media = {
                "photo": [
                    {
                        "file_id": file_id,
                        "file_unique_id": file_id,
                        "width": width,
                        "height": height,
                        "file_size": len(data),
                    }
                ]
            }
        else:
            name = file_id.split("-", 1)[-1]
            media = {
                "document": {
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "file_name": name,
                    "file_size": len(data),
                }
            }
        return self._send(
            bot,
            method,
            method.chat_id,
            method.reply_markup,
            caption=caption or None,
            caption_entities=entities_from_spans(caption, spans) or None,
            **media,
        )


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.-]+", "_", os.path.basename(name)).strip("._")
    return cleaned[:80] or "file"


def _image_size(data: bytes) -> tuple[int, int]:
    if not data:
        return 0, 0
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - not an image Pillow knows: no size, still shown
        return 0, 0


# --------------------------------------------------------------------------------------
# The conversation: what the person types -> updates
# --------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^\d{1,9}$")
_DECIMAL = r"[-+]?\d{1,12}(?:[.,]\d{1,15})?"
_COORDINATES = re.compile(rf"^({_DECIMAL})\s*(?:[;,]\s*|\s+)({_DECIMAL})$")
_NUMERIC_ONLY = re.compile(r"^[-+\d\s.,;]+$")
_POSTCODE = re.compile(r"^\d{5}$")
_QUIT = {":quit", ":q", ":exit", ":quitter"}
_HELP = {":help", ":h", ":?", ":aide"}
_BUTTONS = {":buttons", ":b", ":boutons", ":keys"}


class _Conversation:
    def __init__(
        self,
        *,
        bot: Bot,
        dispatcher: Dispatcher,
        session: ConsoleSession,
        view: ConsoleView,
        sessionmaker: async_sessionmaker[AsyncSession],
        language_code: str,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.session = session
        self.view = view
        self.sessionmaker = sessionmaker
        self.language_code = language_code
        self._update_ids = 0

    # -- reading
    async def handle(self, line: str) -> bool:
        """Act on one line; False when the person wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("\\"):
            await self.send_text(line[1:])
        elif line.startswith(":"):
            return self.meta(line)
        elif _NUMBER.match(line):
            await self.press(int(line))
        elif line.startswith("@"):
            await self.send_place(line[1:].strip())
        else:
            await self.send_text(line)
        return True

    def meta(self, line: str) -> bool:
        command = line.split()[0].lower()
        if command in _QUIT:
            return False
        if command in _HELP:
            self.view.help(self.session.commands_for(self.view.locale))
        elif command in _BUTTONS:
            self.view.show_buttons()
        else:
            self.view.note(
                self.view.chrome("console.unknown_meta", style="yellow", command=command)
            )
        return True

    async def press(self, number: int) -> None:
        button = self.view.buttons().get(number)
        if button is None:
            self.view.note(
                self.view.chrome("console.no_such_button", style="yellow", number=number)
            )
            return
        self.view.echo_press(button)
        if button.callback_data is not None and button.message_id is not None:
            message = self.session.messages.get((self.session.user_id, button.message_id))
            if message is None:
                return
            self._update_ids += 1
            await self.feed(
                {
                    "update_id": self._update_ids,
                    "callback_query": {
                        "id": f"console-{self._update_ids}",
                        "from": self.person(),
                        "chat_instance": f"console-{self.session.user_id}",
                        "message": message.model_dump(
                            mode="json", by_alias=True, exclude_none=True
                        ),
                        "data": button.callback_data,
                    },
                }
            )
            return
        keyboard_button = button.keyboard_button
        if keyboard_button is None:
            return
        if keyboard_button.request_location:
            self.view.note(self.view.chrome("console.location_button", style="yellow"))
        elif (
            keyboard_button.request_contact
            or keyboard_button.request_poll
            or keyboard_button.request_users
            or keyboard_button.request_chat
            or keyboard_button.web_app
        ):
            self.view.note(Text(self.view.t("console.buttons.unavailable"), style="yellow"))
        else:
            await self.send_text(keyboard_button.text)

    async def send_text(self, text: str) -> None:
        if not text.strip():
            return
        # Telegram clients split what is too long for one message.
        for start in range(0, len(text), TEXT_LIMIT):
            chunk = text[start : start + TEXT_LIMIT]
            content: dict[str, Any] = {"text": chunk}
            if start == 0 and chunk.startswith("/") and len(chunk) > 1:
                command = chunk.split(maxsplit=1)[0]
                content["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
                ]
            await self.send_message(content)

    async def send_place(self, query: str) -> None:
        if not query:
            self.view.note(self.view.chrome("console.location_usage", style="yellow"))
            return
        match = _COORDINATES.match(query)
        if match or (_NUMERIC_ONLY.match(query) and not _POSTCODE.match(query)):
            latitude, longitude = (_to_float(match[1]), _to_float(match[2])) if match else (0, 0)
            if match is None or not geocoding.validate_coordinates(latitude, longitude):
                self.view.note(self.view.chrome("console.invalid_coordinates", style="yellow"))
                return
            self.view.note(
                Text(
                    "📍 " + self.view.t("console.location_sent", lat=latitude, lon=longitude),
                    style="dim",
                )
            )
            await self.send_location(latitude, longitude)
            return
        with self.view.output.status(self.view.t("console.searching"), spinner="dots"):
            place = await asyncio.to_thread(geocoding.lookup_place, query)
        if place is None:
            self.view.note(
                self.view.chrome("console.place_not_found", style="yellow", query=query[:100])
            )
            return
        found = self.view.t(
            "console.place_found",
            name=place.name,
            country=place.country_code,
            lat=f"{place.latitude:.5f}",
            lon=f"{place.longitude:.5f}",
        )
        self.view.note(Text("📍 " + found, style="dim"))
        await self.send_location(place.latitude, place.longitude)

    async def send_location(self, latitude: float, longitude: float) -> None:
        await self.send_message({"location": {"latitude": latitude, "longitude": longitude}})

    # -- updates
    def person(self) -> dict[str, Any]:
        return {**self.session.person(), "language_code": self.language_code}

    async def send_message(self, content: dict[str, Any]) -> None:
        self._update_ids += 1
        message = {
            "message_id": self.session.next_message_id(),
            "date": datetime.now(UTC),
            "chat": self.session.chat(self.session.user_id),
            "from": self.person(),
            **content,
        }
        await self.feed({"update_id": self._update_ids, "message": message})

    async def feed(self, raw: dict[str, Any]) -> None:
        update = Update.model_validate(raw, context={"bot": self.bot})
        self.view.begin_batch()
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception as error:
            logger.exception("the console could not handle update %s", update.update_id)
            self.view.note(self.view.chrome("console.error", style="red", error=error))
        finally:
            # Before drawing, so the console's own words switch with the bot's.
            await self.follow_language()
            self.view.end_batch()

    async def follow_language(self) -> None:
        """The console's own texts follow the language the person picked in the bot."""
        try:
            async with self.sessionmaker() as db:
                row = await db.get(UserRow, self.session.user_id)
        except Exception:
            logger.debug("could not read the person's language", exc_info=True)
            return
        chosen = row.language if row is not None else None
        self.view.locale = self.view.translator.resolve_locale(chosen, self.language_code)


def _to_float(text: str) -> float:
    return float(text.replace(",", "."))


# --------------------------------------------------------------------------------------
# Reading the terminal
# --------------------------------------------------------------------------------------


class _StdinReader:
    """input() in a daemon thread, so the event loop runs on and Ctrl-C can end a read
    (a thread stuck in input() must not keep the process alive at exit)."""

    def __init__(self, styled: bool) -> None:
        self.styled = styled
        self._pending: asyncio.Future[str | None] | None = None
        if styled:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401 - line editing and history for input()

    async def __call__(self, prompt: str) -> str | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._pending = future
        echo = not sys.stdin.isatty()
        if self.styled:
            # \001 and \002 tell readline the colour codes take no room on screen.
            prompt = f"\001\033[1;32m\002{prompt}\001\033[0m\002"

        def settle(line: str | None) -> None:
            if not future.done():
                future.set_result(line)

        def read() -> None:
            try:
                line: str | None = input(prompt)
            except (EOFError, OSError, ValueError):
                line = None
            if line is not None and echo:
                print(line)  # piped input: complete the prompt line, as a terminal would
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                loop.call_soon_threadsafe(settle, line)

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        try:
            return await future
        finally:
            self._pending = None

    def interrupt(self) -> bool:
        """End the read in progress as if the input had ended; False if none was running."""
        future = self._pending
        if future is None or future.done():
            return False
        future.set_result(None)
        return True


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Per-update INFO lines would drown the chat; warnings and errors still show."""
    root = logging.getLogger()
    previous = root.level
    if previous > logging.DEBUG:
        root.setLevel(max(previous, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(previous)


def _person_name(translator: Translator, locale: str) -> str:
    name = os.environ.get("USER", "").strip()
    # An administrator's login is no name to greet someone with.
    if not name or name in {"root", "admin"}:
        return translator.t("console.default_name", locale)
    return name[:1].upper() + name[1:]


async def run_console(
    settings: Settings,
    *,
    language: str | None = None,
    read_line: ReadLine | None = None,
    output: Console | None = None,
    user_id: int = 1,
) -> None:
    """Chat with the real bot in this terminal until :quit, Ctrl-D or Ctrl-C."""
    output = output or Console()
    translator = create_translator(settings.locales_dir, settings.default_language)
    language_code = language or settings.default_language
    view = ConsoleView(output, translator, translator.resolve_locale(language_code))
    interactive = read_line is None
    reader = _StdinReader(styled=output.is_terminal) if read_line is None else None
    read = reader or read_line
    assert read is not None

    with _quiet_logs():
        with output.status(view.t("console.starting"), spinner="dots"):
            # Imported here, under _quiet_logs: Alembic logs its plugins as it loads.
            from bot.app.wiring import create_bot, create_dispatcher, prepare_database
            from models.database import create_sessionmaker

            engine = await prepare_database(settings)
        try:
            session = ConsoleSession(
                view, user_id=user_id, first_name=_person_name(translator, view.locale)
            )
            bot = create_bot(settings, session=session)
            sessionmaker = create_sessionmaker(engine)
            dispatcher = create_dispatcher(settings, sessionmaker, translator=translator)
            workflow = {**dispatcher.workflow_data, "dispatcher": dispatcher, "bots": [bot]}
            await dispatcher.emit_startup(bot=bot, **workflow)
            try:
                conversation = _Conversation(
                    bot=bot,
                    dispatcher=dispatcher,
                    session=session,
                    view=view,
                    sessionmaker=sessionmaker,
                    language_code=language_code,
                )
                await conversation.follow_language()  # someone back from an earlier chat
                database = make_url(settings.database_url).render_as_string(hide_password=True)
                view.banner(database)
                if interactive:
                    # The gazetteer takes half a second to load: do it while the banner is read.
                    threading.Thread(
                        target=geocoding.warm_up, name="gazetteer", daemon=True
                    ).start()
                await _loop(conversation, read, reader)
                output.print(Text(view.t("console.goodbye"), style="green"))
            finally:
                await dispatcher.emit_shutdown(bot=bot, **workflow)
                await bot.session.close()
        finally:
            await engine.dispose()


async def _loop(conversation: _Conversation, read: ReadLine, reader: _StdinReader | None) -> None:
    loop = asyncio.get_running_loop()
    stopping = False
    current = asyncio.current_task()

    def on_interrupt() -> None:
        nonlocal stopping
        if reader is not None and reader.interrupt():
            return
        if stopping and current is not None:
            current.cancel()  # a second Ctrl-C while an update hangs
        stopping = True

    handler_installed = False
    if reader is not None:
        try:
            loop.add_signal_handler(signal.SIGINT, on_interrupt)
            handler_installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        while not stopping:
            line = await read(conversation.view.t("console.prompt"))
            if line is None:
                conversation.view.output.print()
                break
            if not await conversation.handle(line):
                break
            conversation.view.output.print()  # air between one exchange and the next
    except asyncio.CancelledError:
        if not stopping:
            raise
    finally:
        if handler_installed:
            loop.remove_signal_handler(signal.SIGINT)


__all__ = [
    "ConsoleSession",
    "ConsoleUnsupportedMethodError",
    "ConsoleView",
    "entities_from_spans",
    "run_console",
    "spans_from_entities",
    "to_rich_text",
]
