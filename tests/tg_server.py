"""A test Telegram Bot API server: a real aiohttp HTTP server an unmodified aiogram bot talks to.

The server listens on 127.0.0.1 (a free port) and answers ``{base}/bot{token}/{method}`` like
Telegram does (``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., ...}``),
validates what the bot sends the way Telegram would (HTML markup, lengths, callback data),
records every call, and lets a test push updates as users would.

Usage::

    async with FakeTelegramServer() as server:
        session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
        bot = Bot(server.token, session=session)
        ...  # start Dispatcher.start_polling(bot, handle_signals=False) in a task
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
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import html
import io
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from aiohttp import ClientError, ClientSession, ClientTimeout, web

JsonDict = dict[str, Any]

SEND_METHODS: tuple[str, ...] = (
    "sendMessage",
    "sendPhoto",
    "sendLocation",
    "sendVenue",
    "sendDocument",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "editMessageMedia",
)
"""Methods that put something in front of a user (what ``reply_to``/``click`` wait for)."""

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
INLINE_RESULTS_LIMIT = 50
INLINE_RESULT_ID_LIMIT = 64
INLINE_QUERY_LIMIT = 256
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
"""Update types delivered when the bot never asked for specific ones (as Telegram does)."""


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": status, "description": description}``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# --------------------------------------------------------------------------- HTML validation


class EntityParseError(ValueError):
    """Raised by ``parse_html`` with Telegram's wording of what is wrong."""


_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(
    r"&(?:#(?P<dec>[0-9]{1,7})|#[xX](?P<hex>[0-9a-fA-F]{1,6})|(?P<name>[a-zA-Z]+));"
)
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_RE = re.compile(
    r"\s*(?P<name>[a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s>\"']+)))?"
)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, index: int) -> tuple[str, int]:
    """Decode the HTML entity starting at ``text[index] == "&"``: (character, next index)."""
    match = _ENTITY_RE.match(text, index)
    if match is not None:
        if match["name"] is not None:
            char = _NAMED_ENTITIES.get(match["name"])
        else:
            code = int(match["dec"]) if match["dec"] is not None else int(match["hex"], 16)
            char = chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else None
        if char is not None:
            return char, match.end()
    raise EntityParseError(
        f"Character entity expected at byte offset {_byte_offset(text, index)}; escape '&' as &amp;"
    )


def _unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        if text[index] == "&":
            char, index = _decode_entity(text, index)
            out.append(char)
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def parse_html(text: str) -> tuple[str, list[JsonDict]]:
    """Parse Telegram-flavoured HTML into (plain text, message entities with UTF-16 offsets).

    Raises ``EntityParseError`` for anything Telegram rejects: unsupported tags, unclosed or
    mismatched tags, a bare ``<`` and a ``&`` that does not start a known entity.
    """
    out: list[str] = []
    utf16_pos = 0
    stack: list[tuple[str, int, JsonDict]] = []
    entities: list[JsonDict] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "&":
            decoded, index = _decode_entity(text, index)
            out.append(decoded)
            utf16_pos += _utf16_len(decoded)
            continue
        if char != "<":
            out.append(char)
            utf16_pos += _utf16_len(char)
            index += 1
            continue
        start = index
        end = text.find(">", index)
        if end == -1:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, start)}")
        inner = text[index + 1 : end]
        index = end + 1
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise EntityParseError(
                    f'Unexpected end tag "{name}" at byte offset {_byte_offset(text, start)}'
                )
            open_name, begin, extra = stack.pop()
            if name != open_name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, start)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            length = utf16_pos - begin
            if length > 0 and "type" in extra:
                entities.append({"offset": begin, "length": length, **extra})
            continue
        name_match = _TAG_NAME_RE.match(inner)
        name = name_match.group(0).lower() if name_match else inner.split(" ", 1)[0]
        if name_match is None or name not in _ENTITY_TYPES:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, start)}'
            )
        attrs = _parse_attributes(inner[name_match.end() :], name, _byte_offset(text, start))
        extra = _entity_for(name, attrs, stack, _byte_offset(text, start))
        stack.append((name, utf16_pos, extra))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(out), entities


def _parse_attributes(rest: str, tag: str, offset: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    position = 0
    rest = rest.rstrip()
    while position < len(rest):
        match = _ATTR_RE.match(rest, position)
        if match is None or match.end() == position:
            raise EntityParseError(
                f'Unexpected character in the tag "{tag}" attributes at byte offset {offset}'
            )
        raw = match["dq"] if match["dq"] is not None else match["sq"]
        if raw is None:
            raw = match["bare"] or ""
        attrs[match["name"].lower()] = _unescape(raw)
        position = match.end()
    return attrs


def _entity_for(
    name: str, attrs: dict[str, str], stack: list[tuple[str, int, JsonDict]], offset: int
) -> JsonDict:
    """The entity fields (without offset/length) a start tag opens; {} opens none."""
    kind = _ENTITY_TYPES[name]
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "a":
        url = attrs.get("href", "")
        if not url:
            return {}
        match = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if match:
            user = {"id": int(match[1]), "is_bot": False, "first_name": ""}
            return {"type": "text_mention", "user": user}
        return {"type": "text_link", "url": url}
    if name == "tg-emoji":
        emoji_id = attrs.get("emoji-id")
        if not emoji_id:
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )
        return {"type": kind, "custom_emoji_id": emoji_id}
    if name == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1][2]["language"] = language.removeprefix("language-")
            return {}
    if name == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote"}
    return {"type": kind}


def strip_html(text: str) -> str:
    """The plain text of HTML markup; lenient (never raises), for reading what was sent."""
    try:
        return parse_html(text)[0]
    except EntityParseError:
        return html.unescape(re.sub(r"<[^<>]*>", "", text))


def render_text(
    text: str | None, parse_mode: str | None, entities: list[JsonDict] | None, *, caption: bool
) -> tuple[str, list[JsonDict]]:
    """Validate a text or caption like Telegram: (plain text, entities) or raise ``ApiError``."""
    raw = text or ""
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            plain, parsed = parse_html(raw)
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from error
    else:
        plain, parsed = raw, list(entities or [])
    stripped = plain.strip()
    if not stripped and not caption:
        raise bad_request("message text is empty")
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    if len(stripped) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return plain, parsed


