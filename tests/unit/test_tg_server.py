"""The test Bot API server, driven by a real aiogram Bot (and Dispatcher) over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiohttp import web
from PIL import Image

from bot.standin import (
    BotApiStandIn as BotApiStandIn,
)
from bot.standin import (
    DropConnection,
    EntityParseError,
    ServerError,
    Stall,
    TgChat,
    TgUser,
    TooManyRequests,
    buttons,
    parse_html,
    plain_text,
    render_text,
    reply_keyboard,
    validate_reply_markup,
)

ALICE = TgUser(id=1001, first_name="Alice")
BOB = TgUser(id=1002, first_name="Bob", language_code="en", username="bob")


class FastSession(AiohttpSession):
    """AiohttpSession.close() sleeps 250 ms for TLS; nothing to wait for over plain HTTP."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(server: BotApiStandIn, *, timeout: float = 5.0) -> Bot:
    session = FastSession(api=TelegramAPIServer.from_base(server.base_url), timeout=timeout)
    return Bot(server.token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture
async def server() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as running:
        yield running


@pytest.fixture
async def bot(server: BotApiStandIn) -> AsyncIterator[Bot]:
    bot = make_bot(server)
    yield bot
    await bot.session.close()


def echo_router() -> Router:
    router = Router()

    @router.message(Command("start"))
    async def start(message: Message) -> None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="🌱 Next", callback_data="next")],
                [InlineKeyboardButton(text="Site", url="https://example.org")],
            ]
        )
        await message.answer("<b>Welcome</b> &amp; hello", reply_markup=markup)

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    @router.message(F.location)
    async def location(message: Message) -> None:
        assert message.location is not None
        await message.answer(f"at {message.location.latitude:.2f}")

    @router.callback_query(F.data == "next")
    async def next_page(query: CallbackQuery) -> None:
        await query.answer("ok")
        assert isinstance(query.message, Message)
        await query.message.edit_text("<i>Page 2</i>")

    return router


@contextlib.asynccontextmanager
async def polling(server: BotApiStandIn, bot: Bot) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher()
    dispatcher.include_router(echo_router())
    since = server.mark()
    task = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_signals=False, polling_timeout=1, close_bot_session=False
        )
    )
    try:
        await server.wait_for("getUpdates", since=since)
        yield dispatcher
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=5)


def png(width: int = 4, height: int = 3) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 160, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------ pure validation


def test_parse_html_accepts_telegram_markup() -> None:
    text, entities = parse_html(
        '<b>bold</b> <a href="https://e.org/?a=1&amp;b=2">link</a> 🌱<i>é</i> &lt;&#65;&#x42;&gt;'
    )
    assert text == "bold link 🌱é <AB>"
    assert entities == [
        {"offset": 0, "length": 4, "type": "bold"},
        {"offset": 5, "length": 4, "type": "text_link", "url": "https://e.org/?a=1&b=2"},
        {"offset": 12, "length": 1, "type": "italic"},  # 🌱 is two UTF-16 units
    ]
    _, entities = parse_html(
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>'
        '<blockquote expandable>q</blockquote><pre><code class="language-py">x</code></pre>'
        "<u>u</u><s>s</s><code>c</code>"
    )
    kinds = [entity["type"] for entity in entities]
    assert kinds == [
        "spoiler",
        "spoiler",
        "expandable_blockquote",
        "pre",
        "underline",
        "strikethrough",
        "code",
    ]
    assert entities[3]["language"] == "py"


