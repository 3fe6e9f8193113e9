"""The Bot API, stood in for in-process: a real aiohttp HTTP server on 127.0.0.1 (a free
port) that an unmodified aiogram bot talks to, for the tests, the benchmarks and the
terminal console (`greenhood console`).

It answers ``{base}/bot{token}/{method}`` like Telegram does (``{"ok": true, "result": ...}``
or ``{"ok": false, "error_code": ..., ...}``), validates what the bot sends the way Telegram
would (HTML markup through bot.core.telegram_html, lengths, callback data), keeps the chats
as Telegram would (messages with edits applied, files, command menus, members), records
every call, and lets its user push updates as people would.

Usage::

    async with BotApiStandIn() as server:
        settings = settings.model_copy(
            update={"telegram_api_base": server.base_url, "bot_token": SecretStr(server.token)}
        )
        ...  # the bot polls it (bot.app.process.open_process(settings) then poll())
        alice = TgUser(id=1001)
        [reply] = await server.reply_to(alice, "/start")
        assert "Welcome" in reply.text
        [edit] = await server.click(alice, reply, "Next")
        server.push_location(alice, 48.85, 2.35)
        [sent] = await server.wait_for("sendMessage", chat_id=alice.id)
        await server.wait_idle()  # the one place a quiet period is used

Waiting never sleeps for a fixed time: ``wait_for`` wakes on every recorded call. By default
it looks at the calls after a cursor which ``mark()`` sets and every ``wait_for`` advances past
what it returned, so consecutive waits see consecutive replies. Only calls that succeeded count
unless ``include_errors=True``; ``getUpdates`` counts as soon as it arrives (it is a long poll),
every other call once it has been answered.

Faults (``inject``), blocked chats (``block``), a global rate limit (``rate_limit``) and webhook
delivery (``setWebhook``) let tests exercise the bot's error handling.

Modules: server (HTTP, the record, waiting), chats (the state of chats, messages, files),
methods (the Bot API methods on that state), updates (pushing as people, getUpdates,
webhook delivery), validation (Telegram's checks), faults, calls (reading what was sent).
"""

from bot.standin.calls import (
    SEND_METHODS,
    JsonDict,
    RecordedCall,
    buttons,
    plain_text,
    reply_keyboard,
)
from bot.standin.chats import TgChat, TgUser
from bot.standin.faults import (
    DeliverThenDrop,
    DropConnection,
    Fault,
    ServerError,
    Stall,
    TooManyRequests,
)
from bot.standin.server import BotApiStandIn
from bot.standin.validation import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    ApiError,
    EntityParseError,
    parse_html,
    render_text,
    strip_html,
    validate_reply_markup,
)

__all__ = [
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "SEND_METHODS",
    "TEXT_LIMIT",
    "ApiError",
    "BotApiStandIn",
    "DeliverThenDrop",
    "DropConnection",
    "EntityParseError",
    "Fault",
    "JsonDict",
    "RecordedCall",
    "ServerError",
    "Stall",
    "TgChat",
    "TgUser",
    "TooManyRequests",
    "buttons",
    "parse_html",
    "plain_text",
    "render_text",
    "reply_keyboard",
    "strip_html",
    "validate_reply_markup",
]
