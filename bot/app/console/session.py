"""`greenhood console`: the whole bot — inbox, middlewares, handlers, sender, scheduler —
running in this process against the Bot API stand-in (bot.standin), and a person (or
several) chatting with it in the terminal.

What the person types becomes updates pushed into the stand-in, as Telegram would deliver
them; the bot polls them like in production. Everything the stand-in records for the chat
on screen is drawn as it arrives, including what the bot sends on its own through the
outbox (notices, broadcasts, nudges). After each line the console waits until the bot is
done with it — the update handled and committed, and everything it queued sent — so what
a line caused is on screen (or waiting in another chat) before the next prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aiogram import Router
from pydantic import SecretStr
from rich.console import Console
from rich.text import Text
from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import make_url

from bot.app.console.feed import Feed
from bot.app.console.lines import Meta, Place, Press, Say, coordinates, duration, parse_line
from bot.app.console.lines import photo_argument as split_photo_argument
from bot.app.console.people import FIRST_PERSON_ID, People
from bot.app.console.terminal import ReadLine, StdinReader, quiet_logs
from bot.app.console.view import WAITING_NAMES_SHOWN, ConsoleView
from bot.core.clock import OffsetClock
from bot.core.settings import Settings
from bot.services.geo import geocoding
from bot.standin import TEXT_LIMIT, BotApiStandIn, TgChat, TgUser
from bot.ui.i18n import Translator, create_translator
from models import InboxUpdate, OutboxMessage, OutboxStatus
from models import User as UserRow

if TYPE_CHECKING:
    from bot.app.process import Process
    from bot.serving.runtime import Runtime

logger = logging.getLogger(__name__)

CONSOLE_TOKEN = "1000000000:offline-console-token"
BOT_USERNAME = "greenhood_console_bot"
# How long the console waits for the bot to be done with a line before prompting anyway
# (what comes later is drawn when it comes).
SETTLE_SECONDS = 30.0
START_SECONDS = 30.0
# How long to wait for the worker lease (held by another console on the same database,
# this one still chats, but sends nothing the bot starts on its own).
LEAD_SECONDS = 10.0


class TerminalChat:
    """One console session: who is typing, in which chat, and the bot's answers."""

    def __init__(
        self,
        *,
        server: BotApiStandIn,
        process: Process,
        view: ConsoleView,
        people: People,
        person: TgUser,
        clock: OffsetClock,
        language_code: str,
    ) -> None:
        self.server = server
        self.process = process
        self.view = view
        self.people = people
        self.person = person
        self.group: TgChat | None = None
        self.clock = clock
        self.language_code = language_code
        self.feed = Feed(server, view)
        self._busy = 0

    # ------------------------------------------------------------------ where we are

    @property
    def chat_id(self) -> int:
        return self.group.id if self.group is not None else self.person.id

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.process.dispatcher["runtime"]
        return runtime

    def prompt(self) -> str:
        if self.group is not None:
            return self.view.t(
                "console.prompt_group", name=self.person.first_name, group=self.group.title
            )
        if self.person.id == FIRST_PERSON_ID:
            return self.view.t("console.prompt")
        return self.view.t("console.prompt_as", name=self.person.first_name)

    # ------------------------------------------------------------------ running

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """The bot polling the stand-in, and a watcher drawing what arrives between lines."""
        async with self.process.sessionmaker() as session:
            # Update ids go on from the previous session's (the inbox drops ids it has).
            seen = await session.scalar(select(func.max(InboxUpdate.update_id)))
        self.server.continue_updates_after(seen or 0)
        since = len(self.server.calls)
        poller = asyncio.create_task(self.process.poll(handle_signals=False), name="console-bot")
        watcher: asyncio.Task[None] | None = None
        try:
            await self.server.wait_for("getUpdates", since=since, timeout=START_SECONDS)
            await asyncio.wait_for(self.runtime.ready.wait(), START_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.background.leading.wait(), LEAD_SECONDS)
            self.feed.skip()
            watcher = asyncio.create_task(self._watch(), name="console-watcher")
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if "runtime" in self.process.dispatcher.workflow_data:
                self.runtime.stop()
            await asyncio.wait_for(poller, SETTLE_SECONDS)

    async def _watch(self) -> None:
        """Draw what arrives while the person is reading or typing."""
        while True:
            await self.server.next_change(1.0)
            if not self._busy:
                await self.draw_arrivals()

    async def draw_arrivals(self) -> None:
        """Everything the stand-in recorded since last time, in the chats it is for."""
        self.view.begin_batch()
        try:
            self.feed.pump()
        finally:
            self.view.end_batch()
        waiting = self.view.take_new_waiting()
        if waiting:
            names = [await self._name_of(chat_id) for chat_id in waiting[:WAITING_NAMES_SHOWN]]
            shown = ", ".join(names) + (", …" if len(waiting) > WAITING_NAMES_SHOWN else "")
            self.view.note(self.view.chrome("console.waiting", style="dim", names=shown))

    async def _name_of(self, chat_id: int) -> str:
        known = self.people.name_of(chat_id)
        if known is not None:
            return known
        if chat_id > 0:
            async with self.process.sessionmaker() as session:
                row = await session.get(UserRow, chat_id)
            if row is not None and row.first_name:
                return row.first_name
        return str(chat_id)

    @contextlib.asynccontextmanager
    async def exchange(self) -> AsyncIterator[None]:
        """Around what a line does: the watcher holds off, then everything it caused is
        drawn as one batch (buttons numbered together)."""
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
        await self.draw_arrivals()

    async def settle(self, update_id: int | None) -> None:
        """Wait until the bot is done with `update_id` (stored, handled, committed) and the
        messages it queued are sent; gives up after SETTLE_SECONDS."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        try:
            if update_id is not None:
                await self.server.wait_confirmed(update_id, timeout=SETTLE_SECONDS)
            await asyncio.wait_for(self.runtime.processor.idle(), deadline - loop.time())
            while await self._outbox_due():
                if loop.time() >= deadline:
                    raise TimeoutError
                self.process.background.sender.wake()
                await self.server.next_change(0.05)
        except (TimeoutError, AssertionError):
            logger.warning("the bot is still busy after %.0fs; going on", SETTLE_SECONDS)
            self.view.note(self.view.chrome("console.slow", style="dim"))

    async def _outbox_due(self) -> bool:
        """Whether a message the bot queued is due now or being sent."""
        now = self.clock.now()
        async with self.process.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    or_(
                        OutboxMessage.status == OutboxStatus.SENDING,
                        and_(
                            OutboxMessage.status == OutboxStatus.PENDING,
                            OutboxMessage.next_attempt_at <= now,
                        ),
                    )
                )
            )
        return bool(count) and self.process.background.leading.is_set()

    # ------------------------------------------------------------------ reading

    async def handle(self, line: str) -> bool:
        """Act on one line; False when the person wants to leave."""
        parsed = parse_line(line)
        try:
            if isinstance(parsed, Meta):
                return await self.meta(parsed)
            if isinstance(parsed, Press):
                await self.press(parsed.number)
            elif isinstance(parsed, Place):
                await self.send_place(parsed.query)
            elif isinstance(parsed, Say):
                await self.send_text(parsed.text)
        except Exception as error:
            logger.exception("the console could not handle %r", line)
            self.view.note(self.view.chrome("console.error", style="red", error=error))
        return True

    async def meta(self, meta: Meta) -> bool:
        view = self.view
        if meta.name == "quit":
            return False
        if meta.name == "help":
            self.help()
        elif meta.name == "buttons":
            view.show_buttons()
        elif meta.name == "as":
            await self.become(meta.argument)
        elif meta.name == "group":
            await self.open_group(meta.argument)
        elif meta.name == "private":
            await self.go_private()
        elif meta.name == "photo":
            await self.send_photo(meta.argument)
        elif meta.name == "time":
            await self.jump(meta.argument)
        else:
            view.note(view.chrome("console.unknown_meta", style="yellow", command=meta.word))
        return True

    def help(self) -> None:
        chat = self.group.to_json() if self.group is not None else self.person.private_chat()
        commands = self.server.commands_shown(chat, self.view.locale)
        self.view.help(commands, self._who())

    def _who(self) -> Text:
        who = self.view.chrome(
            "console.you", name=self.person.first_name, id=self.person.id, style="bold"
        )
        if self.group is not None:
            who.append("\n")
            who.append_text(self.view.chrome("console.you_in_group", group=self.group.title))
        return who

    async def press(self, number: int) -> None:
        view = self.view
        button = view.buttons().get(number)
        if button is None:
            view.note(view.chrome("console.no_such_button", style="yellow", number=number))
            return
        view.echo_press(button)
        if button.callback_data is not None and button.message_id is not None:
            async with self.exchange():
                self.server.push_callback(
                    self.person, button.callback_data, button.message_id, self.group
                )
                # A callback query is no message: wait on the poller confirming it.
                await self.settle(self.server.last_update_id)
            return
        keyboard_button = button.keyboard_button or {}
        if keyboard_button.get("request_location"):
            view.note(view.chrome("console.location_button", style="yellow"))
        elif any(
            keyboard_button.get(key)
            for key in ("request_contact", "request_poll", "request_users", "request_chat")
        ) or keyboard_button.get("web_app"):
            view.note(Text(view.t("console.buttons.unavailable"), style="yellow"))
        else:
            await self.send_text(button.label)

    async def send_text(self, text: str) -> None:
        if not text.strip():
            return
        async with self.exchange():
            # Telegram clients split what is too long for one message.
            last = None
            for start in range(0, len(text), TEXT_LIMIT):
                last = self.server.push_text(
                    self.person, text[start : start + TEXT_LIMIT], self.group
                )
            await self.settle(last)
        await self.follow_language()

    async def send_place(self, query: str) -> None:
        view = self.view
        if not query:
            view.note(view.chrome("console.location_usage", style="yellow"))
            return
        found = coordinates(query)
        if found is False:
            view.note(view.chrome("console.invalid_coordinates", style="yellow"))
            return
        if isinstance(found, tuple):
            latitude, longitude = found
            sent = view.t("console.location_sent", lat=latitude, lon=longitude)
            view.note(Text("📍 " + sent, style="dim"))
            await self.send_location(latitude, longitude)
            return
        with view.output.status(view.t("console.searching"), spinner="dots"):
            place = await asyncio.to_thread(geocoding.lookup_place, query)
        if place is None:
            view.note(view.chrome("console.place_not_found", style="yellow", query=query[:100]))
            return
        text = view.t(
            "console.place_found",
            name=place.name,
            country=place.country_code,
            lat=f"{place.latitude:.5f}",
            lon=f"{place.longitude:.5f}",
        )
        view.note(Text("📍 " + text, style="dim"))
        await self.send_location(place.latitude, place.longitude)

    async def send_location(self, latitude: float, longitude: float) -> None:
        async with self.exchange():
            update_id = self.server.push_location(self.person, latitude, longitude, chat=self.group)
            await self.settle(update_id)

    async def send_photo(self, argument: str) -> None:
        view = self.view
        path, caption = split_photo_argument(argument)
        if not path:
            view.note(view.chrome("console.photo_usage", style="yellow"))
            return
        try:
            content = await asyncio.to_thread(_read_file, path)
        except OSError as error:
            reason = error.strerror or str(error)
            view.note(
                view.chrome("console.photo_unreadable", style="yellow", path=path, error=reason)
            )
            return
        async with self.exchange():
            update_id = self.server.push_photo(self.person, content, caption or None, self.group)
            await self.settle(update_id)

    # ------------------------------------------------------------------ people and chats

    async def become(self, name: str) -> None:
        view = self.view
        if not name.strip():
            view.note(self._who())
            return
        await self.draw_arrivals()
        found = await self.people.person(name)
        assert isinstance(found.chat, TgUser)
        self.person, self.group = found.chat, None
        await self.follow_language()
        key = "console.as_new" if found.created else "console.as"
        view.note(view.chrome(key, style="bold", name=self.person.first_name, id=self.person.id))
        view.switch(self.person.id)  # what waited in their chat comes after

    async def open_group(self, title: str) -> None:
        view = self.view
        if not title.strip():
            view.note(view.chrome("console.group_usage", style="yellow"))
            return
        await self.draw_arrivals()
        found = await self.people.group(title)
        assert isinstance(found.chat, TgChat)
        self.group = found.chat
        if found.created:
            self.server.set_chat_member(self.group.id, self.person.id, "creator")
        key = "console.group_new" if found.created else "console.group"
        view.note(
            view.chrome(key, style="bold", group=self.group.title, name=self.person.first_name)
        )
        view.switch(self.group.id)

    async def go_private(self) -> None:
        await self.draw_arrivals()
        self.group = None
        self.view.note(
            self.view.chrome("console.private", style="bold", name=self.person.first_name)
        )
        self.view.switch(self.person.id)

    async def follow_language(self) -> None:
        """The console's own texts follow the language the person picked in the bot."""
        try:
            async with self.process.sessionmaker() as db:
                row = await db.get(UserRow, self.person.id)
        except Exception:
            logger.debug("could not read the person's language", exc_info=True)
            return
        chosen = row.language if row is not None else None
        self.view.locale = self.view.translator.resolve_locale(chosen, self.language_code)

    # ------------------------------------------------------------------ time

    async def jump(self, argument: str) -> None:
        view = self.view
        if not argument.strip():
            view.note(view.chrome("console.time_now", when=self._now_text()))
            return
        delta = duration(argument)
        if delta is None:
            view.note(view.chrome("console.time_usage", style="yellow"))
            return
        background = self.process.background
        if not background.leading.is_set():
            view.note(view.chrome("console.time_no_worker", style="yellow"))
            return
        async with self.exchange():
            self.clock.advance(delta)
            view.note(
                view.chrome(
                    "console.time_jumped",
                    style="bold",
                    jump=_jump_text(delta),
                    when=self._now_text(),
                )
            )
            await background.run_periodic_jobs()
            await self.settle(None)

    def _now_text(self) -> str:
        local = self.clock.now().astimezone(self.process.settings.tz)
        return local.strftime("%Y-%m-%d %H:%M")


