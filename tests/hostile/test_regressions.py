"""Regression tests for the bugs the hostile-input suite (tests/hostile/test_input.py) found,
each through the real bot polling the test Bot API server."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from aiogram.filters.callback_data import CallbackData

from bot.core.settings import Settings
from bot.standin import BotApiStandIn, TgUser
from bot.ui.callbacks import ALL_CALLBACKS
from tests.conftest import make_settings
from tests.hostile.checks import capture_errors
from tests.support.harness import running_bot
from tests.support.texts import tr

MALLORY = TgUser(id=7001, first_name="Mallory", language_code="en")


def _forged(cls: type[CallbackData], number: int) -> str | None:
    """`cls`'s data with valid enum members and `number` in every int field (None when
    the class has no int field)."""
    parts = [cls.__prefix__]
    has_int = False
    for info in cls.model_fields.values():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            parts.append(str(next(iter(annotation)).value))
        else:
            parts.append(str(number))
            has_int = True
    return ":".join(parts) if has_int else None


async def test_callback_ids_beyond_32_bits_get_the_stale_button_answer(tmp_path: Path) -> None:
    """Forged callback data with an id past a 64-bit integer overflowed SQLite's driver
    (OverflowError), and past a 32-bit INTEGER column PostgreSQL refused the query, in the
    middle of a handler: now it does not unpack, like any forged data, and the person reads
    the stale-button answer."""
    await _forged_numbers_are_stale(make_settings(tmp_path, throttle_burst=10**6))


async def test_callback_ids_beyond_32_bits_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    settings = make_settings(tmp_path, database_url=postgres_url, throttle_burst=10**6)
    await _forged_numbers_are_stale(settings)


async def _forged_numbers_are_stale(settings: Settings) -> None:
    async with BotApiStandIn() as server, running_bot(settings, server) as app:
        await server.reply_to(MALLORY, "/start")
        with capture_errors() as errors:
            for number in (2**31, -(2**31) - 1, 2**63, 10**40):
                for cls in ALL_CALLBACKS:
                    data = _forged(cls, number)
                    if data is None or len(data.encode()) > 64:
                        continue
                    query_id = server.push_callback(MALLORY, data)
                    await app.settled()
                    answer = server.callback_answer(query_id)
                    assert answer is not None, data
                    assert answer.params.get("text") == tr.t("fallback.stale_button", "en"), data
        assert errors.describe() == []


async def test_tapping_the_shown_category_again_edits_nothing_and_fails_nothing(
    tmp_path: Path,
) -> None:
    """A second tap on the makers list's category button asked Telegram to edit the list
    into itself; the "message is not modified" refusal reached the errors handler."""
    from bot.app.demo import load_demo_makers

    settings = make_settings(tmp_path, throttle_burst=10**6)
    async with BotApiStandIn() as server, running_bot(settings, server) as app:
        async with app.sessionmaker() as session:
            await load_demo_makers(session, app.settings)
            await session.commit()
        await server.reply_to(MALLORY, "/makers")
        since = server.mark()
        server.push_location(MALLORY, 44.8378, -0.5792)
        _noted, listing = await server.wait_for(
            ("sendMessage", "sendPhoto"), chat_id=MALLORY.id, count=2, since=since
        )
        category = next(
            data
            for row in listing.params["reply_markup"]["inline_keyboard"]
            for button in row
            if (data := button.get("callback_data", "")).startswith("ml:c:")
        )
        with capture_errors() as errors:
            for _ in range(2):
                query_id = server.push_callback(MALLORY, category)
                await app.settled()
                assert server.callback_answer(query_id) is not None
        assert errors.describe() == []
        sent = [call for call in server.calls[since:] if call.method != "getUpdates"]
        assert all(call.ok for call in sent), sent


async def test_a_button_tapped_again_or_on_a_photo_never_fails(tmp_path: Path) -> None:
    """Closing the settings twice (an old client, a double tap) asked Telegram to edit the
    message into itself, and a close tapped under a photo asked it to edit a text that is
    not there: both reached the errors handler. Now the first is a no-op and the second
    answers with a new message; the bot makes no call Telegram refuses."""
    from aiogram.types import BufferedInputFile

    from tests.hostile.world import png

    settings = make_settings(tmp_path, throttle_burst=10**6)
    async with BotApiStandIn() as server, running_bot(settings, server) as app:
        (menu,) = await server.reply_to(MALLORY, "/settings")
        since = server.mark()
        with capture_errors() as errors:
            for _ in range(2):
                server.push_callback(MALLORY, "st:close", menu.result["message_id"])
                await app.settled()
            photo = await app.bot.send_photo(MALLORY.id, BufferedInputFile(png(), "p.png"))
            server.push_callback(MALLORY, "st:close", photo.message_id)
            await app.settled()
        assert errors.describe() == []
        sent = [call for call in server.calls[since:] if call.method != "getUpdates"]
        assert all(call.ok for call in sent), sent
        closed = tr.t("settings.closed", "en")
        assert [c.method for c in sent if c.text == closed] == ["editMessageText", "sendMessage"]


async def test_a_nul_character_is_dropped_not_fatal_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    """PostgreSQL refuses U+0000 in text: a first name (or a title, a search) holding one
    made every update of that person fail. It is now dropped from what is stored."""
    from sqlalchemy import select

    from models import User

    settings = make_settings(tmp_path, database_url=postgres_url, throttle_burst=10**6)
    nul = TgUser(id=7003, first_name="Mal\x00lory", language_code="en")
    async with BotApiStandIn() as server, running_bot(settings, server) as app:
        with capture_errors() as errors:
            (greeting,) = await server.reply_to(nul, "/start")
            await server.reply_to(nul, "/makers Pot\x00erie")
            await app.settled()
        assert errors.describe() == []
        assert greeting.text.startswith(tr.t("start.greeting", "en").split("{", 1)[0].strip()[:5])
        async with app.sessionmaker() as session:
            assert await session.scalar(select(User.first_name).where(User.id == nul.id)) == (
                "Mallory"
            )
