"""The stand-in's state of the world: people and chats, the messages in them (the bot's
and the people's, edits applied), files, command menus, chat members, pending callback
queries."""

from __future__ import annotations

import collections
import io
import itertools
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.standin.calls import JsonDict, copy_json, int_param
from bot.standin.validation import bad_request


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


def image_size(content: bytes) -> tuple[int, int]:
    """Width and height of an image Pillow reads; (0, 0) for anything else (Telegram would
    still take it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            return int(image.width), int(image.height)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return 0, 0


class ChatState:
    """Chats, messages, files, commands and members, as Telegram keeps them."""

    def __init__(self, bot_user: JsonDict) -> None:
        self.bot_user = bot_user
        self.bot_id = int(bot_user["id"])
        self.chats: dict[int, JsonDict] = {}
        self.messages: dict[int, dict[int, JsonDict]] = collections.defaultdict(dict)
        self._last_message_id: collections.Counter[int] = collections.Counter()
        self.files: dict[str, tuple[bytes, JsonDict]] = {}
        self.file_paths: dict[str, bytes] = {}
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self.queries: dict[str, JsonDict] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        # The menu button per private chat (0: the default for every chat).
        self.menu_buttons: dict[int, JsonDict] = {}
        self.members: dict[tuple[int, int], str] = {}
        self.pinned: dict[int, int] = {}

    # ------------------------------------------------------------------ chats

    def chat_json(self, chat_id: int) -> JsonDict:
        known = self.chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "supergroup", "title": "Group"}

    def require_chat(self, params: JsonDict) -> int:
        if params.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        chat_id = int_param(params, "chat_id")
        if chat_id is None:
            username = str(params["chat_id"]).removeprefix("@").lower()
            for known in self.chats.values():
                if str(known.get("username", "")).lower() == username:
                    return int(known["id"])
            raise bad_request("chat not found")
        return chat_id

    # ------------------------------------------------------------------ messages

    def store_message(self, chat_id: int, sender: JsonDict, fields: JsonDict) -> JsonDict:
        self._last_message_id[chat_id] += 1
        message: JsonDict = {
            "message_id": self._last_message_id[chat_id],
            "from": sender,
            "chat": self.chat_json(chat_id),
            "date": int(time.time()),
            **fields,
        }
        self.messages[chat_id][message["message_id"]] = message
        return message

    def user_message(self, user: TgUser, chat: TgChat | None, fields: JsonDict) -> JsonDict:
        """Store a message a person sends (in their private chat unless `chat`)."""
        chat_json = chat.to_json() if chat is not None else user.private_chat()
        chat_id = int(chat_json["id"])
        self.chats[chat_id] = chat_json
        return self.store_message(chat_id, user.to_json(), copy_json(fields))

    def find_message(self, params: JsonDict, missing: str) -> tuple[int, JsonDict]:
        chat_id = self.require_chat(params)
        message_id = int_param(params, "message_id")
        message = self.messages.get(chat_id, {}).get(message_id or 0)
        if message is None:
            raise bad_request(missing)
        return chat_id, message

    def is_bots(self, message: JsonDict) -> bool:
        sender = message.get("from")
        return isinstance(sender, dict) and sender.get("id") == self.bot_id

    def latest_bot_message_id(self, chat_id: int) -> int | None:
        mine = [mid for mid, m in self.messages.get(chat_id, {}).items() if self.is_bots(m)]
        return max(mine) if mine else None

    def messages_in(self, chat_id: int) -> list[JsonDict]:
        """The bot's messages currently in a chat (edits applied, deletions removed)."""
        return [
            copy_json(message)
            for _, message in sorted(self.messages.get(chat_id, {}).items())
            if self.is_bots(message)
        ]

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """Any stored message (the bot's or a person's), as it is now."""
        found = self.messages.get(chat_id, {}).get(message_id)
        return None if found is None else copy_json(found)

    # ------------------------------------------------------------------ callback queries

    def new_query(
        self, user: TgUser, data: str, chat: TgChat | None, message_id: int | None
    ) -> JsonDict:
        """A callback query on a bot message (the latest one when `message_id` is None)."""
        chat_json = chat.to_json() if chat is not None else user.private_chat()
        chat_id = int(chat_json["id"])
        self.chats.setdefault(chat_id, chat_json)
        if message_id is None:
            message_id = self.latest_bot_message_id(chat_id)
        query_id = str(4_000_000_000_000 + next(self._query_ids) * 7919)
        query: JsonDict = {
            "id": query_id,
            "from": user.to_json(),
            "chat_instance": str(-abs(chat_id) - 777),
            "data": data,
        }
        if message_id is not None:
            message = self.messages.get(chat_id, {}).get(message_id)
            if message is not None:
                query["message"] = copy_json(message)
            else:
                query["message"] = {
                    "chat": self.chat_json(chat_id),
                    "message_id": message_id,
                    "date": 0,
                }
        self.queries[query_id] = {"answered": False, "query": query}
        return query

    # ------------------------------------------------------------------ files

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
        self.files[file_id] = (content, info)
        self.file_paths[path] = content
        return dict(info)

    def file_content(self, file_id: str) -> bytes | None:
        found = self.files.get(file_id)
        return None if found is None else found[0]

    def photo_sizes(self, content: bytes) -> list[JsonDict]:
        """PhotoSize objects for an image: a 320-pixel thumbnail when larger, then the image."""
        width, height = image_size(content)
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

    # ------------------------------------------------------------------ commands

    @staticmethod
    def commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def commands_shown(self, chat: JsonDict, language_code: str | None) -> list[JsonDict]:
        """The command menu Telegram shows a person of `language_code` in `chat`: the most
        specific scope set, each scope with the person's language before the unlabelled
        one."""
        chat_id = int(chat["id"])
        private = chat.get("type") == "private"
        scopes: list[JsonDict] = [
            {"type": "chat", "chat_id": chat_id},
            {"type": "all_private_chats" if private else "all_group_chats"},
            {"type": "default"},
        ]
        for scope in scopes:
            for language in (language_code or "", ""):
                found = self.commands.get(self.commands_key(scope, language))
                if found is not None:
                    return copy_json(found)
        return []

    def menu_button(self, chat_id: int | None = None) -> JsonDict:
        """The menu button set for a private chat (the default one when None)."""
        found = self.menu_buttons.get(chat_id or 0) or self.menu_buttons.get(0)
        return found or {"type": "commands"}