@pytest.mark.parametrize(
    ("markup", "fragment"),
    [
        ("<b>unclosed", 'end tag corresponding to start tag "b"'),
        ("a < b", "Unclosed start tag"),
        ("AT&T", "Character entity expected"),
        ("<script>alert(1)</script>", 'Unsupported start tag "script"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ("<span>x</span>", "tg-spoiler"),
        ("&nbsp;", "Character entity expected"),
    ],
)
def test_parse_html_rejects_what_telegram_rejects(markup: str, fragment: str) -> None:
    with pytest.raises(EntityParseError, match=fragment):
        parse_html(markup)


def test_render_text_limits() -> None:
    assert render_text("x" * 4096, None, None, caption=False) == ("x" * 4096, [])
    with pytest.raises(Exception, match="message is too long"):
        render_text("x" * 4097, None, None, caption=False)
    with pytest.raises(Exception, match="message text is empty"):
        render_text("<b> </b>", "HTML", None, caption=False)
    with pytest.raises(Exception, match="caption is too long"):
        render_text("x" * 1025, None, None, caption=True)
    with pytest.raises(Exception, match="can't parse entities"):
        render_text("AT&T", "html", None, caption=False)
    assert render_text("AT&T", None, None, caption=False) == ("AT&T", [])


def test_validate_reply_markup() -> None:
    validate_reply_markup({"inline_keyboard": [[{"text": "a", "callback_data": "x" * 64}]]})
    with pytest.raises(Exception, match="BUTTON_DATA_INVALID"):
        validate_reply_markup({"inline_keyboard": [[{"text": "a", "callback_data": "é" * 33}]]})
    with pytest.raises(Exception, match="Text buttons are unallowed"):
        validate_reply_markup({"inline_keyboard": [[{"text": "a"}]]})
    validate_reply_markup({"keyboard": [[{"text": "here", "request_location": True}]]})
    validate_reply_markup({"remove_keyboard": True})


# ------------------------------------------------------------------ a real bot over HTTP


async def test_get_me_and_wrong_token(server: BotApiStandIn, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (server.bot_id, "greenhood_test_bot", True)
    intruder = Bot(
        "999:WRONG", session=FastSession(api=TelegramAPIServer.from_base(server.base_url))
    )
    with pytest.raises(TelegramUnauthorizedError):
        await intruder.get_me()
    await intruder.session.close()
    assert server.stats["getMe"] == 1 and server.stats["401"] == 1


async def test_pushed_text_reaches_handler_and_reply_is_recorded(
    server: BotApiStandIn, bot: Bot
) -> None:
    async with polling(server, bot):
        [reply] = await server.reply_to(ALICE, "/start")
        assert reply.method == "sendMessage" and reply.chat_id == ALICE.id
        assert reply.text == "Welcome & hello"
        assert buttons(reply) == [[("🌱 Next", "next")], [("Site", "https://example.org")]]
        assert reply.result["from"]["id"] == server.bot_id
        assert reply.result["entities"] == [{"offset": 0, "length": 7, "type": "bold"}]

        [edit] = await server.click(ALICE, reply, "Next")
        assert edit.method == "editMessageText" and plain_text(edit) == "Page 2"
        answer = server.callback_answer(str(edit_query_id(server)))
        assert answer is not None and answer.params["text"] == "ok"
        [current] = server.messages_in(ALICE.id)
        assert current["text"] == "Page 2" and "reply_markup" not in current

        group = TgChat(id=-100500)
        [echo] = await server.reply_to(BOB, "hi all", chat=group)
        assert echo.text == "echo: hi all" and echo.result["chat"]["type"] == "supergroup"

        server.push_location(ALICE, 48.8566, 2.3522)
        [sent] = await server.wait_for("sendMessage", chat_id=ALICE.id)
        assert sent.text == "at 48.86"
        await server.wait_idle(quiet=0.1)


def edit_query_id(server: BotApiStandIn) -> str:
    [answer] = [call for call in server.calls if call.method == "answerCallbackQuery"]
    return str(answer.params["callback_query_id"])


async def test_long_poll_returns_as_soon_as_an_update_is_pushed(
    server: BotApiStandIn, bot: Bot
) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=0) == []
    assert time.monotonic() - started < 0.5

    async def push_soon() -> None:
        await server.wait_for("getUpdates", since=server.mark())
        server.push_text(ALICE, "ping")

    pusher = asyncio.create_task(push_soon())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=20)
    await pusher
    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates if u.message] == ["ping"]