def validate_reply_markup(markup: Any) -> None:
    """Reject what Telegram rejects in a reply markup (raises ``ApiError``)."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        actions = (
            "callback_data",
            "url",
            "web_app",
            "login_url",
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "copy_text",
            "callback_game",
            "pay",
        )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )
                if not any(key in button for key in actions):
                    raise bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and (
                    not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
            )
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")


# --------------------------------------------------------------------------- recorded calls


@dataclass
class RecordedCall:
    """One Bot API call as the server saw it (params decoded, uploads in ``files``).

    ``status`` is the HTTP status answered (0 when the connection was dropped or the client
    went away before the answer; a getUpdates long poll is 200 from its arrival); ``result``
    is the ``result`` field answered, ``error`` the description of an error answer. ``at`` is
    ``time.monotonic()`` at arrival. ``done`` is False while the call is still being answered
    (long polls, stalls).
    """

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    status: int = 0
    result: Any = None
    error: str | None = None
    done: bool = True

    @property
    def ok(self) -> bool:
        return self.done and 200 <= self.status < 300 and self.error is None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        if value is None and isinstance(self.result, dict):
            chat = self.result.get("chat")
            value = chat.get("id") if isinstance(chat, dict) else None
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        return None

    @property
    def text(self) -> str:
        return plain_text(self)

    def __repr__(self) -> str:
        shown = self.text or self.error or ""
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"<{self.method} chat={self.chat_id} status={self.status} {shown!r}>"


def plain_text(call: RecordedCall) -> str:
    """The text (or caption) a call sent, HTML tags stripped and entities unescaped."""
    params = call.params
    if isinstance(params.get("media"), dict):  # editMessageMedia: the caption is the media's
        params = params["media"]
    raw = params.get("text")
    if raw is None:
        raw = params.get("caption")
    if raw is None:
        return ""
    raw = str(raw)
    if str(params.get("parse_mode") or "").lower() == "html":
        return strip_html(raw)
    return raw


def _markup(call: RecordedCall) -> JsonDict:
    markup = call.params.get("reply_markup")
    return markup if isinstance(markup, dict) else {}


def buttons(call: RecordedCall) -> list[list[tuple[str, str | None]]]:
    """Inline keyboard rows of a call as (text, callback_data or url)."""
    rows = _markup(call).get("inline_keyboard") or []
    return [
        [
            (str(button.get("text", "")), button.get("callback_data") or button.get("url"))
            for button in row
        ]
        for row in rows
    ]


def reply_keyboard(call: RecordedCall) -> list[list[tuple[str, bool]]]:
    """Reply keyboard rows of a call as (text, request_location)."""
    rows = _markup(call).get("keyboard") or []
    result: list[list[tuple[str, bool]]] = []
    for row in rows:
        cells: list[tuple[str, bool]] = []
        for button in row:
            if isinstance(button, str):
                cells.append((button, False))
            else:
                cells.append((str(button.get("text", "")), bool(button.get("request_location"))))
        result.append(cells)
    return result


# --------------------------------------------------------------------------- users and faults


@dataclass(frozen=True)
class TgUser:
    id: int
    first_name: str = "Alice"
    language_code: str | None = "fr"
    username: str | None = None
    last_name: str | None = None

    def to_json(self) -> JsonDict:
        data: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    def private_chat(self) -> JsonDict:
        data: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class TgChat:
    id: int
    type: str = "supergroup"
    title: str = "Group"

    def to_json(self) -> JsonDict:
        return {"id": self.id, "type": self.type, "title": self.title}


class Fault:
    """Base class of what ``FakeTelegramServer.inject`` can make a call do."""


@dataclass(frozen=True)
class TooManyRequests(Fault):
    """Answer 429 "Too Many Requests: retry after N" with ``parameters.retry_after``."""

    retry_after: int


@dataclass(frozen=True)
class ServerError(Fault):
    """Answer an HTTP 5xx error."""

    status: int = 500


@dataclass(frozen=True)
class Stall(Fault):
    """Wait ``seconds`` before handling the call normally (to trip client timeouts)."""

    seconds: float


@dataclass(frozen=True)
class DropConnection(Fault):
    """Close the connection without answering."""


@dataclass
class _Injected:
    fault: Fault
    method: str | None
    chat_id: int | None
    times: int

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method is None:
            if method == "getUpdates":
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id


class _DropConnection(Exception):
    pass


# --------------------------------------------------------------------------- the server

_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "title",
        "address",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "action",
        "file_id",
        "photo",
        "document",
        "description",
        "short_description",
        "name",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "sticker",
        "ip_address",
    }
)
_PER_CHAT_PREFIXES = ("send", "edit")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


class _Files(dict[str, bytes]):
    """Uploaded files by parameter name, with the file names the client gave."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, str] = {}


_T = TypeVar("_T")


def _copy(value: _T) -> _T:
    """A deep copy through JSON (what a client would get)."""
    copied: _T = json.loads(json.dumps(value))
    return copied


def _image_size(content: bytes) -> tuple[int, int]:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(content)) as image:
            return int(image.width), int(image.height)
    except Exception:  # noqa: BLE001 - not an image Pillow reads: Telegram would still take it
        return 0, 0


_ApiHandler = Callable[[JsonDict, dict[str, bytes]], Any]


def _decode_field(key: str, value: str) -> Any:
    """Form fields carry non-strings as JSON (aiogram dumps ints, bools, objects)."""
    if key in _STRING_FIELDS:
        return value
    if key == "chat_id":
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return value if isinstance(decoded, str) or decoded is None else decoded


def _int_param(params: JsonDict, key: str) -> int | None:
    value = params.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def _error_body(error: ApiError) -> JsonDict:
    body: JsonDict = {"ok": False, "error_code": error.status, "description": error.description}
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return body


