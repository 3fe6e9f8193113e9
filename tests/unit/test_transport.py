"""The Bot API session: JSON bodies, multipart only for uploads, aiogram's errors kept."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import GetUpdates, SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import SecretStr

from bot.app.wiring import create_bot
from bot.core.settings import Settings
from bot.serving.transport import JsonAiohttpSession
from bot.standin import BotApiStandIn, TgUser, TooManyRequests, buttons

ALICE = TgUser(id=6001, first_name="Alice", language_code="fr")
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Oui <3", callback_data="yes")]]
)


@pytest.fixture
async def bot(tg: BotApiStandIn, settings: Settings) -> AsyncIterator[Bot]:
    configured = settings.model_copy(
        update={"telegram_api_base": tg.base_url, "bot_token": SecretStr(tg.token)}
    )
    bot = create_bot(configured)
    assert isinstance(bot.session, JsonAiohttpSession)
    yield bot
    await bot.session.close()


def test_a_call_is_one_json_object_with_defaults_resolved(bot: Bot) -> None:
    session = bot.session
    assert isinstance(session, JsonAiohttpSession)
    method = SendMessage(
        chat_id=42, text="Salut", reply_markup=KEYBOARD, disable_notification=False
    )
    body = session.json_body(bot, method)
    assert body is not None
    assert json.loads(body) == {
        "chat_id": 42,
        "text": "Salut",
        # The bot's defaults (create_bot), as aiogram's form would send them.
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "disable_web_page_preview": True,
        # Nested objects stay objects, not JSON text inside JSON.
        "reply_markup": {"inline_keyboard": [[{"text": "Oui <3", "callback_data": "yes"}]]},
        # disable_notification=False is left out, as aiogram's form leaves it out.
    }
    # An empty list means something (getUpdates: every kind but a few): it is sent.
    polled = session.json_body(bot, GetUpdates(offset=0, allowed_updates=[]))
    assert polled is not None and json.loads(polled) == {"allowed_updates": []}


def test_an_upload_goes_as_multipart(bot: Bot) -> None:
    session = bot.session
    assert isinstance(session, JsonAiohttpSession)
    photo = SendPhoto(chat_id=42, photo=BufferedInputFile(b"\x89PNG", filename="a.png"))
    assert session.json_body(bot, photo) is None


async def test_calls_reach_the_server_and_results_come_back(tg: BotApiStandIn, bot: Bot) -> None:
    tg.push_text(ALICE, "/start")  # the chat exists for the server
    sent = await bot.send_message(ALICE.id, "Bonjour <b>Alice</b>", reply_markup=KEYBOARD)
    assert sent.chat.id == ALICE.id and sent.text == "Bonjour Alice"
    (call,) = [c for c in tg.calls if c.method == "sendMessage"]
    assert call.params["parse_mode"] == "HTML"
    assert buttons(call) == [[("Oui <3", "yes")]]
    photo = await bot.send_photo(
        ALICE.id, BufferedInputFile(_tiny_png(), filename="p.png"), caption="Une image"
    )
    assert photo.photo and photo.caption == "Une image"


async def test_refusals_raise_aiogram_errors(tg: BotApiStandIn, bot: Bot) -> None:
    tg.push_text(ALICE, "/start")
    tg.inject(TooManyRequests(retry_after=3), method="sendMessage")
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(ALICE.id, "trop vite")
    assert retry.value.retry_after == 3
    with pytest.raises(TelegramBadRequest):
        await bot.edit_message_text("rien", chat_id=ALICE.id, message_id=999_999)


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (40, 160, 80)).save(buffer, format="PNG")
    return buffer.getvalue()
