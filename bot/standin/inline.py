"""Inline mode as Telegram plays it: ``inline_query`` updates a person types, the bot's
``answerInlineQuery`` checked like Telegram does, a chosen result posted "via" the bot
(and a ``chosen_inline_result`` update), and following a t.me deep link."""

from __future__ import annotations

import itertools
import re

from bot.standin.calls import JsonDict, copy_json
from bot.standin.chats import ChatState, TgChat, TgUser
from bot.standin.methods import ApiHandler, Uploads
from bot.standin.updates import Updates
from bot.standin.validation import bad_request, render_text, validate_reply_markup

INLINE_RESULTS_LIMIT = 50
INLINE_RESULT_ID_LIMIT = 64
INLINE_QUERY_LIMIT = 256
DEEP_LINK = re.compile(r"https://t\.me/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{1,64})")


class InlineMode:
    def __init__(self, state: ChatState, updates: Updates) -> None:
        self.state = state
        self.updates = updates
        self.queries: dict[str, JsonDict] = {}
        self._ids = itertools.count(1)

    def handlers(self) -> dict[str, ApiHandler]:
        return {"answerInlineQuery": self.answer_inline_query}

    def push_inline_query(
        self,
        user: TgUser,
        query: str,
        *,
        offset: str = "",
        chat_type: str | None = "sender",
        location: tuple[float, float] | None = None,
    ) -> str:
        if len(query) > INLINE_QUERY_LIMIT:
            raise AssertionError("Telegram cuts inline queries at 256 characters")
        query_id = str(7_000_000_000_000 + next(self._ids) * 104729)
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
        self.queries[query_id] = {"query": inline, "answer": None}
        self.updates.enqueue({"inline_query": inline})
        return query_id

    def answer_inline_query(self, params: JsonDict, files: Uploads) -> bool:
        pushed = self.queries.get(str(params.get("inline_query_id", "")))
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
        pushed["answer"] = copy_json(params)
        return True

    def answer(self, query_id: str) -> JsonDict | None:
        pushed = self.queries.get(query_id)
        return None if pushed is None or pushed["answer"] is None else copy_json(pushed["answer"])

    def choose(
        self, user: TgUser, query_id: str, result_id: str, chat: TgChat | None = None
    ) -> JsonDict:
        pushed = self.queries[query_id]
        answer = pushed["answer"]
        if answer is None:
            raise AssertionError(f"inline query {query_id} was not answered")
        result = next((r for r in answer["results"] if r["id"] == result_id), None)
        if result is None:
            raise AssertionError(f"no result {result_id!r} in {answer['results']}")
        content = result.get("input_message_content") or {}
        fields: JsonDict = {"via_bot": self.state.bot_user}
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
        self.state.chats[int(chat_json["id"])] = chat_json
        message = self.state.store_message(int(chat_json["id"]), user.to_json(), copy_json(fields))
        chosen: JsonDict = {
            "result_id": result_id,
            "from": user.to_json(),
            "query": pushed["query"]["query"],
        }
        if "reply_markup" in fields:
            chosen["inline_message_id"] = f"IM{query_id}-{result_id}"[:64]
        self.updates.enqueue({"chosen_inline_result": chosen})
        return copy_json(message)


def deep_link_payload(url: str, bot_username: str) -> str:
    """The /start payload of a t.me link to this bot (raises for another bot's)."""
    match = DEEP_LINK.fullmatch(url)
    if match is None or match[1].lower() != bot_username.lower():
        raise AssertionError(f"{url!r} is not a deep link to @{bot_username}")
    return match[2]