class FakeTelegramServer:
    """A Bot API server on 127.0.0.1 for end-to-end tests (see the module docstring)."""

    def __init__(
        self, token: str = "123456:TEST-TOKEN", bot_username: str = "greenhood_test_bot"
    ) -> None:
        self._token = token
        self._bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.calls: list[RecordedCall] = []
        self.stats: collections.Counter[str] = collections.Counter()
        self.webhook_deliveries: list[tuple[int, int]] = []
        """(update_id, HTTP status or 0 on a connection error) per webhook POST attempt."""
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._updates: list[JsonDict] = []
        self._last_update_id = 0
        # Ids of the updates getUpdates returned at least once (see harness settled()).
        self.handed_out_ids: set[int] = set()
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._chats: dict[int, JsonDict] = {}
        self._messages: dict[int, dict[int, JsonDict]] = collections.defaultdict(dict)
        self._last_message_id: collections.Counter[int] = collections.Counter()
        self._files: dict[str, tuple[bytes, JsonDict]] = {}
        self._file_paths: dict[str, bytes] = {}
        self._queries: dict[str, JsonDict] = {}
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._pinned: dict[int, int] = {}
        self._webhook: JsonDict | None = None
        self._webhook_queue: asyncio.Queue[JsonDict] = asyncio.Queue()
        self._webhook_tasks: set[asyncio.Task[None]] = set()
        self.webhook_connections = 1
        """Deliveries in flight at once. Telegram opens up to the webhook's max_connections
        (40 by default) and so does not keep updates in order; 1 (one after the other)
        keeps tests that talk turn by turn deterministic; benchmarks raise it."""
        self._webhook_error: tuple[int, str] | None = None
        self._posting: set[int] = set()
        self._blocked: set[int] = set()
        self._rate: float | None = None
        self._rate_window: collections.deque[float] = collections.deque()
        self._faults: list[_Injected] = []
        self._cursor = 0
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._port = 0
        # Inline mode (see the section "inline mode").
        self.supports_inline_queries = True
        self._inline_queries: dict[str, JsonDict] = {}
        self._inline_ids = itertools.count(1)
        self._methods: dict[str, tuple[str, _ApiHandler]] = {
            name.lower(): (name, handler) for name, handler in self._handlers().items()
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def token(self) -> str:
        return self._token

    @property
    def bot_id(self) -> int:
        return self._bot_id

    @property
    def bot_user(self) -> JsonDict:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": "Greenhood",
            "username": self.bot_username,
        }

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(runner.addresses[0][1])
        self._runner = runner
        self._closing.clear()

    async def stop(self) -> None:
        self._closing.set()
        self._wake()
        for task in self._webhook_tasks:
            task.cancel()
        await asyncio.gather(*self._webhook_tasks, return_exceptions=True)
        self._webhook_tasks.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _wake(self) -> None:
        """Wake everything waiting for a change (new call, answer, update, shutdown)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, event: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
        """Wait (at most ``timeout``) for ``event``, taken from ``_changed`` before checking."""
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    # ------------------------------------------------------------------ HTTP

    async def _read_params(self, request: web.Request) -> tuple[JsonDict, _Files]:
        params: JsonDict = {key: _decode_field(key, value) for key, value in request.query.items()}
        uploads = _Files()
        if request.content_type == "application/json":
            if request.body_exists:
                try:
                    body = await request.json()
                except ValueError as error:
                    raise bad_request("can't parse JSON object") from error
                if not isinstance(body, dict):
                    raise bad_request("JSON object expected")
                params.update(body)
        elif request.body_exists:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[key] = value.file.read()
                    uploads.names[key] = value.filename
                elif isinstance(value, str):
                    params[key] = _decode_field(key, value)
                else:
                    uploads[key] = bytes(value)
        files = _Files()
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("attach://"):
                name = value.removeprefix("attach://")
                if name in uploads:
                    files[key] = uploads.pop(name)
                    files.names[key] = uploads.names.get(name, key)
        files.update(uploads)
        files.names.update({key: uploads.names[key] for key in uploads if key in uploads.names})
        return params, files

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        if request.match_info["token"] != self._token:
            self.stats["401"] += 1
            return web.json_response(_error_body(ApiError(401, "Unauthorized")), status=401)
        known = self._methods.get(name.lower())
        if known is None:
            self.stats["404"] += 1
            error = ApiError(404, "Not Found: method not found")
            return web.json_response(_error_body(error), status=404)
        method, handler = known
        long_poll = method == "getUpdates"
        # A long poll is recorded (and counts for wait_for) on arrival, as a 200 unless it
        # ends otherwise: the poll the bot leaves open when it stops is no error.
        call = RecordedCall(
            method, {}, {}, at=time.monotonic(), status=200 if long_poll else 0, done=False
        )
        self.calls.append(call)
        self.stats[method] += 1
        if not long_poll:
            self._in_flight += 1
            self._touch()
        self._wake()
        dropped = False
        try:
            call.params, call.files = await self._read_params(request)
            call.result = await self._execute(method, handler, call.params, call.files)
            call.status = 200
            body: JsonDict = {"ok": True, "result": call.result}
        except ApiError as error:
            call.status, call.error = error.status, error.description
            self.stats[str(error.status)] += 1
            body = _error_body(error)
        except _DropConnection:
            call.error = "connection dropped"
            self.stats["drop"] += 1
            dropped = True
            body = {}
        except asyncio.CancelledError:
            if not long_poll:
                call.status, call.error = 0, "client went away"
            raise
        finally:
            call.done = True
            if not long_poll:
                self._in_flight -= 1
                self._touch()
            self._wake()
        if dropped:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        return web.json_response(body, status=call.status, dumps=json.dumps)

    async def _execute(
        self, method: str, handler: _ApiHandler, params: JsonDict, files: dict[str, bytes]
    ) -> Any:
        chat_id = _int_param(params, "chat_id")
        for injected in list(self._faults):
            if injected.matches(method, chat_id):
                injected.times -= 1
                if injected.times <= 0:
                    self._faults.remove(injected)
                await self._apply_fault(injected.fault)
                break
        if chat_id in self._blocked and method.startswith(_PER_CHAT_PREFIXES):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self._rate is not None and method.startswith("send"):
            now = time.monotonic()
            while self._rate_window and now - self._rate_window[0] >= 1.0:
                self._rate_window.popleft()
            if len(self._rate_window) >= self._rate:
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            self._rate_window.append(now)
        result = handler(params, files)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    async def _apply_fault(self, fault: Fault) -> None:
        if isinstance(fault, TooManyRequests):
            raise ApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                retry_after=fault.retry_after,
            )
        if isinstance(fault, ServerError):
            reasons = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
            raise ApiError(fault.status, reasons.get(fault.status, "Internal Server Error"))
        if isinstance(fault, Stall):
            await self._sleep(fault.seconds)
        elif isinstance(fault, DropConnection):
            raise _DropConnection

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self._token:
            return web.json_response(_error_body(ApiError(401, "Unauthorized")), status=401)
        content = self._file_paths.get(request.match_info["path"])
        if content is None:
            return web.json_response(_error_body(ApiError(404, "Not Found")), status=404)
        return web.Response(body=content, content_type="application/octet-stream")

    # ------------------------------------------------------------------ chats and messages

    def _chat_json(self, chat_id: int) -> JsonDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "supergroup", "title": "Group"}

    def _require_chat(self, params: JsonDict) -> int:
        if params.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        chat_id = _int_param(params, "chat_id")
        if chat_id is None:
            username = str(params["chat_id"]).removeprefix("@").lower()
            for known in self._chats.values():
                if str(known.get("username", "")).lower() == username:
                    return int(known["id"])
            raise bad_request("chat not found")
        return chat_id

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _store_message(self, chat_id: int, sender: JsonDict, fields: JsonDict) -> JsonDict:
        message: JsonDict = {
            "message_id": self._next_message_id(chat_id),
            "from": sender,
            "chat": self._chat_json(chat_id),
            "date": int(time.time()),
            **fields,
        }
        self._messages[chat_id][message["message_id"]] = message
        return message

    def _find_message(self, params: JsonDict, missing: str) -> tuple[int, JsonDict]:
        chat_id = self._require_chat(params)
        message_id = _int_param(params, "message_id")
        message = self._messages.get(chat_id, {}).get(message_id or 0)
        if message is None:
            raise bad_request(missing)
        return chat_id, message

    def _reply_to(self, chat_id: int, params: JsonDict) -> JsonDict:
        """The ``reply_to_message`` field for ``reply_parameters`` / ``reply_to_message_id``."""
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        if message_id is None:
            message_id = _int_param(params, "reply_to_message_id")
        if message_id is None:
            return {}
        original = self._messages.get(chat_id, {}).get(int(message_id))
        if original is None:
            if isinstance(reply, dict) and reply.get("allow_sending_without_reply"):
                return {}
            raise bad_request("message to be replied not found")
        quoted = {key: value for key, value in original.items() if key != "reply_to_message"}
        return {"reply_to_message": _copy(quoted)}

    def _send(self, params: JsonDict, fields: JsonDict) -> JsonDict:
        """Store and return a new bot message for send* methods (common fields added)."""
        chat_id = self._require_chat(params)
        markup = params.get("reply_markup")
        validate_reply_markup(markup)
        extra = self._reply_to(chat_id, params)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            extra["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        message = self._store_message(chat_id, self.bot_user, {**fields, **extra})
        return _copy(message)

    def _text_fields(self, params: JsonDict, *, caption: bool) -> JsonDict:
        key = "caption" if caption else "text"
        entities_key = "caption_entities" if caption else "entities"
        raw = params.get(key)
        if caption and not raw:
            return {}
        text, entities = render_text(
            None if raw is None else str(raw),
            params.get("parse_mode"),
            params.get(entities_key),
            caption=caption,
        )
        fields: JsonDict = {key: text}
        if entities:
            fields[entities_key] = entities
        return fields

    def messages_in(self, chat_id: int) -> list[JsonDict]:
        """The bot's messages currently in a chat (edits applied, deletions removed)."""
        return [
            _copy(message)
            for _, message in sorted(self._messages.get(chat_id, {}).items())
            if message.get("from", {}).get("id") == self._bot_id
        ]

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """Any stored message (the bot's or a pushed one), as it is now."""
        found = self._messages.get(chat_id, {}).get(message_id)
        return None if found is None else _copy(found)

    # ------------------------------------------------------------------ Bot API methods

    def _handlers(self) -> dict[str, _ApiHandler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendLocation": self._send_location,
            "sendVenue": self._send_venue,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getChatMember": self._get_chat_member,
            "getChat": self._get_chat,
            "getFile": self._get_file,
            "pinChatMessage": self._pin_chat_message,
            # Inline mode and media edits (issue #14): the section "inline mode" below.
            "editMessageMedia": self._edit_message_media,
            "answerInlineQuery": self._answer_inline_query,
        }

    def _get_me(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.supports_inline_queries,
        }

    def _send_message(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        self._require_chat(params)
        return self._send(params, self._text_fields(params, caption=False))

    def _edit(self, message: JsonDict, fields: JsonDict, params: JsonDict) -> JsonDict:
        """Apply an edit (a None or empty field removes it); refuse one that changes nothing."""
        markup = params.get("reply_markup")
        validate_reply_markup(markup)
        new = {k: v for k, v in message.items() if k not in ("reply_markup", "edit_date")}
        for key, value in fields.items():
            if value is None or value == []:
                new.pop(key, None)
            else:
                new[key] = value
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            new["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        if new == {k: v for k, v in message.items() if k != "edit_date"}:
            raise bad_request(_NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        message.clear()
        message.update(new)
        return _copy(message)

    def _editable(self, params: JsonDict) -> JsonDict | bool:
        """The message an edit targets; True for inline messages (not tracked)."""
        if params.get("inline_message_id"):
            return True
        _, message = self._find_message(params, "message to edit not found")
        if message.get("from", {}).get("id") != self._bot_id:
            raise bad_request("message can't be edited")
        return message

    def _edit_message_text(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict | bool:
        message = self._editable(params)
        fields = {"entities": None, **self._text_fields(params, caption=False)}
        if not isinstance(message, dict):
            return True
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        return self._edit(message, fields, params)

    def _edit_message_caption(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict | bool:
        message = self._editable(params)
        fields = {"caption": None, "caption_entities": None}
        fields.update(self._text_fields(params, caption=True))
        if not isinstance(message, dict):
            return True
        if not ({"photo", "document", "video", "audio", "animation"} & message.keys()):
            raise bad_request("there is no caption in the message to edit")
        return self._edit(message, fields, params)

    def _edit_message_reply_markup(
        self, params: JsonDict, files: dict[str, bytes]
    ) -> JsonDict | bool:
        message = self._editable(params)
        if not isinstance(message, dict):
            return True
        return self._edit(message, {}, params)

    def _delete_message(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        chat_id, message = self._find_message(params, "message to delete not found")
        del self._messages[chat_id][message["message_id"]]
        return True

    def _pin_chat_message(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        chat_id, message = self._find_message(params, "message to pin not found")
        self._pinned[chat_id] = message["message_id"]
        return True

    def _answer_callback_query(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        query = self._queries.get(str(params.get("callback_query_id", "")))
        if query is None or query.get("answered"):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query["answered"] = True
        return True

    def _send_chat_action(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        self._require_chat(params)
        if not params.get("action"):
            raise bad_request("action is empty")
        return True

    @staticmethod
    def _location(params: JsonDict) -> JsonDict:
        try:
            latitude = float(params["latitude"])
            longitude = float(params["longitude"])
        except (KeyError, TypeError, ValueError) as error:
            raise bad_request("latitude and longitude must be numbers") from error
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong location")
        location: JsonDict = {"latitude": latitude, "longitude": longitude}
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if params.get(key) is not None:
                location[key] = params[key]
        return location

    def _send_location(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        return self._send(params, {"location": self._location(params)})

    def _send_venue(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        location = self._location(params)
        if not params.get("title") or not params.get("address"):
            raise bad_request("venue title and address must be non-empty")
        venue: JsonDict = {"location": location, "title": params["title"]}
        venue["address"] = params["address"]
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if params.get(key):
                venue[key] = params[key]
        return self._send(params, {"venue": venue, "location": location})

    def add_file(self, content: bytes, *, kind: str = "documents", name: str = "file") -> JsonDict:
        """Register a file the bot can ``getFile``/download; returns its File fields."""
        number = next(self._file_ids)
        file_id = f"F{number:06d}-{secrets.token_hex(6)}"
        path = f"{kind}/file_{number}{'.jpg' if kind == 'photos' else ''}"
        if kind != "photos" and "." in name:
            path = f"{kind}/file_{number}.{name.rsplit('.', 1)[1]}"
        info: JsonDict = {
            "file_id": file_id,
            "file_unique_id": f"U{number:06d}",
            "file_size": len(content),
            "file_path": path,
        }
        self._files[file_id] = (content, info)
        self._file_paths[path] = content
        return dict(info)

    def file_content(self, file_id: str) -> bytes | None:
        """The bytes behind a file_id (uploaded by the bot or pushed by a test)."""
        found = self._files.get(file_id)
        return None if found is None else found[0]

    def _photo_sizes(self, content: bytes) -> list[JsonDict]:
        width, height = _image_size(content)
        sizes: list[JsonDict] = []
        if max(width, height) > 320:
            scale = 320 / max(width, height)
            thumb = self.add_file(content, kind="photos")
            sizes.append(
                {
                    "file_id": thumb["file_id"],
                    "file_unique_id": thumb["file_unique_id"],
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                    "file_size": len(content),
                }
            )
        full = self.add_file(content, kind="photos")
        sizes.append(
            {
                "file_id": full["file_id"],
                "file_unique_id": full["file_unique_id"],
                "width": width,
                "height": height,
                "file_size": len(content),
            }
        )
        return sizes

    def _input_file(self, params: JsonDict, files: dict[str, bytes], key: str) -> bytes:
        """The content of a file parameter: an upload, a known file_id or an HTTP URL."""
        if key in files:
            return files[key]
        value = params.get(key)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {key} in the request")
        known = self._files.get(value)
        if known is not None:
            return known[0]
        if value.startswith(("http://", "https://")):
            return b""
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _send_photo(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        self._require_chat(params)
        content = self._input_file(params, files, "photo")
        fields = self._text_fields(params, caption=True)
        return self._send(params, {"photo": self._photo_sizes(content), **fields})

    def _send_document(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        self._require_chat(params)
        content = self._input_file(params, files, "document")
        fields = self._text_fields(params, caption=True)
        names = getattr(files, "names", {})
        name = names.get("document") or "document"
        info = self.add_file(content, name=name)
        document: JsonDict = {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "file_name": name,
            "file_size": len(content),
        }
        return self._send(params, {"document": document, **fields})

    def _get_file(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        found = self._files.get(str(params.get("file_id") or ""))
        if found is None:
            raise bad_request("invalid file_id")
        return dict(found[1])

    @staticmethod
    def _commands_key(params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be an array")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = _copy(commands)
        return True

    def _get_my_commands(self, params: JsonDict, files: dict[str, bytes]) -> list[JsonDict]:
        return _copy(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The commands set for a scope (default scope when None) and language."""
        return self._get_my_commands({"scope": scope, "language_code": language_code}, {})

    def set_chat_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember answers: creator, administrator, member, restricted, left, kicked."""
        self._members[(chat_id, user_id)] = status

    def _get_chat_member(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        chat_id = self._require_chat(params)
        user_id = _int_param(params, "user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        status = self._members.get((chat_id, user_id), "member")
        user = {"id": user_id, "is_bot": user_id == self._bot_id, "first_name": "User"}
        if user_id == self._bot_id:
            user = self.bot_user
        member: JsonDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = (
                "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
                "can_promote_members can_change_info can_invite_users can_post_stories "
                "can_edit_stories can_delete_stories can_pin_messages can_manage_topics"
            )
            member.update({name: True for name in rights.split()})
            member.update(can_be_edited=False, is_anonymous=False, can_send_welcome_messages=True)
        elif status == "restricted":
            permissions = (
                "can_send_messages can_send_audios can_send_documents can_send_photos "
                "can_send_videos can_send_video_notes can_send_voice_notes can_send_polls "
                "can_send_other_messages can_add_web_page_previews can_react_to_messages "
                "can_edit_tag can_change_info can_invite_users can_pin_messages "
                "can_manage_topics"
            )
            member.update({name: False for name in permissions.split()})
            member.update(is_member=True, until_date=0)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _get_chat(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        chat_id = self._require_chat(params)
        gifts = (
            "unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels"
        )
        return {
            **self._chat_json(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {name: False for name in gifts.split()},
        }

    def _set_webhook(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params, files)
        if not url.startswith(("http://", "https://")):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._set_allowed_updates(params.get("allowed_updates"))
        self._webhook = {"url": url, "secret_token": secret}
        self._webhook_error = None
        pending, self._updates = self._updates, []
        for update in pending:
            self._deliver(update)
        return True

    def _delete_webhook(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
            while not self._webhook_queue.empty():
                self._webhook_queue.get_nowait()
        self._webhook = None
        return True

    def _get_webhook_info(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict:
        info: JsonDict = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates) + self._webhook_queue.qsize(),
        }
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        if self._allowed_updates != DEFAULT_UPDATE_TYPES:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    # ------------------------------------------------------------------ updates

    def _set_allowed_updates(self, allowed: Any) -> None:
        if isinstance(allowed, list) and allowed:
            self._allowed_updates = frozenset(str(kind) for kind in allowed)

    def _enqueue(self, update: JsonDict) -> int:
        if "update_id" not in update:
            update = {"update_id": self._last_update_id + 1, **update}
        update_id = int(update["update_id"])
        self._last_update_id = max(self._last_update_id, update_id)
        if self._webhook is not None:
            self._deliver(update)
        else:
            self._updates.append(update)
        self._touch()
        self._wake()
        return update_id

    def _available(self) -> list[JsonDict]:
        """Pending updates the bot asked for (others are dropped, as Telegram does)."""
        self._updates = [
            update
            for update in self._updates
            if any(kind in self._allowed_updates for kind in update if kind != "update_id")
        ]
        return self._updates

    async def _get_updates(self, params: JsonDict, files: dict[str, bytes]) -> list[JsonDict]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._set_allowed_updates(params.get("allowed_updates"))
        offset = _int_param(params, "offset")
        if offset is not None and offset < 0:
            self._updates = self._updates[offset:]
        elif offset is not None:
            self._updates = [u for u in self._updates if int(u["update_id"]) >= offset]
        limit = min(max(_int_param(params, "limit") or 100, 1), 100)
        deadline = time.monotonic() + max(_int_param(params, "timeout") or 0, 0)
        while True:
            event = self._changed
            available = self._available()
            remaining = deadline - time.monotonic()
            if available or remaining <= 0 or self._closing.is_set() or self._webhook:
                handed = available[:limit]
                self.handed_out_ids.update(int(u["update_id"]) for u in handed)
                return _copy(handed)
            await self._wait_change(event, remaining)

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates pushed but not yet confirmed by a getUpdates offset."""
        return _copy(self._updates)

    @property
    def handed_over_ids(self) -> set[int]:
        """Ids of the updates the bot has or may have (see harness settled()): pending or
        handed out by getUpdates, queued for or being posted to the webhook, or accepted by
        it (2xx)."""
        ids = {int(update["update_id"]) for update in self._updates} | self.handed_out_ids
        ids |= {int(update["update_id"]) for update in list(self._webhook_queue._queue)}  # type: ignore[attr-defined]
        ids |= self._posting
        ids |= {update_id for update_id, status in self.webhook_deliveries if 200 <= status < 300}
        return ids

    def _user_message(self, user: TgUser, chat: TgChat | None, fields: JsonDict) -> JsonDict:
        chat_json = chat.to_json() if chat is not None else user.private_chat()
        chat_id = int(chat_json["id"])
        self._chats[chat_id] = chat_json
        return self._store_message(chat_id, user.to_json(), _copy(fields))

    def push_message(self, user: TgUser, extra: JsonDict, chat: TgChat | None = None) -> int:
        """Push a message from ``user`` with any fields (e.g. ``{"sticker": {...}}``)."""
        message = self._user_message(user, chat, extra)
        return self._enqueue({"message": _copy(message)})

    def push_text(self, user: TgUser, text: str, chat: TgChat | None = None) -> int:
        """Push a text message; a leading /command gets its bot_command entity."""
        fields: JsonDict = {"text": text}
        command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
        if command is not None:
            length = _utf16_len(command.group(0))
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.push_message(user, fields, chat)

    def push_location(
        self,
        user: TgUser,
        lat: float,
        lon: float,
        *,
        live_period: int | None = None,
        chat: TgChat | None = None,
    ) -> int:
        location: JsonDict = {"latitude": lat, "longitude": lon}
        if live_period is not None:
            location["live_period"] = live_period
        return self.push_message(user, {"location": location}, chat)

    def push_edited_location(self, user: TgUser, message_id: int, lat: float, lon: float) -> int:
        """Push an ``edited_message`` moving a (live) location the user sent earlier."""
        original: JsonDict | None = None
        chats = [user.id, *(chat_id for chat_id in self._messages if chat_id != user.id)]
        for chat_id in chats:
            candidate = self._messages.get(chat_id, {}).get(message_id)
            if candidate is not None and candidate.get("from", {}).get("id") == user.id:
                original = candidate
                break
        if original is None:
            raise AssertionError(f"{user.id} sent no message {message_id} to edit")
        location = dict(original.get("location") or {})
        location.update(latitude=lat, longitude=lon)
        original["location"] = location
        original["edit_date"] = int(time.time())
        return self._enqueue({"edited_message": _copy(original)})

    def push_venue(self, user: TgUser, lat: float, lon: float, title: str, address: str) -> int:
        location = {"latitude": lat, "longitude": lon}
        venue = {"location": location, "title": title, "address": address}
        return self.push_message(user, {"venue": venue, "location": location})

    def push_photo(self, user: TgUser, image_bytes: bytes, caption: str | None = None) -> int:
        """Push a photo; the bot can getFile and download it."""
        fields: JsonDict = {"photo": self._photo_sizes(image_bytes)}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(user, fields)

    def push_callback(
        self,
        user: TgUser,
        data: str,
        message_id: int | None = None,
        chat: TgChat | None = None,
    ) -> str:
        """Push a callback_query on a bot message (the latest one when ``message_id`` is None).

        Returns the query id (see ``callback_answer``).
        """
        chat_json = chat.to_json() if chat is not None else user.private_chat()
        chat_id = int(chat_json["id"])
        self._chats.setdefault(chat_id, chat_json)
        stored = self._messages.get(chat_id, {})
        if message_id is None:
            mine = [mid for mid, m in stored.items() if m["from"]["id"] == self._bot_id]
            message_id = max(mine) if mine else None
        query_id = str(4_000_000_000_000 + next(self._query_ids) * 7919)
        query: JsonDict = {
            "id": query_id,
            "from": user.to_json(),
            "chat_instance": str(-abs(chat_id) - 777),
            "data": data,
        }
        if message_id is not None:
            message = stored.get(message_id)
            if message is not None:
                query["message"] = _copy(message)
            else:
                query["message"] = {
                    "chat": self._chat_json(chat_id),
                    "message_id": message_id,
                    "date": 0,
                }
        self._queries[query_id] = {"answered": False, "query": query}
        self._queries[query_id]["update_id"] = self._enqueue({"callback_query": query})
        return query_id

    def redeliver_callback(self, query_id: str) -> int:
        """Deliver a pushed callback query's update again, same ``update_id``, as Telegram
        does when a webhook did not acknowledge it. (A poller that confirmed it never sees
        it again: getUpdates drops ids below the offset.) Returns the update id."""
        pushed = self._queries[query_id]
        update = {"update_id": pushed["update_id"], "callback_query": _copy(pushed["query"])}
        return self._enqueue(update)

    def push_raw(self, update: JsonDict) -> int:
        """Push any update; an ``update_id`` is assigned when missing."""
        return self._enqueue(_copy(update))

    # ------------------------------------------------------------------ inline mode
    # Issue #14: editMessageMedia, answerInlineQuery, inline_query and
    # chosen_inline_result updates, and following a t.me deep link. Self-contained: the
    # methods are registered in _handlers(), the state is made in __init__.

    def _edit_message_media(self, params: JsonDict, files: dict[str, bytes]) -> JsonDict | bool:
        message = self._editable(params)
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") not in {
            "photo",
            "document",
            "video",
            "animation",
            "audio",
        }:
            raise bad_request("can't parse InputMedia JSON object")
        source = media.get("media")
        if not isinstance(source, str) or not source:
            raise bad_request("there is no media in the request")
        if source.startswith("attach://"):
            content = files.get(source.removeprefix("attach://"))
            if content is None:
                raise bad_request("can't find attached file")
        else:
            content = self._input_file({"media": source}, {}, "media")
        if not isinstance(message, dict):
            return True
        if not ({"photo", "document", "video", "animation", "audio"} & message.keys()):
            raise bad_request("there is no media in the message to edit")
        caption = self._text_fields(
            {
                "caption": media.get("caption"),
                "parse_mode": media.get("parse_mode"),
                "caption_entities": media.get("caption_entities"),
            },
            caption=True,
        )
        fields: JsonDict = {
            key: None for key in ("photo", "document", "video", "animation", "audio")
        }
        fields.update(caption=None, caption_entities=None)
        if media["type"] == "photo":
            fields["photo"] = self._photo_sizes(content)
        else:
            info = self.add_file(content, name=str(media["type"]))
            fields[media["type"]] = {
                "file_id": info["file_id"],
                "file_unique_id": info["file_unique_id"],
                "file_size": len(content),
            }
        fields.update(caption)
        return self._edit(message, fields, params)

    def push_inline_query(
        self,
        user: TgUser,
        query: str,
        *,
        offset: str = "",
        chat_type: str | None = "sender",
        location: tuple[float, float] | None = None,
    ) -> str:
        """Push an ``inline_query`` (``@bot query`` typed by ``user``); returns its id.
        ``location`` is sent only if the bot asked for it (BotFather's inline location)."""
        if len(query) > INLINE_QUERY_LIMIT:
            raise AssertionError("Telegram cuts inline queries at 256 characters")
        query_id = str(7_000_000_000_000 + next(self._inline_ids) * 104729)
        inline: JsonDict = {
            "id": query_id,
            "from": user.to_json(),
            "query": query,
            "offset": offset,
        }
        if chat_type is not None:
            inline["chat_type"] = chat_type
        if location is not None:
            inline["location"] = {"latitude": location[0], "longitude": location[1]}
        self._inline_queries[query_id] = {"query": inline, "answer": None}
        self._enqueue({"inline_query": inline})
        return query_id

    def _answer_inline_query(self, params: JsonDict, files: dict[str, bytes]) -> bool:
        pushed = self._inline_queries.get(str(params.get("inline_query_id", "")))
        if pushed is None or pushed["answer"] is not None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > INLINE_RESULTS_LIMIT:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("type"), str):
                raise bad_request("can't parse InlineQueryResult JSON object")
            result_id = result.get("id")
            if (
                not isinstance(result_id, str)
                or not 1 <= len(result_id.encode()) <= INLINE_RESULT_ID_LIMIT
            ):
                raise bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            validate_reply_markup(result.get("reply_markup"))
            content = result.get("input_message_content")
            if result["type"] == "article" and (
                not result.get("title") or not isinstance(content, dict)
            ):
                raise bad_request("RESULT_TYPE_INVALID")
            if isinstance(content, dict) and "message_text" in content:
                render_text(
                    str(content["message_text"]),
                    content.get("parse_mode"),
                    content.get("entities"),
                    caption=False,
                )
        button = params.get("button")
        if button is not None and (
            not isinstance(button, dict)
            or not button.get("text")
            or not ({"start_parameter", "web_app"} & button.keys())
        ):
            raise bad_request("BUTTON_INVALID")
        if (
            isinstance(button, dict)
            and "start_parameter" in button
            and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(button["start_parameter"]))
        ):
            raise bad_request("START_PARAM_INVALID")
        pushed["answer"] = _copy(params)
        return True

    def inline_answer(self, query_id: str) -> JsonDict | None:
        """What the bot answered to a pushed inline query (the answerInlineQuery params)."""
        pushed = self._inline_queries.get(query_id)
        return None if pushed is None or pushed["answer"] is None else _copy(pushed["answer"])

    async def ask_inline(
        self,
        user: TgUser,
        query: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        **options: Any,
    ) -> JsonDict:
        """Type ``@bot query``: push the inline query, wait for the bot's answer and return
        its params (``results``, ``cache_time``, ``is_personal``, ``button``...)."""
        since = self.mark()
        query_id = self.push_inline_query(user, query, **options)
        await self.wait_for(
            "answerInlineQuery",
            since=since,
            timeout=timeout,
            predicate=lambda c: str(c.params.get("inline_query_id")) == query_id,
        )
        answer = self.inline_answer(query_id)
        assert answer is not None
        return {"id": query_id, **answer}

    def choose_inline_result(
        self, user: TgUser, query_id: str, result_id: str, chat: TgChat | None = None
    ) -> JsonDict:
        """``user`` taps a result: its message is posted in ``chat`` (the user's own chat
        with someone, by default a group) "via" the bot, and a ``chosen_inline_result``
        update is pushed (delivered only if the bot asked for them, as Telegram does).
        Returns the posted message."""
        pushed = self._inline_queries[query_id]
        answer = pushed["answer"]
        if answer is None:
            raise AssertionError(f"inline query {query_id} was not answered")
        result = next((r for r in answer["results"] if r["id"] == result_id), None)
        if result is None:
            raise AssertionError(f"no result {result_id!r} in {answer['results']}")
        content = result.get("input_message_content") or {}
        fields: JsonDict = {"via_bot": self.bot_user}
        if "message_text" in content:
            text, entities = render_text(
                str(content["message_text"]),
                content.get("parse_mode"),
                content.get("entities"),
                caption=False,
            )
            fields["text"] = text
            if entities:
                fields["entities"] = entities
        markup = result.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            fields["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        target = chat or TgChat(-1_000_000_000_000 - user.id, "group", "Friends")
        chat_json = target.to_json()
        self._chats[int(chat_json["id"])] = chat_json
        message = self._store_message(int(chat_json["id"]), user.to_json(), _copy(fields))
        chosen: JsonDict = {
            "result_id": result_id,
            "from": user.to_json(),
            "query": pushed["query"]["query"],
        }
        if "reply_markup" in fields:
            chosen["inline_message_id"] = f"IM{query_id}-{result_id}"[:64]
        self._enqueue({"chosen_inline_result": chosen})
        return _copy(message)

    def deep_link(self, url: str) -> str:
        """The /start payload of a t.me link to this bot (raises for another bot's)."""
        match = re.fullmatch(r"https://t\.me/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{1,64})", url)
        if match is None or match[1].lower() != self.bot_username.lower():
            raise AssertionError(f"{url!r} is not a deep link to @{self.bot_username}")
        return match[2]

    async def follow_link(
        self,
        user: TgUser,
        url: str,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedCall]:
        """Open a t.me deep link as ``user``: the client sends ``/start <payload>``."""
        return await self.reply_to(
            user, f"/start {self.deep_link(url)}", count=count, timeout=timeout
        )

    # ------------------------------------------------------------------ webhook delivery

    WEBHOOK_ATTEMPTS = 3
    """POST attempts per update before it is given up (``getWebhookInfo`` shows the error)."""

    def _deliver(self, update: JsonDict) -> None:
        self._webhook_queue.put_nowait(update)
        self._webhook_tasks = {task for task in self._webhook_tasks if not task.done()}
        loop = asyncio.get_running_loop()
        while len(self._webhook_tasks) < self.webhook_connections:
            self._webhook_tasks.add(loop.create_task(self._webhook_worker()))

    async def _webhook_worker(self) -> None:
        while True:
            update = await self._webhook_queue.get()
            if self._webhook is None:
                self._updates.append(update)
                continue
            self._in_flight += 1
            self._posting.add(int(update["update_id"]))
            try:
                await self._post_update(self._webhook, update)
            finally:
                self._posting.discard(int(update["update_id"]))
                self._in_flight -= 1
                self._touch()
                self._wake()

    async def _post_update(self, webhook: JsonDict, update: JsonDict) -> None:
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=10))
        headers = {"Content-Type": "application/json"}
        if webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(webhook["secret_token"])
        for attempt in range(self.WEBHOOK_ATTEMPTS):
            if attempt:
                await self._sleep(0.05 * 2**attempt)
            try:
                async with self._client.post(
                    webhook["url"], data=json.dumps(update), headers=headers
                ) as response:
                    body = await response.read()
                    status = response.status
            except (ClientError, TimeoutError) as error:
                self.webhook_deliveries.append((int(update["update_id"]), 0))
                self._webhook_error = (int(time.time()), f"Connection failed: {error}")
                continue
            self.webhook_deliveries.append((int(update["update_id"]), status))
            if 200 <= status < 300:
                await self._run_webhook_reply(body)
                return
            self._webhook_error = (int(time.time()), f"Wrong response from the webhook: {status}")

    async def _run_webhook_reply(self, body: bytes) -> None:
        """A webhook may answer with a method call in its response body; run it like Telegram."""
        try:
            reply = json.loads(body) if body else None
        except ValueError:
            return
        if not isinstance(reply, dict) or not isinstance(reply.get("method"), str):
            return
        known = self._methods.get(reply["method"].lower())
        if known is None:
            return
        method, handler = known
        params = {key: value for key, value in reply.items() if key != "method"}
        call = RecordedCall(method, params, {}, at=time.monotonic())
        self.calls.append(call)
        self.stats[method] += 1
        try:
            call.result = await self._execute(method, handler, params, {})
            call.status = 200
        except ApiError as error:
            call.status, call.error = error.status, error.description
            self.stats[str(error.status)] += 1
        except _DropConnection:
            call.error = "connection dropped"
        self._wake()

    # ------------------------------------------------------------------ faults

    def inject(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` matching calls fail with ``fault``.

        ``method=None`` matches any method but getUpdates (the polling loop would eat it).
        """
        self._faults.append(_Injected(fault, method, chat_id, times))

    def block(self, chat_id: int) -> None:
        """Every send/edit to ``chat_id`` answers 403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def rate_limit(self, per_second: float | None) -> None:
        """Answer 429 (retry_after=1) to send* calls beyond ``per_second`` in any 1 s window."""
        self._rate = per_second
        self._rate_window.clear()

    # ------------------------------------------------------------------ waiting

    def mark(self) -> int:
        """Index into ``calls`` from which the next ``wait_for(since=None)`` looks."""
        self._cursor = len(self.calls)
        return self._cursor

    @staticmethod
    def _describe(calls: Iterable[RecordedCall]) -> str:
        lines: list[str] = []
        polls = 0
        for call in calls:
            if call.method == "getUpdates":
                polls += 1
                continue
            lines.append(f"  {call!r}")
        if polls:
            lines.append(f"  (+ {polls} getUpdates)")
        return "\n".join(lines) or "  (nothing)"

    async def wait_for(
        self,
        method: str | tuple[str, ...] | None = None,
        *,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
        since: int | None = None,
        predicate: Callable[[RecordedCall], bool] | None = None,
        include_errors: bool = False,
    ) -> list[RecordedCall]:
        """Wait for ``count`` matching calls at index >= ``since`` and return the first ones.

        ``since=None`` uses the cursor (set by ``mark()``, advanced past what every wait
        returned). ``method=None`` matches any method but getUpdates. Error answers match only
        with ``include_errors``. Raises AssertionError listing the calls seen on timeout.
        """
        methods = None if method is None else (method,) if isinstance(method, str) else method
        start = self._cursor if since is None else since
        deadline = time.monotonic() + timeout

        def matches(call: RecordedCall) -> bool:
            if methods is None:
                if call.method == "getUpdates":
                    return False
            elif call.method not in methods:
                return False
            if call.method == "getUpdates" and not call.done:
                pass
            elif not call.done or (not include_errors and not call.ok):
                return False
            if chat_id is not None and call.chat_id != chat_id:
                return False
            return predicate is None or predicate(call)

        while True:
            event = self._changed
            found = [(i, c) for i, c in enumerate(self.calls[start:], start) if matches(c)]
            if len(found) >= count:
                chosen = found[:count]
                if chosen:
                    self._cursor = max(self._cursor, chosen[-1][0] + 1)
                return [call for _, call in chosen]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                wanted = "any call" if methods is None else "/".join(methods)
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} x {wanted}"
                    f"{'' if chat_id is None else f' to chat {chat_id}'}; got {len(found)}. "
                    f"Calls since #{start}:\n{self._describe(self.calls[start:])}"
                )
            await self._wait_change(event, remaining)

    async def wait_arrival(
        self,
        method: str,
        *,
        since: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedCall:
        """The first ``method`` call at index >= ``since`` as soon as it arrives, answered
        or not (``wait_for`` returns answered calls: this sees one a Stall holds)."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._changed
            for call in self.calls[since:]:
                if call.method == method:
                    return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {method} arrived within {timeout}s")
            await self._wait_change(event, remaining)

    async def reply_to(
        self,
        user: TgUser,
        text: str,
        *,
        count: int = 1,
        chat: TgChat | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedCall]:
        """Push ``text`` from ``user`` and wait for ``count`` SEND_METHODS calls to that chat."""
        since = self.mark()
        self.push_text(user, text, chat)
        chat_id = chat.id if chat is not None else user.id
        return await self.wait_for(
            SEND_METHODS, chat_id=chat_id, count=count, timeout=timeout, since=since
        )

    async def click(
        self,
        user: TgUser,
        call: RecordedCall,
        button_text: str,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedCall]:
        """Press the inline button containing ``button_text`` on the message ``call`` sent.

        Waits for the bot's answerCallbackQuery (see ``callback_answer``) and for ``count``
        SEND_METHODS calls to that chat (``count`` may be 0); returns the latter.
        """
        sent = call.result
        if not isinstance(sent, dict) or "message_id" not in sent:
            raise AssertionError(f"{call!r} did not produce a message to click on")
        chat_json = sent["chat"]
        chat_id, message_id = int(chat_json["id"]), int(sent["message_id"])
        current = self._messages.get(chat_id, {}).get(message_id, sent)
        rows = (current.get("reply_markup") or {}).get("inline_keyboard") or []
        labels = [str(button.get("text", "")) for row in rows for button in row]
        button = next(
            (b for row in rows for b in row if button_text in str(b.get("text", ""))), None
        )
        if button is None:
            raise AssertionError(f"no button containing {button_text!r} on {call!r}: {labels}")
        data = button.get("callback_data")
        if data is None:
            raise AssertionError(f"button {button.get('text')!r} has no callback_data: {button}")
        chat = None
        if chat_id != user.id:
            chat = TgChat(
                chat_id, str(chat_json.get("type", "supergroup")), str(chat_json.get("title", ""))
            )
        deadline = time.monotonic() + timeout
        since = self.mark()
        query_id = self.push_callback(user, str(data), message_id, chat)
        await self.wait_for(
            "answerCallbackQuery",
            timeout=timeout,
            since=since,
            predicate=lambda c: str(c.params.get("callback_query_id")) == query_id,
        )
        return await self.wait_for(
            SEND_METHODS,
            chat_id=chat_id,
            count=count,
            timeout=max(deadline - time.monotonic(), 0.0),
            since=since,
        )

    def callback_answer(self, query_id: str) -> RecordedCall | None:
        """The successful answerCallbackQuery call for a pushed query, if any."""
        for call in reversed(self.calls):
            if (
                call.method == "answerCallbackQuery"
                and call.ok
                and str(call.params.get("callback_query_id")) == query_id
            ):
                return call
        return None

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until no call (but getUpdates) nor push happened for ``quiet`` seconds.

        The one place a quiet period is used: to assert that the bot sent nothing more.
        Raises AssertionError if the server is still busy after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            event = self._changed
            now = time.monotonic()
            busy = self._in_flight > 0 or not self._webhook_queue.empty()
            idle_for = now - self._last_activity
            if not busy and idle_for >= quiet:
                return
            if now >= deadline:
                recent = [c for c in self.calls if c.at >= now - quiet]
                raise AssertionError(
                    f"not idle for {quiet}s within {timeout}s:\n{self._describe(recent)}"
                )
            wait = deadline - now if busy else min(quiet - idle_for, deadline - now)
            await self._wait_change(event, wait)
