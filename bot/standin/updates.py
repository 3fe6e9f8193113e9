"""Updates: what people do, pushed as Telegram would deliver it — held for getUpdates
(long polling) or posted to the bot's webhook (with retries, like Telegram)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.core.telegram_html import utf16_len
from bot.standin.calls import JsonDict, copy_json, int_param
from bot.standin.chats import ChatState, TgChat, TgUser
from bot.standin.methods import ApiHandler, Uploads
from bot.standin.validation import ApiError, bad_request

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

_COMMAND = re.compile(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")


class Activity:
    """Who waits for what: every change (a call, an answer, an update, shutdown) wakes the
    waiters; `in_flight` and `last_activity` tell whether the stand-in is idle."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.closing = asyncio.Event()
        self.in_flight = 0
        self.last_activity = time.monotonic()

    def wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    @staticmethod
    async def wait(event: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
        """Wait (at most ``timeout``) for ``event``, taken from ``changed`` before checking."""
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)


RunReply = Callable[[str, JsonDict], Awaitable[None]]


class Updates:
    """Pending updates, getUpdates, setWebhook & co., and pushing updates as people."""

    WEBHOOK_ATTEMPTS = 3
    """POST attempts per update before it is given up (``getWebhookInfo`` shows the error)."""

    def __init__(
        self,
        state: ChatState,
        activity: Activity,
        sleep: Callable[[float], Awaitable[None]],
        run_reply: RunReply,
    ) -> None:
        self.state = state
        self.activity = activity
        self._sleep = sleep
        self._run_reply = run_reply
        self.pending: list[JsonDict] = []
        self.last_update_id = 0
        self.confirmed_below = 0
        """getUpdates asked from this offset on: every update below is confirmed."""
        self.handed_out_ids: set[int] = set()
        self.allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.webhook: JsonDict | None = None
        self.webhook_error: tuple[int, str] | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []
        """(update_id, HTTP status or 0 on a connection error) per webhook POST attempt."""
        self.webhook_connections = 1
        """Deliveries in flight at once. Telegram opens up to the webhook's max_connections
        (40 by default) and so does not keep updates in order; 1 (one after the other)
        keeps tests that talk turn by turn deterministic; benchmarks raise it."""
        self._queue: asyncio.Queue[JsonDict] = asyncio.Queue()
        self._queued: collections.Counter[int] = collections.Counter()
        self._posting: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: ClientSession | None = None

    def handlers(self) -> dict[str, ApiHandler]:
        return {
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
        }

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def webhook_busy(self) -> bool:
        return not self._queue.empty()

    # ------------------------------------------------------------------ queueing

    def enqueue(self, update: JsonDict) -> int:
        if "update_id" not in update:
            update = {"update_id": self.last_update_id + 1, **update}
        update_id = int(update["update_id"])
        self.last_update_id = max(self.last_update_id, update_id)
        if self.webhook is not None:
            self._deliver(update)
        else:
            self.pending.append(update)
        self.activity.touch()
        self.activity.wake()
        return update_id

    def handed_over_ids(self) -> set[int]:
        """Ids of the updates the bot has or may have: pending or handed out by getUpdates,
        queued for or being posted to the webhook, or accepted by it (2xx)."""
        ids = {int(update["update_id"]) for update in self.pending} | self.handed_out_ids
        ids |= {update_id for update_id, count in self._queued.items() if count > 0}
        ids |= self._posting
        ids |= {update_id for update_id, status in self.webhook_deliveries if 200 <= status < 300}
        return ids

    def _set_allowed(self, allowed: Any) -> None:
        if isinstance(allowed, list) and allowed:
            self.allowed = frozenset(str(kind) for kind in allowed)

    def _available(self) -> list[JsonDict]:
        """Pending updates the bot asked for (others are dropped, as Telegram does)."""
        self.pending = [
            update
            for update in self.pending
            if any(kind in self.allowed for kind in update if kind != "update_id")
        ]
        return self.pending

    # ------------------------------------------------------------------ methods

    async def get_updates(self, params: JsonDict, files: Uploads) -> list[JsonDict]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._set_allowed(params.get("allowed_updates"))
        offset = int_param(params, "offset")
        if offset is not None and offset < 0:
            self.pending = self.pending[offset:]
        elif offset is not None:
            self.pending = [u for u in self.pending if int(u["update_id"]) >= offset]
            if offset > self.confirmed_below:
                self.confirmed_below = offset
                self.activity.wake()
        limit = min(max(int_param(params, "limit") or 100, 1), 100)
        deadline = time.monotonic() + max(int_param(params, "timeout") or 0, 0)
        while True:
            event = self.activity.changed
            available = self._available()
            remaining = deadline - time.monotonic()
            if available or remaining <= 0 or self.activity.closing.is_set() or self.webhook:
                handed = available[:limit]
                self.handed_out_ids.update(int(u["update_id"]) for u in handed)
                return copy_json(handed)
            await self.activity.wait(event, remaining)

    def set_webhook(self, params: JsonDict, files: Uploads) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self.delete_webhook(params, files)
        if not url.startswith(("http://", "https://")):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.pending.clear()
        self._set_allowed(params.get("allowed_updates"))
        self.webhook = {"url": url, "secret_token": secret}
        self.webhook_error = None
        pending, self.pending = self.pending, []
        for update in pending:
            self._deliver(update)
        return True

    def delete_webhook(self, params: JsonDict, files: Uploads) -> bool:
        if params.get("drop_pending_updates"):
            self.pending.clear()
            while not self._queue.empty():
                dropped = self._queue.get_nowait()
                self._queued[int(dropped["update_id"])] -= 1
        self.webhook = None
        return True

    def get_webhook_info(self, params: JsonDict, files: Uploads) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending) + self._queue.qsize(),
        }
        if self.webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_error
        if self.allowed != DEFAULT_UPDATE_TYPES:
            info["allowed_updates"] = sorted(self.allowed)
        return info

    # ------------------------------------------------------------------ pushing as people

    def push_message(self, user: TgUser, extra: JsonDict, chat: TgChat | None = None) -> int:
        message = self.state.user_message(user, chat, extra)
        return self.enqueue({"message": copy_json(message)})

    def push_text(self, user: TgUser, text: str, chat: TgChat | None = None) -> int:
        fields: JsonDict = {"text": text}
        command = _COMMAND.match(text)
        if command is not None:
            length = utf16_len(command.group(0))
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.push_message(user, fields, chat)

    def push_edited_location(self, user: TgUser, message_id: int, lat: float, lon: float) -> int:
        original: JsonDict | None = None
        messages = self.state.messages
        chats = [user.id, *(chat_id for chat_id in messages if chat_id != user.id)]
        for chat_id in chats:
            candidate = messages.get(chat_id, {}).get(message_id)
            if candidate is not None and candidate.get("from", {}).get("id") == user.id:
                original = candidate
                break
        if original is None:
            raise AssertionError(f"{user.id} sent no message {message_id} to edit")
        location = dict(original.get("location") or {})
        location.update(latitude=lat, longitude=lon)
        original["location"] = location
        original["edit_date"] = int(time.time())
        return self.enqueue({"edited_message": copy_json(original)})

    def push_callback(
        self, user: TgUser, data: str, message_id: int | None, chat: TgChat | None
    ) -> str:
        query = self.state.new_query(user, data, chat, message_id)
        query_id = str(query["id"])
        self.state.queries[query_id]["update_id"] = self.enqueue({"callback_query": query})
        return query_id

    def redeliver_callback(self, query_id: str) -> int:
        pushed = self.state.queries[query_id]
        update = {"update_id": pushed["update_id"], "callback_query": copy_json(pushed["query"])}
        return self.enqueue(update)

    # ------------------------------------------------------------------ webhook delivery

    def _deliver(self, update: JsonDict) -> None:
        self._queue.put_nowait(update)
        self._queued[int(update["update_id"])] += 1
        self._tasks = {task for task in self._tasks if not task.done()}
        loop = asyncio.get_running_loop()
        while len(self._tasks) < self.webhook_connections:
            self._tasks.add(loop.create_task(self._webhook_worker()))

    async def _webhook_worker(self) -> None:
        while True:
            update = await self._queue.get()
            update_id = int(update["update_id"])
            self._queued[update_id] -= 1
            if self.webhook is None:
                self.pending.append(update)
                continue
            self.activity.in_flight += 1
            self._posting.add(update_id)
            try:
                await self._post_update(self.webhook, update)
            finally:
                self._posting.discard(update_id)
                self.activity.in_flight -= 1
                self.activity.touch()
                self.activity.wake()

    async def _post_update(self, webhook: JsonDict, update: JsonDict) -> None:
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=10))
        headers = {"Content-Type": "application/json"}
        if webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(webhook["secret_token"])
        update_id = int(update["update_id"])
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
                self.webhook_deliveries.append((update_id, 0))
                self.webhook_error = (int(time.time()), f"Connection failed: {error}")
                continue
            self.webhook_deliveries.append((update_id, status))
            if 200 <= status < 300:
                await self._reply(body)
                return
            self.webhook_error = (int(time.time()), f"Wrong response from the webhook: {status}")

    async def _reply(self, body: bytes) -> None:
        """A webhook may answer with a method call in its response body; run it like Telegram."""
        try:
            reply = json.loads(body) if body else None
        except ValueError:
            return
        if not isinstance(reply, dict) or not isinstance(reply.get("method"), str):
            return
        params = {key: value for key, value in reply.items() if key != "method"}
        await self._run_reply(reply["method"], params)
