"""The Bot API methods about chats and messages, answered as Telegram does (over the
stand-in's `ChatState`); updates and webhooks are in bot.standin.updates."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.standin.calls import JsonDict, copy_json, int_param
from bot.standin.chats import ChatState
from bot.standin.validation import (
    ALERT_LIMIT,
    bad_request,
    render_text,
    validate_reply_markup,
)

ApiHandler = Callable[[JsonDict, "Uploads"], Any | Awaitable[Any]]

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_MEDIA = frozenset({"photo", "document", "video", "audio", "animation"})


class Uploads(dict[str, bytes]):
    """Uploaded files by parameter name, with the file names the client gave."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, str] = {}


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


class ChatMethods:
    """getMe, send*, edit*, deleteMessage, answerCallbackQuery, files, commands, members."""

    def __init__(self, state: ChatState) -> None:
        self.state = state

    def handlers(self) -> dict[str, ApiHandler]:
        return {
            "getMe": self.get_me,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageMedia": self.edit_message_media,
            "editMessageCaption": self.edit_message_caption,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "sendLocation": self.send_location,
            "sendVenue": self.send_venue,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendChatAction": self.send_chat_action,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "getChatMember": self.get_chat_member,
            "getChat": self.get_chat,
            "getFile": self.get_file,
            "pinChatMessage": self.pin_chat_message,
        }

    # ------------------------------------------------------------------ helpers

    def _reply_to(self, chat_id: int, params: JsonDict) -> JsonDict:
        """The ``reply_to_message`` field for ``reply_parameters`` / ``reply_to_message_id``."""
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        if message_id is None:
            message_id = int_param(params, "reply_to_message_id")
        if message_id is None:
            return {}
        original = self.state.messages.get(chat_id, {}).get(int(message_id))
        if original is None:
            if isinstance(reply, dict) and reply.get("allow_sending_without_reply"):
                return {}
            raise bad_request("message to be replied not found")
        quoted = {key: value for key, value in original.items() if key != "reply_to_message"}
        return {"reply_to_message": copy_json(quoted)}

    def _send(self, params: JsonDict, fields: JsonDict) -> JsonDict:
        """Store and return a new bot message for send* methods (common fields added)."""
        chat_id = self.state.require_chat(params)
        markup = params.get("reply_markup")
        validate_reply_markup(markup)
        extra = self._reply_to(chat_id, params)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            extra["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        message = self.state.store_message(chat_id, self.state.bot_user, {**fields, **extra})
        return copy_json(message)

    @staticmethod
    def _text_fields(params: JsonDict, *, caption: bool) -> JsonDict:
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
            raise bad_request(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        message.clear()
        message.update(new)
        return copy_json(message)

    def _editable(self, params: JsonDict) -> JsonDict | None:
        """The message an edit targets; None for inline messages (not tracked)."""
        if params.get("inline_message_id"):
            return None
        _, message = self.state.find_message(params, "message to edit not found")
        if not self.state.is_bots(message):
            raise bad_request("message can't be edited")
        return message

    # ------------------------------------------------------------------ methods

    def get_me(self, params: JsonDict, files: Uploads) -> JsonDict:
        return {
            **self.state.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    def send_message(self, params: JsonDict, files: Uploads) -> JsonDict:
        self.state.require_chat(params)
        return self._send(params, self._text_fields(params, caption=False))

    def edit_message_text(self, params: JsonDict, files: Uploads) -> JsonDict | bool:
        message = self._editable(params)
        fields = {"entities": None, **self._text_fields(params, caption=False)}
        if message is None:
            return True
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        return self._edit(message, fields, params)

    def edit_message_caption(self, params: JsonDict, files: Uploads) -> JsonDict | bool:
        message = self._editable(params)
        fields: JsonDict = {"caption": None, "caption_entities": None}
        fields.update(self._text_fields(params, caption=True))
        if message is None:
            return True
        if not (_MEDIA & message.keys()):
            raise bad_request("there is no caption in the message to edit")
        return self._edit(message, fields, params)

    def edit_message_media(self, params: JsonDict, files: Uploads) -> JsonDict | bool:
        """A photo (or other media) replaced under its caption: a list and its map."""
        message = self._editable(params)
        media = params.get("media")
        kinds = {"photo", "document", "video", "animation", "audio"}
        if not isinstance(media, dict) or media.get("type") not in kinds:
            raise bad_request("can't parse InputMedia JSON object")
        source = media.get("media")
        if not isinstance(source, str) or not source:
            raise bad_request("there is no media in the request")
        if source.startswith("attach://"):
            content = files.get(source.removeprefix("attach://"))
            if content is None:
                raise bad_request("can't find attached file")
        else:
            content = self._input_file({"media": source}, Uploads(), "media")
        if message is None:
            return True
        if not (kinds & message.keys()):
            raise bad_request("there is no media in the message to edit")
        caption = self._text_fields(
            {
                "caption": media.get("caption"),
                "parse_mode": media.get("parse_mode"),
                "caption_entities": media.get("caption_entities"),
            },
            caption=True,
        )
        fields: JsonDict = dict.fromkeys(kinds)
        fields.update(caption=None, caption_entities=None)
        if media["type"] == "photo":
            fields["photo"] = self.state.photo_sizes(content)
        else:
            info = self.state.add_file(content, name=str(media["type"]))
            fields[media["type"]] = {
                "file_id": info["file_id"],
                "file_unique_id": info["file_unique_id"],
                "file_size": len(content),
            }
        fields.update(caption)
        return self._edit(message, fields, params)

    def edit_message_reply_markup(self, params: JsonDict, files: Uploads) -> JsonDict | bool:
        message = self._editable(params)
        if message is None:
            return True
        return self._edit(message, {}, params)

    def delete_message(self, params: JsonDict, files: Uploads) -> bool:
        chat_id, message = self.state.find_message(params, "message to delete not found")
        del self.state.messages[chat_id][message["message_id"]]
        return True

    def pin_chat_message(self, params: JsonDict, files: Uploads) -> bool:
        chat_id, message = self.state.find_message(params, "message to pin not found")
        self.state.pinned[chat_id] = message["message_id"]
        return True

    def answer_callback_query(self, params: JsonDict, files: Uploads) -> bool:
        query = self.state.queries.get(str(params.get("callback_query_id", "")))
        if query is None or query.get("answered"):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > ALERT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        query["answered"] = True
        return True

    def send_chat_action(self, params: JsonDict, files: Uploads) -> bool:
        self.state.require_chat(params)
        if not params.get("action"):
            raise bad_request("action is empty")
        return True

    def send_location(self, params: JsonDict, files: Uploads) -> JsonDict:
        return self._send(params, {"location": _location(params)})

    def send_venue(self, params: JsonDict, files: Uploads) -> JsonDict:
        location = _location(params)
        if not params.get("title") or not params.get("address"):
            raise bad_request("venue title and address must be non-empty")
        venue: JsonDict = {"location": location, "title": params["title"]}
        venue["address"] = params["address"]
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if params.get(key):
                venue[key] = params[key]
        return self._send(params, {"venue": venue, "location": location})

    def _input_file(self, params: JsonDict, files: Uploads, key: str) -> bytes:
        """The content of a file parameter: an upload, a known file_id or an HTTP URL."""
        if key in files:
            return files[key]
        value = params.get(key)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {key} in the request")
        known = self.state.file_content(value)
        if known is not None:
            return known
        if value.startswith(("http://", "https://")):
            return b""
        raise bad_request("wrong file identifier/HTTP URL specified")

    def send_photo(self, params: JsonDict, files: Uploads) -> JsonDict:
        self.state.require_chat(params)
        content = self._input_file(params, files, "photo")
        fields = self._text_fields(params, caption=True)
        return self._send(params, {"photo": self.state.photo_sizes(content), **fields})

    def send_document(self, params: JsonDict, files: Uploads) -> JsonDict:
        self.state.require_chat(params)
        content = self._input_file(params, files, "document")
        fields = self._text_fields(params, caption=True)
        name = files.names.get("document") or "document"
        info = self.state.add_file(content, name=name)
        document: JsonDict = {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "file_name": name,
            "file_size": len(content),
        }
        return self._send(params, {"document": document, **fields})

    def get_file(self, params: JsonDict, files: Uploads) -> JsonDict:
        found = self.state.files.get(str(params.get("file_id") or ""))
        if found is None:
            raise bad_request("invalid file_id")
        return dict(found[1])

    def set_my_commands(self, params: JsonDict, files: Uploads) -> bool:
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
        key = self.state.commands_key(params.get("scope"), params.get("language_code"))
        self.state.commands[key] = copy_json(commands)
        return True

    def get_my_commands(self, params: JsonDict, files: Uploads) -> list[JsonDict]:
        key = self.state.commands_key(params.get("scope"), params.get("language_code"))
        return copy_json(self.state.commands.get(key, []))

    def set_chat_menu_button(self, params: JsonDict, files: Uploads) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        kind = button.get("type") if isinstance(button, dict) else None
        if kind not in {"default", "commands", "web_app"}:
            raise bad_request("can't parse menu button")
        if kind == "web_app":
            url = (button.get("web_app") or {}).get("url")
            # Telegram wants https; plain http is let through for this machine's servers.
            if not isinstance(url, str) or not url.startswith(("https://", "http://127.0.0.1")):
                raise bad_request("BUTTON_URL_INVALID")
            if not isinstance(button.get("text"), str) or not button["text"]:
                raise bad_request("menu button text is empty")
        self.state.menu_buttons[int_param(params, "chat_id") or 0] = copy_json(button)
        return True

    def get_chat_menu_button(self, params: JsonDict, files: Uploads) -> JsonDict:
        return copy_json(self.state.menu_button(int_param(params, "chat_id")))

    def delete_my_commands(self, params: JsonDict, files: Uploads) -> bool:
        key = self.state.commands_key(params.get("scope"), params.get("language_code"))
        self.state.commands.pop(key, None)
        return True

    def get_chat_member(self, params: JsonDict, files: Uploads) -> JsonDict:
        chat_id = self.state.require_chat(params)
        user_id = int_param(params, "user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        status = self.state.members.get((chat_id, user_id), "member")
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": "User"}
        if user_id == self.state.bot_id:
            user = dict(self.state.bot_user)
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

    def get_chat(self, params: JsonDict, files: Uploads) -> JsonDict:
        chat_id = self.state.require_chat(params)
        gifts = (
            "unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels"
        )
        return {
            **self.state.chat_json(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {name: False for name in gifts.split()},
        }
