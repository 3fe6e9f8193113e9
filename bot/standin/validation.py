"""Telegram's checks of what a bot sends: formatted text (through the app's one HTML
parser, bot.core.telegram_html), lengths, reply markups; refusals as Bot API errors."""

from __future__ import annotations

from typing import Any

from bot.core.telegram_html import HtmlError, entities_from_spans, parse, strip
from bot.standin.calls import JsonDict

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
ALERT_LIMIT = 200


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": status, "description": description}``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def error_body(error: ApiError) -> JsonDict:
    body: JsonDict = {"ok": False, "error_code": error.status, "description": error.description}
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return body


class EntityParseError(ValueError):
    """Raised by ``parse_html`` with Telegram's wording of what is wrong."""


def parse_html(text: str) -> tuple[str, list[JsonDict]]:
    """Telegram-flavoured HTML -> (plain text, message entities with UTF-16 offsets).

    Raises ``EntityParseError`` (Telegram's words) for anything Telegram rejects."""
    try:
        plain, spans = parse(text)
    except HtmlError as error:
        raise EntityParseError(error.telegram) from error
    return plain, entities_from_spans(plain, spans)


def strip_html(text: str) -> str:
    """The plain text of HTML markup; lenient (never raises), for reading what was sent."""
    return strip(text)


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


_BUTTON_ACTIONS = (
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
_TEXT_BUTTONS = (
    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)


def _rows(markup: JsonDict, field: str, kind: str) -> list[Any]:
    rows = markup[field]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{field}" of the {kind} must be an Array of Arrays')
    return rows


def validate_reply_markup(markup: Any) -> None:
    """Reject what Telegram rejects in a reply markup (raises ``ApiError``)."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for row in _rows(markup, "inline_keyboard", "InlineKeyboardMarkup"):
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise bad_request(_TEXT_BUTTONS)
                if not any(key in button for key in _BUTTON_ACTIONS):
                    raise bad_request(_TEXT_BUTTONS)
                data = button.get("callback_data")
                if data is not None and (
                    not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
    elif "keyboard" in markup:
        _rows(markup, "keyboard", "ReplyKeyboardMarkup")
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")
