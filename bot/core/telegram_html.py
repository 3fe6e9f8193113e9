"""Telegram's HTML parse mode, parsed the way the Bot API server does: supported tags only,
properly nested and closed, and `&`/`<` only as entities or tags.

One parser for the app: broadcasts check what an organiser typed before it goes to
thousands of people (`plain_text`, for length limits), the Bot API stand-in
(bot.standin) judges and stores what the bot sends exactly as Telegram would (`parse`, then
`entities_from_spans` for the MessageEntity objects with their UTF-16 offsets), and the
terminal console draws messages from their entities (`spans_from_entities`).

Positions: `Span` uses Python string indices; Telegram's entities count UTF-16 code units
(an emoji outside the BMP is two). `utf16_len` and the two conversions are the one place
that difference is handled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import unescape as _unescape_html
from typing import Any

# Tag -> the MessageEntity type it makes.
SIMPLE_TAGS = {
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
    "code": "code",
    "pre": "pre",
}
TAGS_WITH_ATTRIBUTES = frozenset({"a", "span", "blockquote", "tg-emoji", "tg-time"})
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
# A run of plain text: taken whole, not character by character (most of a message).
_PLAIN = re.compile(r"[^<&]+")
_ATTRIBUTE = re.compile(
    r"\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)
_USER_LINK = re.compile(r"tg://user\?id=(\d+)")


@dataclass(frozen=True, slots=True)
class Span:
    """A formatted range of plain text, in Python string indices."""

    start: int
    end: int
    kind: str  # a MessageEntity type: bold, italic, text_link, pre, blockquote…
    url: str | None = None
    language: str | None = None
    extra: str | None = None  # custom_emoji_id, or the unix time of a date_time


class HtmlError(ValueError):
    """What is wrong, in plain words, and where (character offset). `telegram` is how the
    Bot API words the same refusal ("Unsupported start tag "x" at byte offset 3"), after
    "Bad Request: can't parse entities: "."""

    def __init__(self, reason: str, offset: int, telegram: str = "") -> None:
        super().__init__(f"{reason} (at character {offset + 1})")
        self.reason = reason
        self.offset = offset
        self.telegram = telegram or reason


# ----------------------------------------------------------------------------- UTF-16


def utf16_len(text: str) -> int:
    """Telegram's length of a text: UTF-16 code units."""
    # Two bytes per code unit; surrogatepass keeps a lone surrogate one unit, as Telegram
    # counts it, instead of failing.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_to_index(text: str) -> list[int]:
    """For every UTF-16 offset of `text` (and its end): the Python index it falls on."""
    table: list[int] = []
    for index, char in enumerate(text):
        table.extend((index, index) if ord(char) > 0xFFFF else (index,))
    table.append(len(text))
    return table


def entities_from_spans(text: str, spans: Iterable[Span]) -> list[dict[str, Any]]:
    """MessageEntity dicts (UTF-16 offsets, Bot API field names) for spans of `text`."""
    entities: list[dict[str, Any]] = []
    for span in spans:
        entity: dict[str, Any] = {
            "offset": utf16_len(text[: span.start]),
            "length": utf16_len(text[span.start : span.end]),
            "type": span.kind,
        }
        user = _USER_LINK.fullmatch(span.url or "") if span.kind == "text_link" else None
        if user is not None:
            entity["type"] = "text_mention"
            entity["user"] = {"id": int(user[1]), "is_bot": False, "first_name": ""}
        elif span.url:
            entity["url"] = span.url
        if span.language:
            entity["language"] = span.language
        if span.kind == "custom_emoji" and span.extra:
            entity["custom_emoji_id"] = span.extra
        if span.kind == "date_time":
            if not (span.extra or "").isdigit():
                continue
            entity["unix_time"] = int(span.extra or 0)
        entities.append(entity)
    return entities