async def test_offset_confirms_updates_nothing_delivered_twice(
    server: BotApiStandIn, bot: Bot
) -> None:
    first = server.push_text(ALICE, "one")
    second = server.push_text(ALICE, "two")
    assert second == first + 1
    updates = await bot.get_updates(limit=1)
    assert [u.update_id for u in updates] == [first]
    updates = await bot.get_updates()  # unconfirmed updates are delivered again
    assert [u.update_id for u in updates] == [first, second]
    updates = await bot.get_updates(offset=second)
    assert [u.update_id for u in updates] == [second]
    assert await bot.get_updates(offset=second + 1) == []
    assert server.pending_updates == []


async def test_polling_bot_sees_each_update_once(server: BotApiStandIn, bot: Bot) -> None:
    async with polling(server, bot):
        for word in ("a", "b", "c"):
            server.push_text(ALICE, word)
        replies = await server.wait_for("sendMessage", chat_id=ALICE.id, count=3)
        assert sorted(call.text for call in replies) == ["echo: a", "echo: b", "echo: c"]
        await server.wait_idle(quiet=0.2)
    assert len([c for c in server.calls if c.method == "sendMessage"]) == 3
    # Long polls (even the one left open when polling stopped) count as answered 200.
    assert all(c.status == 200 and c.error is None for c in server.calls)


# ------------------------------------------------------------------ Telegram-like validation


async def test_html_validation_through_the_bot(server: BotApiStandIn, bot: Bot) -> None:
    good = '<b>Hi</b> <i>there</i> <a href="https://greenhood.example">site</a> &lt;3 &#127807;'
    sent = await bot.send_message(ALICE.id, good)
    assert sent.text == "Hi there site <3 🌿"
    assert sent.html_text == (
        '<b>Hi</b> <i>there</i> <a href="https://greenhood.example">site</a> &lt;3 🌿'
    )
    for bad in ("<b>unclosed", "a < b", "AT&T", "<script>x</script>"):
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(ALICE.id, bad)
    # Without a parse mode the same text is fine.
    plain = await bot.send_message(ALICE.id, "AT&T a < b", parse_mode=None)
    assert plain.text == "AT&T a < b"
    assert server.stats["400"] == 4
    assert [m["text"] for m in server.messages_in(ALICE.id)] == [sent.text, "AT&T a < b"]


async def test_too_long_and_empty_text(server: BotApiStandIn, bot: Bot) -> None:
    await bot.send_message(ALICE.id, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ALICE.id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ALICE.id, "   ")


async def test_callback_data_over_64_bytes(server: BotApiStandIn, bot: Bot) -> None:
    def markup(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="go", callback_data=data)]]
        )

    await bot.send_message(ALICE.id, "ok", reply_markup=markup("d" * 64))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE.id, "no", reply_markup=markup("d" * 65))
    [call] = [c for c in server.calls if c.error]
    assert call.status == 400 and buttons(call) == [[("go", "d" * 65)]]


async def test_reply_keyboard_is_recorded(server: BotApiStandIn, bot: Bot) -> None:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="📍 Here", request_location=True)],
            [KeyboardButton(text="Skip")],
        ]
    )
    await bot.send_message(ALICE.id, "Where?", reply_markup=keyboard)
    [call] = await server.wait_for("sendMessage")
    assert reply_keyboard(call) == [[("📍 Here", True)], [("Skip", False)]]
    assert "reply_markup" not in call.result  # Telegram only echoes inline keyboards


