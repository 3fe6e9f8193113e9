"""What the person sees: the bot's messages in the chat on screen, drawn with rich, and the
numbers of the buttons that can be pressed there.

The view is fed what the Bot API stand-in records (messages as Telegram stores them, in
JSON); what arrives for another chat waits there until someone switches to it."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.app.console.text import html_text, to_rich_text
from bot.core.telegram_html import spans_from_entities
from bot.standin.chats import image_size
from bot.ui.formatting import escape
from bot.ui.i18n import Translator

JsonDict = dict[str, Any]

BOT_NAME = "Greenhood"
FILES_DIR = Path("console-files")
OSM_ZOOM = 16
# Names of the other chats listed when something arrives there.
WAITING_NAMES_SHOWN = 3


@dataclass(frozen=True, slots=True)
class PressableButton:
    """A numbered button: an inline one (callback) or a reply-keyboard one."""

    number: int
    label: str
    message_id: int | None = None
    callback_data: str | None = None
    keyboard_button: JsonDict | None = None


@dataclass(slots=True)
class Shown:
    """One thing to draw in a chat, collected so buttons can be numbered at the end."""

    kind: str  # message, toast, alert, note, deleted
    message: JsonDict | None = None
    edited: bool = False
    text: Text | None = None
    markup: JsonDict | None = None  # the reply markup a message was sent with
    message_id: int | None = None  # the message deleted
    numbers: dict[tuple[int, int], int] = field(default_factory=dict)


@dataclass(slots=True)
class ChatScreen:
    """One chat as the console shows it: its reply keyboard and numbered inline buttons,
    and what arrived while another chat was on screen."""

    reply_keyboard: JsonDict | None = None
    inline: list[PressableButton] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)
    waiting: list[Shown] = field(default_factory=list)


def _keyboard_rows(keyboard: JsonDict | None) -> list[list[JsonDict]]:
    if keyboard is None:
        return []
    rows = keyboard.get("keyboard") or []
    return [
        [button if isinstance(button, dict) else {"text": str(button)} for button in row]
        for row in rows
        if isinstance(row, list)
    ]


def _inline_rows(message: JsonDict) -> list[list[JsonDict]]:
    markup = message.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    return [row for row in markup.get("inline_keyboard") or [] if isinstance(row, list)]


class ConsoleView:
    """Draws the chat on screen with rich and keeps the numbering of its buttons.

    Numbering: the reply keyboard's buttons (Telegram shows it under the chat) take
    1..k while it is up; the inline buttons of the messages drawn for the latest exchange
    follow from k+1. When an exchange draws no inline button, the previous ones keep
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
        file_content: Callable[[str], bytes | None] = lambda file_id: None,
        chat_id: int = 1,
    ) -> None:
        self.output = output
        self.translator = translator
        self.locale = locale
        self.files_dir = files_dir
        self.file_content = file_content
        self.chat_id = chat_id
        self.screens: dict[int, ChatScreen] = {}
        self._batch: list[Shown] | None = None
        self._new_waiting: list[int] = []

    # -- strings
    def t(self, key: str, /, **params: object) -> str:
        return self.translator.t(key, self.locale, **params)

    def chrome(self, key: str, /, style: str = "", **params: object) -> Text:
        """A localized console string; `params` are escaped (they may come from the person)."""
        escaped = {name: escape(value) for name, value in params.items()}
        return html_text(self.t(key, **escaped), style)

    @property
    def screen(self) -> ChatScreen:
        return self.screens.setdefault(self.chat_id, ChatScreen())

    @property
    def reply_keyboard(self) -> JsonDict | None:
        return self.screen.reply_keyboard

    # -- collecting
    def begin_batch(self) -> None:
        if self._batch is None:
            self._batch = []

    def end_batch(self) -> None:
        batch, self._batch = self._batch or [], None
        if batch:
            self._draw_batch(batch)

    def show(self, chat_id: int, shown: Shown, *, ephemeral: bool = False) -> None:
        """Something for chat `chat_id`: drawn if it is on screen, else kept for later
        (or dropped, if `ephemeral`, like a toast nobody was looking at)."""
        if chat_id != self.chat_id:
            if not ephemeral:
                self.screens.setdefault(chat_id, ChatScreen()).waiting.append(shown)
                if chat_id not in self._new_waiting:
                    self._new_waiting.append(chat_id)
            return
        if self._batch is not None:
            self._batch.append(shown)
        else:
            self._draw_batch([shown])

    def note(self, text: Text) -> None:
        self.show(self.chat_id, Shown("note", text=text))

    def take_new_waiting(self) -> list[int]:
        """Chats (other than the one on screen) where something arrived since last asked."""
        waiting, self._new_waiting = self._new_waiting, []
        return [chat_id for chat_id in waiting if chat_id != self.chat_id]

    def switch(self, chat_id: int) -> None:
        """Put chat `chat_id` on screen and draw what arrived there meanwhile."""
        self.end_batch()
        self.chat_id = chat_id
        waiting, self.screen.waiting = self.screen.waiting, []
        if waiting:
            self._draw_batch(waiting)

    # -- effects and numbering
    def _draw_batch(self, batch: list[Shown]) -> None:
        screen = self.screen
        size_before = self._reply_size()
        keyboard_before = screen.reply_keyboard
        drawn: list[Shown] = []
        for shown in batch:
            drawn.append(shown)
            if shown.kind == "deleted" and shown.message_id is not None:
                screen.deleted.add(shown.message_id)
                screen.inline = [b for b in screen.inline if b.message_id != shown.message_id]
            elif shown.kind == "message" and shown.markup is not None:
                hint = self._apply_reply_markup(shown.markup)
                if hint is not None:
                    drawn.append(Shown("note", text=hint))
        self._number(drawn, size_before)
        for shown in drawn:
            self._draw(shown)
        if screen.reply_keyboard != keyboard_before:
            self._draw_keyboard(screen.reply_keyboard, removed_note=True)

    def _apply_reply_markup(self, markup: JsonDict) -> Text | None:
        """The reply-keyboard part of a message's markup; a hint to draw for force_reply."""
        screen = self.screen
        if "keyboard" in markup:
            screen.reply_keyboard = markup
        elif markup.get("remove_keyboard"):
            screen.reply_keyboard = None
        elif markup.get("force_reply"):
            hint = self.chrome("console.force_reply", style="dim italic")
            placeholder = markup.get("input_field_placeholder")
            if placeholder:
                hint.append(f" ({placeholder})", style="dim")
            return hint
        return None

    def _reply_size(self) -> int:
        return sum(len(row) for row in _keyboard_rows(self.screen.reply_keyboard))

    def _number(self, batch: list[Shown], size_before: int) -> None:
        screen = self.screen
        size = self._reply_size()
        last_version = {
            int(shown.message["message_id"]): index
            for index, shown in enumerate(batch)
            if shown.kind == "message" and shown.message is not None
        }
        touched = set(last_version)
        fresh: list[PressableButton] = []
        number = size + 1
        for index, shown in enumerate(batch):
            message = shown.message
            if message is None:
                continue
            message_id = int(message["message_id"])
            if last_version.get(message_id) != index or message_id in screen.deleted:
                continue
            for r, row in enumerate(_inline_rows(message)):
                for c, button in enumerate(row):
                    data = button.get("callback_data")
                    if data is None:
                        continue
                    shown.numbers[(r, c)] = number
                    label = str(button.get("text", ""))
                    fresh.append(PressableButton(number, label, message_id, str(data)))
                    number += 1
        if fresh:
            screen.inline = fresh
        elif size != size_before:
            screen.inline = []  # their numbers would collide with the new keyboard's
        else:
            screen.inline = [b for b in screen.inline if b.message_id not in touched]

    def buttons(self) -> dict[int, PressableButton]:
        pressable: dict[int, PressableButton] = {}
        number = 1
        for row in _keyboard_rows(self.screen.reply_keyboard):
            for button in row:
                label = str(button.get("text", ""))
                pressable[number] = PressableButton(number, label, keyboard_button=button)
                number += 1
        for inline in self.screen.inline:
            pressable[inline.number] = inline
        return pressable

    # -- drawing
    def _draw(self, shown: Shown) -> None:
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
        elif shown.kind == "deleted":
            self.output.print(
                Padding(self.chrome("console.deleted", style="dim italic"), (0, 0, 0, 2))
            )
        elif shown.text is not None:
            self.output.print(Padding(shown.text, (0, 0, 0, 2)))

    def _message_panel(self, shown: Shown) -> Panel:
        message = shown.message
        assert message is not None
        title = Text(f"🌱 {BOT_NAME}", style="bold green")
        if shown.edited:
            title.append(f" ({self.t('console.edited')})", style="dim italic")
        parts: list[RenderableType] = list(self._content(message))
        rows = _inline_rows(message)
        if rows:
            parts.append(Text())
            parts.append(self._inline_grid(rows, shown.numbers))
        return Panel(
            Group(*parts),
            title=title,
            title_align="left",
            border_style="green",
            expand=False,
            padding=(0, 1),
        )

    def _content(self, message: JsonDict) -> Iterator[RenderableType]:
        photo = message.get("photo")
        if isinstance(photo, list) and photo:
            yield self._attachment("🖼", self.t("console.photo"), str(photo[-1]["file_id"]), "")
        document = message.get("document")
        if isinstance(document, dict):
            name = str(document.get("file_name") or "")
            yield self._attachment("📄", self.t("console.document"), str(document["file_id"]), name)
        venue = message.get("venue")
        location = message.get("location")
        if isinstance(venue, dict):
            yield Text(str(venue.get("title", "")), style="bold")
            if venue.get("address"):
                yield Text(str(venue["address"]))
            place = venue.get("location") or {}
            yield _map_line(float(place["latitude"]), float(place["longitude"]))
        elif isinstance(location, dict):
            latitude, longitude = float(location["latitude"]), float(location["longitude"])
            yield Text(f"📍 {latitude:.5f}, {longitude:.5f}")
            yield _map_line(latitude, longitude)
        for key, entities_key in (("text", "entities"), ("caption", "caption_entities")):
            value = message.get(key)
            if isinstance(value, str) and value:
                spans = spans_from_entities(value, message.get(entities_key) or [])
                yield to_rich_text(value, spans)

    def _attachment(self, icon: str, label: str, file_id: str, name: str) -> Text:
        line = Text(f"{icon} {label} ", style="bold")
        saved = self._save(file_id, name)
        if saved is not None:
            line.append(self.t("console.file_saved", path=str(saved)), style="not bold")
            line.append(f" ({_human_size(saved.stat().st_size)})", style="dim not bold")
        else:
            line.append(self.t("console.file_remote", ref=file_id), style="dim not bold")
        return line

    def _save(self, file_id: str, name: str) -> Path | None:
        """The file behind `file_id` in files_dir (written the first time it is shown)."""
        content = self.file_content(file_id)
        if content is None:
            return None
        path = self.files_dir / f"{file_id}{_suffix(content, name)}"
        if not path.is_file():
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return path

    def _inline_grid(
        self, rows: list[list[JsonDict]], numbers: dict[tuple[int, int], int]
    ) -> RenderableType:
        lines = []
        for r, row in enumerate(rows):
            line = Text()
            for c, button in enumerate(row):
                if c:
                    line.append("   ")
                line.append_text(self._inline_button(button, numbers.get((r, c))))
            lines.append(line)
        return Group(*lines)

    def _inline_button(self, button: JsonDict, number: int | None) -> Text:
        label = str(button.get("text", ""))
        if button.get("callback_data") is not None:
            if number is None:  # an older version of the message
                return Text.assemble(("[·] ", "dim"), (label, "dim"))
            return Text.assemble((f"[{number}]", "bold cyan"), " ", label)
        if button.get("url"):
            return Text.assemble(("🔗 ", ""), label, (f" ({button['url']})", "dim"))
        copy = button.get("copy_text")
        if isinstance(copy, dict):
            return Text.assemble(("📋 ", ""), label, (f" ({copy.get('text', '')})", "dim"))
        unavailable = self.t("console.buttons.unavailable")
        return Text.assemble(("[–] ", "dim"), label, (f" ({unavailable})", "dim"))

    def _draw_keyboard(self, keyboard: JsonDict | None, *, removed_note: bool) -> None:
        if keyboard is None:
            if removed_note:
                self.output.print(
                    Padding(self.chrome("console.keyboard_removed", style="dim italic"), (0, 2))
                )
            return
        rows = _keyboard_rows(keyboard)
        grid = Table.grid(padding=(0, 3))
        for _ in range(max((len(row) for row in rows), default=0)):
            grid.add_column()
        number = 1
        for row in rows:
            cells: list[RenderableType] = []
            for button in row:
                label = str(button.get("text", ""))
                cells.append(Text.assemble((f"[{number}]", "bold magenta"), " ", label))
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
        if self.screen.reply_keyboard is not None:
            self._draw_keyboard(self.screen.reply_keyboard, removed_note=False)
        for button in self.screen.inline:
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

    def help(self, commands: Sequence[JsonDict], who: Text) -> None:
        parts: list[RenderableType] = [
            who,
            Text(),
            self.chrome("console.help.text", folder=f"{self.files_dir}/"),
        ]
        if commands:
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bright_blue")
            table.add_column()
            for command in commands:
                table.add_row(f"/{command.get('command', '')}", str(command.get("description", "")))
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


def _suffix(content: bytes, name: str) -> str:
    """`-name.ext` for a document, `.png`/`.jpg`… for an image, nothing otherwise."""
    if name:
        cleaned = re.sub(r"[^\w.-]+", "_", Path(name).name).strip("._")[:80]
        return f"-{cleaned}" if cleaned else ""
    if image_size(content) == (0, 0):
        return ""
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        kind = (image.format or "").lower()
    return {"jpeg": ".jpg"}.get(kind, f".{kind}" if kind else "")