def spans_from_entities(text: str, entities: Iterable[Mapping[str, Any]]) -> list[Span]:
    """Spans (Python indices) of MessageEntity dicts over `text`, outer ones first."""
    table = utf16_to_index(text)

    def at(offset: int) -> int:
        return table[min(max(offset, 0), len(table) - 1)]

    spans: list[Span] = []
    for entity in entities:
        offset, length = int(entity.get("offset", 0)), int(entity.get("length", 0))
        extra = entity.get("custom_emoji_id")
        if extra is None and entity.get("unix_time") is not None:
            extra = str(entity["unix_time"])
        spans.append(
            Span(
                at(offset),
                at(offset + length),
                str(entity.get("type", "")),
                entity.get("url"),
                entity.get("language"),
                extra,
            )
        )
    return sorted(spans, key=lambda s: (s.start, -s.end))


# ----------------------------------------------------------------------------- parsing


def _byte_offset(html: str, index: int) -> int:
    return len(html[:index].encode("utf-8"))


def _decode(html: str, index: int) -> str | None:
    """The character of the entity at `html[index] == "&"`, or None when there is none."""
    match = _ENTITY.match(html, index)
    if match is None:
        return None
    if match[3] is not None:
        return NAMED_ENTITIES.get(match[3])
    code = int(match[1]) if match[1] is not None else int(match[2], 16)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else None


def _entity(html: str, index: int) -> tuple[str, int]:
    char = _decode(html, index)
    if char is not None:
        match = _ENTITY.match(html, index)
        assert match is not None
        return char, match.end()
    raise HtmlError(
        "'&' must start an entity such as &amp; or &lt;",
        index,
        f"Character entity expected at byte offset {_byte_offset(html, index)}; "
        "escape '&' as &amp;",
    )