async def test_send_photo_upload_and_files(server: BotApiStandIn, bot: Bot) -> None:
    message = await bot.send_photo(
        ALICE.id, BufferedInputFile(png(640, 480), "map.png"), caption="<b>Map</b>"
    )
    assert message.caption == "Map" and message.photo is not None
    assert (message.photo[-1].width, message.photo[-1].height) == (640, 480)
    [call] = await server.wait_for("sendPhoto")
    with Image.open(io.BytesIO(call.files["photo"])) as image:
        assert image.size == (640, 480)
    assert call.text == "Map"
    # Re-send by file_id, and download through getFile.
    again = await bot.send_photo(ALICE.id, message.photo[-1].file_id)
    assert again.photo is not None and again.photo[-1].file_id != message.photo[-1].file_id
    downloaded = await bot.download(message.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == call.files["photo"]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(ALICE.id, "no-such-file-id")

    document = await bot.send_document(ALICE.id, BufferedInputFile(b"a,b\n1,2\n", "export.csv"))
    assert document.document is not None and document.document.file_name == "export.csv"
    assert server.file_content(document.document.file_id) == b"a,b\n1,2\n"


async def test_pushed_photo_can_be_downloaded(server: BotApiStandIn, bot: Bot) -> None:
    server.push_photo(ALICE, png(), caption="my compost")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.photo is not None
    assert update.message.caption == "my compost"
    file = await bot.get_file(update.message.photo[-1].file_id)
    assert file.file_path is not None
    data = await bot.download_file(file.file_path)
    assert data is not None and data.read() == png()


async def test_edits_update_messages_in(server: BotApiStandIn, bot: Bot) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="x")]]
    )
    sent = await bot.send_message(ALICE.id, "draft", reply_markup=markup)
    edited = await bot.edit_message_text(
        text="<b>final</b>", chat_id=ALICE.id, message_id=sent.message_id, reply_markup=markup
    )
    assert isinstance(edited, Message) and edited.text == "final" and edited.edit_date
    [current] = server.messages_in(ALICE.id)
    assert current["text"] == "final" and current["reply_markup"] == {
        "inline_keyboard": [[{"text": "x", "callback_data": "x"}]]
    }
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="<b>final</b>", chat_id=ALICE.id, message_id=sent.message_id, reply_markup=markup
        )
    await bot.edit_message_reply_markup(chat_id=ALICE.id, message_id=sent.message_id)
    assert "reply_markup" not in server.messages_in(ALICE.id)[0]
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=ALICE.id, message_id=999)
    assert await bot.pin_chat_message(ALICE.id, sent.message_id)
    assert await bot.delete_message(ALICE.id, sent.message_id)
    assert server.messages_in(ALICE.id) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ALICE.id, sent.message_id)


# ------------------------------------------------------------------ faults


