"""`BotApiStandIn`: the HTTP side (``{base}/bot{token}/{method}`` and file downloads), the
record of every call, and waiting on what the bot does (see the package docstring)."""

from __future__ import annotations

import asyncio
import collections
import json
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Self

from aiohttp import web

from bot.standin.calls import SEND_METHODS, JsonDict, RecordedCall, copy_json, int_param
from bot.standin.chats import ChatState, TgChat, TgUser
from bot.standin.faults import ConnectionDropped, Fault, Faults
from bot.standin.inline import InlineMode, deep_link_payload
from bot.standin.methods import ApiHandler, ChatMethods, Uploads
from bot.standin.updates import Activity, Updates
from bot.standin.validation import ApiError, bad_request, error_body

# Form fields that are strings even when they look like JSON.
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


class BotApiStandIn:
    """The Bot API on 127.0.0.1, in-process (see the package docstring)."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "greenhood_test_bot",
        *,
        stamp: Callable[[], float] = time.monotonic,
    ) -> None:
        # What RecordedCall.at reads: the wall clock, or a test's virtual one.
        self._stamp = stamp
        self._token = token
        self._bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.calls: list[RecordedCall] = []
        self.stats: collections.Counter[str] = collections.Counter()
        self.activity = Activity()
        self.state = ChatState(self.bot_user)
        self.faults = Faults(self.activity.closing)
        self.updates = Updates(self.state, self.activity, self.faults.sleep, self._run_reply)
        self._cursor = 0
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.inline = InlineMode(self.state, self.updates)
        handlers = {
            **ChatMethods(self.state).handlers(),
            **self.updates.handlers(),
            **self.inline.handlers(),
        }
        self._methods: dict[str, tuple[str, ApiHandler]] = {
            name.lower(): (name, handler) for name, handler in handlers.items()
        }
        # The state under the names tests/hostile reads it by (it builds raw updates).
        self._messages = self.state.messages
        self._chats = self.state.chats
        self._queries = self.state.queries
        self._faults = self.faults.injected
        self._photo_sizes = self.state.photo_sizes
        self._user_message = self.state.user_message

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the stand-in is not started")
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
        self.activity.closing.clear()

    async def stop(self) -> None:
        self.activity.closing.set()
        self.activity.wake()
        await self.updates.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ HTTP

    async def _read_params(self, request: web.Request) -> tuple[JsonDict, Uploads]:
        params: JsonDict = {key: _decode_field(key, value) for key, value in request.query.items()}
        uploads = Uploads()
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
        files = Uploads()
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
            return web.json_response(error_body(ApiError(401, "Unauthorized")), status=401)
        known = self._methods.get(name.lower())
        if known is None:
            self.stats["404"] += 1
            error = ApiError(404, "Not Found: method not found")
            return web.json_response(error_body(error), status=404)
        method, handler = known
        long_poll = method == "getUpdates"
        # A long poll is recorded (and counts for wait_for) on arrival, as a 200 unless it
        # ends otherwise: the poll the bot leaves open when it stops is no error.
        call = RecordedCall(
            method, {}, {}, at=self._stamp(), status=200 if long_poll else 0, done=False
        )
        self.calls.append(call)
        self.stats[method] += 1
        activity = self.activity
        if not long_poll:
            activity.in_flight += 1
            activity.touch()
        activity.wake()
        dropped = False
        try:
            params, files = await self._read_params(request)
            call.params, call.files = params, files
            call.result = await self._execute(method, handler, params, files)
            call.status = 200
            body: JsonDict = {"ok": True, "result": call.result}
        except ApiError as error:
            call.status, call.error = error.status, error.description
            self.stats[str(error.status)] += 1
            body = error_body(error)
        except ConnectionDropped as drop:
            call.error = "connection dropped"
            # Delivered before the drop: what the bot never heard of.
            call.result = drop.result
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
                activity.in_flight -= 1
                activity.touch()
            activity.wake()
        if dropped:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        return web.json_response(body, status=call.status, dumps=json.dumps)

    async def _execute(
        self, method: str, handler: ApiHandler, params: JsonDict, files: Uploads
    ) -> Any:
        drop_after = await self.faults.apply(method, int_param(params, "chat_id"))
        result = handler(params, files)
        if asyncio.iscoroutine(result):
            result = await result
        if drop_after:
            raise ConnectionDropped(result)
        return result

    async def _run_reply(self, name: str, params: JsonDict) -> None:
        """Run a method a webhook answered with, recorded like any call."""
        known = self._methods.get(name.lower())
        if known is None:
            return
        method, handler = known
        call = RecordedCall(method, params, {}, at=self._stamp())
        self.calls.append(call)
        self.stats[method] += 1
        try:
            call.result = await self._execute(method, handler, params, Uploads())
            call.status = 200
        except ApiError as error:
            call.status, call.error = error.status, error.description
            self.stats[str(error.status)] += 1
        except ConnectionDropped:
            call.error = "connection dropped"
        self.activity.wake()

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self._token:
            return web.json_response(error_body(ApiError(401, "Unauthorized")), status=401)
        content = self.state.file_paths.get(request.match_info["path"])
        if content is None:
            return web.json_response(error_body(ApiError(404, "Not Found")), status=404)
        return web.Response(body=content, content_type="application/octet-stream")

    # ------------------------------------------------------------------ the world, read

    def messages_in(self, chat_id: int) -> list[JsonDict]:
        """The bot's messages currently in a chat (edits applied, deletions removed)."""
        return self.state.messages_in(chat_id)

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """Any stored message (the bot's or a pushed one), as it is now."""
        return self.state.message(chat_id, message_id)

    def add_file(self, content: bytes, *, kind: str = "documents", name: str = "file") -> JsonDict:
        """Register a file the bot can ``getFile``/download; returns its File fields."""
        return self.state.add_file(content, kind=kind, name=name)

    def file_content(self, file_id: str) -> bytes | None:
        """The bytes behind a file_id (uploaded by the bot or pushed by a test)."""
        return self.state.file_content(file_id)

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The commands set for a scope (default scope when None) and language."""
        return self.state.commands.get(self.state.commands_key(scope, language_code), [])

    # ------------------------------------------------------------------ inline mode

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
        return self.inline.push_inline_query(
            user, query, offset=offset, chat_type=chat_type, location=location
        )

    def inline_answer(self, query_id: str) -> JsonDict | None:
        """What the bot answered to a pushed inline query (the answerInlineQuery params)."""
        return self.inline.answer(query_id)

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
        """``user`` taps a result: its message is posted in ``chat`` (by default a group)
        "via" the bot, and a ``chosen_inline_result`` update is pushed. Returns the posted
        message."""
        return self.inline.choose(user, query_id, result_id, chat)

    def deep_link(self, url: str) -> str:
        """The /start payload of a t.me link to this bot (raises for another bot's)."""
        return deep_link_payload(url, self.bot_username)

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

    def menu_button(self, chat_id: int | None = None) -> JsonDict:
        """The menu button set for a private chat (the default one when None)."""
        return self.state.menu_button(chat_id)

    def commands_shown(self, chat: JsonDict, language_code: str | None) -> list[JsonDict]:
        """The command menu a person with that language sees in that chat."""
        return self.state.commands_shown(chat, language_code)

    def set_chat_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember answers: creator, administrator, member, restricted, left, kicked."""
        self.state.members[(chat_id, user_id)] = status

    def callback_query(self, query_id: str) -> JsonDict | None:
        """A callback query pushed earlier (its ``from``, ``message``, ``data``)."""
        pushed = self.state.queries.get(query_id)
        return None if pushed is None else dict(pushed["query"])

    # ------------------------------------------------------------------ updates

    @property
    def webhook_deliveries(self) -> list[tuple[int, int]]:
        """(update_id, HTTP status or 0 on a connection error) per webhook POST attempt."""
        return self.updates.webhook_deliveries

    @property
    def webhook_connections(self) -> int:
        """Webhook deliveries in flight at once (1 keeps turn-by-turn tests in order)."""
        return self.updates.webhook_connections

    @webhook_connections.setter
    def webhook_connections(self, value: int) -> None:
        self.updates.webhook_connections = value

    @property
    def handed_out_ids(self) -> set[int]:
        """Ids of the updates getUpdates returned at least once."""
        return self.updates.handed_out_ids

    @property
    def handed_over_ids(self) -> set[int]:
        """Ids of the updates the bot has or may have (see tests/harness.py settled())."""
        return self.updates.handed_over_ids()

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates pushed but not yet confirmed by a getUpdates offset."""
        return copy_json(self.updates.pending)

    @property
    def last_update_id(self) -> int:
        """The id of the latest update pushed."""
        return self.updates.last_update_id

    @property
    def confirmed_update_id(self) -> int:
        """The highest update id a poller confirmed having (getUpdates asked past it)."""
        return self.updates.confirmed_below - 1

    def continue_updates_after(self, update_id: int) -> None:
        """Number the next pushed updates from ``update_id + 1`` on (Telegram's ids only
        grow: a bot that stored earlier updates must not see an id again)."""
        self.updates.last_update_id = max(self.updates.last_update_id, update_id)

    def push_message(self, user: TgUser, extra: JsonDict, chat: TgChat | None = None) -> int:
        """Push a message from ``user`` with any fields (e.g. ``{"sticker": {...}}``)."""
        return self.updates.push_message(user, extra, chat)

    def push_text(self, user: TgUser, text: str, chat: TgChat | None = None) -> int:
        """Push a text message; a leading /command gets its bot_command entity."""
        return self.updates.push_text(user, text, chat)

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
        return self.updates.push_edited_location(user, message_id, lat, lon)

    def push_venue(self, user: TgUser, lat: float, lon: float, title: str, address: str) -> int:
        location = {"latitude": lat, "longitude": lon}
        venue = {"location": location, "title": title, "address": address}
        return self.push_message(user, {"venue": venue, "location": location})

    def push_photo(
        self,
        user: TgUser,
        image_bytes: bytes,
        caption: str | None = None,
        chat: TgChat | None = None,
    ) -> int:
        """Push a photo; the bot can getFile and download it."""
        fields: JsonDict = {"photo": self.state.photo_sizes(image_bytes)}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(user, fields, chat)

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
        return self.updates.push_callback(user, data, message_id, chat)

    def redeliver_callback(self, query_id: str) -> int:
        """Deliver a pushed callback query's update again, same ``update_id``, as Telegram
        does when a webhook did not acknowledge it. (A poller that confirmed it never sees
        it again: getUpdates drops ids below the offset.) Returns the update id."""
        return self.updates.redeliver_callback(query_id)

    def push_raw(self, update: JsonDict) -> int:
        """Push any update; an ``update_id`` is assigned when missing."""
        return self.updates.enqueue(copy_json(update))

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
        self.faults.inject(fault, method, chat_id, times)

    def block(self, chat_id: int) -> None:
        """Every send/edit to ``chat_id`` answers 403 "Forbidden: bot was blocked by the user"."""
        self.faults.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.faults.blocked.discard(chat_id)

    def rate_limit(self, per_second: float | None) -> None:
        """Answer 429 (retry_after=1) to send* calls beyond ``per_second`` in any 1 s window."""
        self.faults.rate_limit(per_second)

    # ------------------------------------------------------------------ waiting

    def mark(self) -> int:
        """Index into ``calls`` from which the next ``wait_for(since=None)`` looks."""
        self._cursor = len(self.calls)
        return self._cursor

    async def next_change(self, timeout: float) -> None:  # noqa: ASYNC109
        """Return at the next change (a call arriving or answered, an update pushed or
        confirmed), or after ``timeout`` seconds."""
        await self.activity.wait(self.activity.changed, timeout)

    async def wait_confirmed(self, update_id: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until a poller confirmed ``update_id`` (asked getUpdates past it): the bot has
        stored it and started handling it. Raises AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while self.confirmed_update_id < update_id:
            event = self.activity.changed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"update {update_id} not confirmed within {timeout}s")
            await self.activity.wait(event, remaining)

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
            event = self.activity.changed
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
            await self.activity.wait(event, remaining)

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
            event = self.activity.changed
            for call in self.calls[since:]:
                if call.method == method:
                    return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {method} arrived within {timeout}s")
            await self.activity.wait(event, remaining)

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
        current = self.state.messages.get(chat_id, {}).get(message_id, sent)
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
        Raises AssertionError if the stand-in is still busy after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        activity = self.activity
        while True:
            event = activity.changed
            now = time.monotonic()
            busy = activity.in_flight > 0 or self.updates.webhook_busy
            idle_for = now - activity.last_activity
            if not busy and idle_for >= quiet:
                return
            if now >= deadline:
                recent = [c for c in self.calls if c.at >= now - quiet]
                raise AssertionError(
                    f"not idle for {quiet}s within {timeout}s:\n{self._describe(recent)}"
                )
            wait = deadline - now if busy else min(quiet - idle_for, deadline - now)
            await activity.wait(event, wait)