def _unescape_attribute(value: str) -> str:
    """Attribute values are decoded too; a lone '&' stays as written."""
    out: list[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        decoded = _decode(value, index) if char == "&" else None
        if decoded is None:
            out.append(char)
            index += 1
            continue
        match = _ENTITY.match(value, index)
        assert match is not None
        out.append(decoded)
        index = match.end()
    return "".join(out)


def _attributes(raw: str, tag: str, offset: int, byte_offset: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    position = 0
    raw = raw.rstrip()
    while position < len(raw):
        match = _ATTRIBUTE.match(raw, position)
        if match is None or match.end() == position:
            raise HtmlError(
                f"unexpected character in the attributes of <{tag}>",
                offset,
                f'Unexpected character in the tag "{tag}" attributes at byte offset {byte_offset}',
            )
        value = next((group for group in match.groups()[1:] if group is not None), "")
        attributes[match[1].lower()] = _unescape_attribute(value)
        position = match.end()
    return attributes


def _check_open(tag: str, attributes: dict[str, str], offset: int, byte_offset: int) -> None:
    where = f"at byte offset {byte_offset}"
    if tag == "a":
        href = attributes.get("href", "")
        if not re.match(r"(https?://|tg://)\S+$", href):
            raise HtmlError(
                'a link needs href="https://…"',
                offset,
                f'Tag "a" must have a valid URL in attribute "href" {where}',
            )
    elif tag == "span" and attributes.get("class") != "tg-spoiler":
        raise HtmlError(
            '<span> must have class="tg-spoiler"',
            offset,
            f'Tag "span" must have class "tg-spoiler" {where}',
        )
    elif tag == "tg-emoji" and not attributes.get("emoji-id"):
        raise HtmlError(
            "<tg-emoji> needs an emoji-id",
            offset,
            f'Tag "tg-emoji" must have attribute "emoji-id" {where}',
        )
    elif tag == "tg-time" and not attributes.get("unix", "").isdigit():
        raise HtmlError(
            "<tg-time> needs a unix time",
            offset,
            f'Tag "tg-time" must have attribute "unix" {where}',
        )


@dataclass(slots=True)
class _Open:
    name: str
    offset: int  # in the markup, for errors
    start: int  # in the plain text
    attributes: dict[str, str]


def _span(tag: _Open, end: int) -> Span:
    name, start, attributes = tag.name, tag.start, tag.attributes
    if name in SIMPLE_TAGS:
        language = attributes.get("language") if name == "pre" else None
        return Span(start, end, SIMPLE_TAGS[name], language=language)
    if name == "span":
        return Span(start, end, "spoiler")
    if name == "a":
        return Span(start, end, "text_link", url=attributes.get("href"))
    if name == "blockquote":
        kind = "expandable_blockquote" if "expandable" in attributes else "blockquote"
        return Span(start, end, kind)
    if name == "tg-emoji":
        return Span(start, end, "custom_emoji", extra=attributes.get("emoji-id"))
    return Span(start, end, "date_time", extra=attributes.get("unix"))


def plain_text(html: str) -> str:
    """Validate Telegram HTML and return its plain text; raise HtmlError otherwise."""
    return parse(html)[0]


def _not_a_tag(html: str, index: int) -> HtmlError:
    byte_offset = _byte_offset(html, index)
    end = html.find(">", index)
    if end == -1:
        telegram = f"Unclosed start tag at byte offset {byte_offset}"
    else:
        word = html[index + 1 : end].split(" ", 1)[0]
        telegram = f'Unsupported start tag "{word}" at byte offset {byte_offset}'
    return HtmlError("'<' must start a tag; write &lt; for the character", index, telegram)


def _close(html: str, index: int, name: str, stack: list[_Open]) -> _Open:
    """Pop the tag `</name>` closes, or raise."""
    if stack and stack[-1].name == name:
        return stack.pop()
    where = f"at byte offset {_byte_offset(html, index)}"
    supported = name in SIMPLE_TAGS or name in TAGS_WITH_ATTRIBUTES
    if not stack:
        reason = (
            f"</{name}> closes nothing" if supported else f"<{name}> is not a tag Telegram supports"
        )
        raise HtmlError(reason, index, f'Unexpected end tag "{name}" {where}')
    opened = stack.pop()
    if opened.name != name:
        reason = (
            f"</{name}> found where </{opened.name}> was expected"
            if supported
            else f"<{name}> is not a tag Telegram supports"
        )
        telegram = f'Unmatched end tag {where}, expected "</{opened.name}>", found "</{name}>"'
        raise HtmlError(reason, index, telegram)
    return opened


def parse(html: str) -> tuple[str, list[Span]]:
    """Telegram HTML -> (plain text, its spans, outer ones first); raises HtmlError where
    Telegram would refuse the message."""
    out: list[str] = []
    length = 0
    spans: list[Span] = []
    stack: list[_Open] = []
    index = 0
    while index < len(html):
        char = html[index]
        if char == "&":
            decoded, index = _entity(html, index)
            out.append(decoded)
            length += len(decoded)
            continue
        if char != "<":
            plain = _PLAIN.match(html, index)
            assert plain is not None  # html[index] is neither "<" nor "&"
            out.append(plain[0])
            length += len(plain[0])
            index = plain.end()
            continue
        match = _TAG.match(html, index)
        if match is None:
            raise _not_a_tag(html, index)
        closing, name, rest = match[1] == "/", match[2].lower(), match[3] or ""
        if closing:
            opened = _close(html, index, name, stack)
            if name == "code" and stack and stack[-1].name == "pre":
                # <pre><code class="language-x">: one pre entity with a language.
                css = opened.attributes.get("class", "")
                if css.startswith("language-"):
                    stack[-1].attributes["language"] = css.removeprefix("language-")
            elif length > opened.start:
                spans.append(_span(opened, length))
        else:
            if name not in SIMPLE_TAGS and name not in TAGS_WITH_ATTRIBUTES:
                raise HtmlError(
                    f"<{name}> is not a tag Telegram supports",
                    index,
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(html, index)}',
                )
            byte_offset = _byte_offset(html, index)
            attributes = _attributes(rest, name, index, byte_offset)
            _check_open(name, attributes, index, byte_offset)
            stack.append(_Open(name, index, length, attributes))
        index = match.end()
    if stack:
        name = stack[-1].name
        raise HtmlError(
            f"<{name}> is never closed",
            stack[-1].offset,
            f'Can\'t find end tag corresponding to start tag "{name}"',
        )
    return "".join(out), sorted(spans, key=lambda span: (span.start, -span.end))


def strip(html: str) -> str:
    """The plain text of markup, never raising: what a reader of a sent message sees
    (unparsable markup loses its tags and keeps its entities decoded)."""
    try:
        return parse(html)[0]
    except HtmlError:
        return _unescape_html(re.sub(r"<[^<>]*>", "", html))