async def test_too_many_requests_becomes_retry_after(server: BotApiStandIn, bot: Bot) -> None:
    server.inject(TooManyRequests(7), method="sendMessage", times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(ALICE.id, "hi")
        assert caught.value.retry_after == 7
    await bot.send_message(ALICE.id, "hi")
    assert server.stats["429"] == 2 and server.stats["sendMessage"] == 3
    [ok] = await server.wait_for("sendMessage", since=0)
    assert ok.status == 200
    failed = await server.wait_for("sendMessage", since=0, count=3, include_errors=True)
    assert [c.status for c in failed] == [429, 429, 200]


async def test_server_error(server: BotApiStandIn, bot: Bot) -> None:
    server.inject(ServerError(502), chat_id=ALICE.id)
    await bot.send_message(BOB.id, "not affected")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(ALICE.id, "hi")
    server.inject(ServerError())
    with pytest.raises(TelegramServerError):
        await bot.get_me()
    assert server.stats["502"] == 1 and server.stats["500"] == 1


async def test_stall_beyond_request_timeout(server: BotApiStandIn) -> None:
    bot = make_bot(server, timeout=0.5)
    server.inject(Stall(1.5), method="sendMessage")
    started = time.monotonic()
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(ALICE.id, "slow")
    assert time.monotonic() - started < 1.2
    server.inject(Stall(0.1), method="sendMessage")
    await bot.send_message(ALICE.id, "a bit slow but fine")  # a short stall answers normally
    await bot.session.close()


async def test_drop_connection(server: BotApiStandIn, bot: Bot) -> None:
    server.inject(DropConnection(), method="sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ALICE.id, "lost")
    await bot.send_message(ALICE.id, "next one works")
    dropped = [c for c in server.calls if c.error == "connection dropped"]
    assert len(dropped) == 1 and server.stats["drop"] == 1


async def test_blocked_user(server: BotApiStandIn, bot: Bot) -> None:
    server.block(BOB.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(BOB.id, "hi")
    await bot.send_message(ALICE.id, "hi")
    server.unblock(BOB.id)
    await bot.send_message(BOB.id, "hi again")
    assert server.stats["403"] == 1


async def test_rate_limit(server: BotApiStandIn, bot: Bot) -> None:
    server.rate_limit(3)
    outcomes: list[int | None] = []
    for index in range(5):
        try:
            await bot.send_message(ALICE.id, f"n{index}")
            outcomes.append(None)
        except TelegramRetryAfter as error:
            outcomes.append(error.retry_after)
    assert outcomes == [None, None, None, 1, 1]
    assert await bot.get_me()  # only send* calls are limited
    server.rate_limit(None)
    await bot.send_message(ALICE.id, "unlimited")
    assert server.stats["429"] == 2


async def test_unknown_method_and_json_bodies(server: BotApiStandIn) -> None:
    from aiohttp import ClientSession

    async with ClientSession() as client:
        url = f"{server.base_url}/bot{server.token}"
        async with client.post(f"{url}/sendTelepathy", json={}) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        body = {"chat_id": ALICE.id, "text": "<i>json</i>", "parse_mode": "HTML"}
        async with client.post(f"{url}/sendMessage", json=body) as response:
            answer = await response.json()
        assert answer["ok"] and answer["result"]["text"] == "json"
        async with client.get(f"{url}/getUpdates", params={"timeout": "0"}) as response:
            assert await response.json() == {"ok": True, "result": []}


# ------------------------------------------------------------------ webhook, members, commands


async def test_webhook_delivery_with_secret(server: BotApiStandIn, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        if len(received) == 1:
            return web.Response(status=500)  # the server retries
        arrived.set()
        reply = {"method": "sendMessage", "chat_id": ALICE.id, "text": "via webhook"}
        return web.json_response(reply)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        server.push_text(ALICE, "queued before the webhook")
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t")
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        update_id = server.push_text(ALICE, "hello hook")
        [answer] = await server.wait_for("sendMessage")
        assert answer.text == "via webhook"
        await asyncio.wait_for(arrived.wait(), 5)
        await server.wait_idle(quiet=0.05)
        assert [secret for secret, _ in received] == ["s3cr3t"] * 3
        texts = [body["message"]["text"] for _, body in received]  # type: ignore[index]
        assert texts == ["queued before the webhook", "queued before the webhook", "hello hook"]
        assert server.webhook_deliveries[-1] == (update_id, 200)
        assert server.webhook_deliveries[0][1] == 500

        await bot.delete_webhook(drop_pending_updates=True)
        server.push_text(ALICE, "polled again")
        [update] = await bot.get_updates()
        assert update.message is not None and update.message.text == "polled again"
    finally:
        await runner.cleanup()


async def test_get_chat_member_and_get_chat(server: BotApiStandIn, bot: Bot) -> None:
    group = -100777
    member = await bot.get_chat_member(group, ALICE.id)
    assert member.status == "member"
    for status in ("administrator", "creator", "left", "kicked", "restricted"):
        server.set_chat_member(group, ALICE.id, status)
        assert (await bot.get_chat_member(group, ALICE.id)).status == status
    server.push_text(BOB, "hi", chat=TgChat(group, title="Makers"))
    chat = await bot.get_chat(group)
    assert (chat.id, chat.type, chat.title) == (group, "supergroup", "Makers")


async def test_commands_per_scope_and_language(server: BotApiStandIn, bot: Bot) -> None:
    from aiogram.types import BotCommandScopeAllPrivateChats

    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    french = [BotCommand(command="aide", description="Aide")]
    await bot.set_my_commands(french, scope=BotCommandScopeAllPrivateChats(), language_code="fr")
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    scoped = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="fr")
    assert [c.command for c in scoped] == ["aide"]
    assert server.commands({"type": "all_private_chats"}, "fr") == [
        {"command": "aide", "description": "Aide"}
    ]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_pushed_updates_parse_in_aiogram(server: BotApiStandIn, bot: Bot) -> None:
    sent = server.push_location(ALICE, 45.76, 4.83, live_period=600)
    server.push_edited_location(ALICE, 1, 45.77, 4.84)
    server.push_venue(BOB, 45.0, 5.0, "Repair café", "1 rue Verte")
    server.push_message(
        ALICE,
        {
            "sticker": {
                "file_id": "S1",
                "file_unique_id": "s1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
    )
    chat = {"id": 1003, "type": "private", "first_name": "Carol"}
    raw = {"message_id": 77, "date": 1, "chat": chat, "text": "raw"}
    assert server.push_raw({"update_id": 100, "message": raw}) == 100
    after = server.push_text(ALICE, "after raw")
    assert after == 101
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [sent, sent + 1, sent + 2, sent + 3, 100, 101]
    live, moved, venue, sticker, raw_update, _ = updates
    assert live.message is not None and live.message.location is not None
    assert live.message.location.live_period == 600
    assert moved.edited_message is not None and moved.edited_message.location is not None
    assert moved.edited_message.location.latitude == 45.77
    assert venue.message is not None and venue.message.venue is not None
    assert venue.message.venue.title == "Repair café" and venue.message.from_user is not None
    assert venue.message.from_user.language_code == "en"
    assert sticker.message is not None and sticker.message.sticker is not None
    assert raw_update.message is not None and raw_update.message.text == "raw"


# ------------------------------------------------------------------ waiting helpers


async def test_wait_for_times_out_listing_what_arrived(server: BotApiStandIn, bot: Bot) -> None:
    await bot.send_message(ALICE.id, "something else")
    with pytest.raises(AssertionError, match=r"1 x sendPhoto[\s\S]*something else"):
        await server.wait_for("sendPhoto", timeout=0.1, since=0)
    # The cursor: consecutive waits see consecutive calls.
    await bot.send_message(ALICE.id, "two")
    assert [c.text for c in await server.wait_for("sendMessage", since=0)] == ["something else"]
    assert [c.text for c in await server.wait_for("sendMessage")] == ["two"]
    with pytest.raises(AssertionError, match="timed out"):
        await server.wait_for("sendMessage", timeout=0.05)


async def test_wait_idle_fails_while_the_bot_keeps_talking(server: BotApiStandIn, bot: Bot) -> None:
    async def chatter() -> None:
        # Pushes touch the server in this very event loop, so even a starved machine
        # cannot open a long gap between them (HTTP calls could, and made this flaky).
        while True:
            server.push_text(ALICE, "again")
            await asyncio.sleep(0.01)

    task = asyncio.create_task(chatter())
    with pytest.raises(AssertionError, match="not idle"):
        await server.wait_idle(quiet=1.0, timeout=2.0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await server.wait_idle(quiet=0.05)


async def test_callbacks(server: BotApiStandIn, bot: Bot) -> None:
    async with polling(server, bot):
        [welcome] = await server.reply_to(ALICE, "/start")
        with pytest.raises(AssertionError, match="no button containing 'Nope'"):
            await server.click(ALICE, welcome, "Nope")
        with pytest.raises(AssertionError, match="no callback_data"):
            await server.click(ALICE, welcome, "Site")
        assert await server.click(ALICE, welcome, "Next", count=1)
        # The edit removed the keyboard: the current message has no button any more.
        with pytest.raises(AssertionError, match="no button"):
            await server.click(ALICE, welcome, "Next", count=0)
    query_id = server.push_callback(ALICE, "stale", message_id=999)
    [update] = await bot.get_updates(offset=-1)
    assert update.callback_query is not None and update.callback_query.id == query_id
    assert await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    assert server.callback_answer(query_id) is not None


async def test_allowed_updates_filter_like_telegram(server: BotApiStandIn, bot: Bot) -> None:
    server.push_callback(ALICE, "ignored")
    server.push_text(ALICE, "kept")
    updates = await bot.get_updates(allowed_updates=["message"])
    assert [u.message.text for u in updates if u.message] == ["kept"]
    assert len(updates) == 1