def _read_file(path: str) -> bytes:
    return Path(path).expanduser().read_bytes()


def _jump_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "+" + "".join(parts)


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
    extra_routers: Sequence[Router] = (),
    standin: BotApiStandIn | None = None,
) -> None:
    """Chat with the real bot in this terminal until :quit, Ctrl-D or Ctrl-C.

    `extra_routers` (tests) go before the bot's fallback; `standin` (tests): a started
    stand-in to use, so that the test can look at what it recorded."""
    output = output or Console()
    translator = create_translator(settings.locales_dir, settings.default_language)
    language_code = language or settings.default_language
    interactive = read_line is None
    reader = StdinReader(styled=output.is_terminal) if read_line is None else None
    read = reader or read_line
    assert read is not None
    locale = translator.resolve_locale(language_code)
    person = TgUser(FIRST_PERSON_ID, _person_name(translator, locale), language_code)

    with quiet_logs():
        async with contextlib.AsyncExitStack() as stack:
            with output.status(translator.t("console.starting", locale), spinner="dots"):
                # Imported here, under quiet_logs: Alembic logs its plugins as it loads.
                from bot.app.process import open_process

                server = standin
                if server is None:
                    server = await stack.enter_async_context(
                        BotApiStandIn(CONSOLE_TOKEN, BOT_USERNAME)
                    )
                live = settings.model_copy(
                    update={
                        "telegram_api_base": server.base_url,
                        "bot_token": SecretStr(server.token),
                    }
                )
                clock = OffsetClock()
                process = await stack.enter_async_context(
                    open_process(
                        live,
                        clock=clock,
                        run_jobs=True,
                        seed_demo=True,
                        extra_routers=extra_routers,
                    )
                )
                view = ConsoleView(
                    output,
                    process.translator,
                    locale,
                    file_content=server.file_content,
                    chat_id=person.id,
                )
                chat = TerminalChat(
                    server=server,
                    process=process,
                    view=view,
                    people=People(person, process.sessionmaker, language_code),
                    person=person,
                    clock=clock,
                    language_code=language_code,
                )
                await stack.enter_async_context(chat.serving())
                await chat.follow_language()  # someone back from an earlier chat
            database = make_url(settings.database_url).render_as_string(hide_password=True)
            view.banner(database)
            if interactive:
                # The gazetteer takes half a second to load: do it while the banner is read.
                threading.Thread(target=geocoding.warm_up, name="gazetteer", daemon=True).start()
            await _loop(chat, read, reader)
            output.print(Text(view.t("console.goodbye"), style="green"))


async def _loop(chat: TerminalChat, read: ReadLine, reader: StdinReader | None) -> None:
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
            line = await read(chat.prompt())
            if line is None:
                chat.view.output.print()
                break
            if not await chat.handle(line):
                break
            chat.view.output.print()  # air between one exchange and the next
    except asyncio.CancelledError:
        if not stopping:
            raise
    finally:
        if handler_installed:
            loop.remove_signal_handler(signal.SIGINT)
