"""Telegram's HTML parse mode, parsed the way the Bot API server does: supported tags only,
properly nested and closed, and `&`/`<` only as entities or tags.

One parser for the app: broadcasts check what an organiser typed before it goes to
thousands of people (`plain_text`, for length limits), and the terminal console draws what
the bot sends (`parse`: the plain text and its formatted spans)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
_ATTRIBUTE = re.compile(
    r"\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)


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
    """What is wrong, in Telegram's terms, and where (character offset)."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} (at character {offset + 1})")
        self.reason = reason
        self.offset = offset


def _entity(text: str, index: int) -> tuple[str, int]:
    match = _ENTITY.match(text, index)
    if match is not None:
        if match[3] is not None:
            char = NAMED_ENTITIES.get(match[3])
        else:
            code = int(match[1]) if match[1] is not None else int(match[2], 16)
            char = chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else None
        if char is not None:
            return char, match.end()
    raise HtmlError("'&' must start an entity such as &amp; or &lt;", index)


def _attributes(raw: str, tag: str, offset: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    position = 0
    raw = raw.rstrip()
    while position < len(raw):
        match = _ATTRIBUTE.match(raw, position)
        if match is None or match.end() == position:
            raise HtmlError(f"unexpected character in the attributes of <{tag}>", offset)
        value = next((group for group in match.groups()[1:] if group is not None), "")
        attributes[match[1].lower()] = value
        position = match.end()
    return attributes


def _check_open(tag: str, attributes: dict[str, str], offset: int) -> None:
    if tag == "a":
        href = attributes.get("href", "")
        if not re.match(r"(https?://|tg://)\S+$", href):
            raise HtmlError('a link needs href="https://…"', offset)
    elif tag == "span" and attributes.get("class") != "tg-spoiler":
        raise HtmlError('<span> must have class="tg-spoiler"', offset)
    elif tag == "tg-emoji" and not attributes.get("emoji-id"):
        raise HtmlError("<tg-emoji> needs an emoji-id", offset)
    elif tag == "tg-time" and not attributes.get("unix", "").isdigit():
        raise HtmlError("<tg-time> needs a unix time", offset)


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
            out.append(char)
            length += 1
            index += 1
            continue
        match = _TAG.match(html, index)
        if match is None:
            raise HtmlError("'<' must start a tag; write &lt; for the character", index)
        closing, name, rest = match[1] == "/", match[2].lower(), match[3] or ""
        if name not in SIMPLE_TAGS and name not in TAGS_WITH_ATTRIBUTES:
            raise HtmlError(f"<{name}> is not a tag Telegram supports", index)
        if closing:
            if not stack:
                raise HtmlError(f"</{name}> closes nothing", index)
            opened = stack.pop()
            if opened.name != name:
                raise HtmlError(f"</{name}> found where </{opened.name}> was expected", index)
            if name == "code" and stack and stack[-1].name == "pre":
                # <pre><code class="language-x">: one pre entity with a language.
                css = opened.attributes.get("class", "")
                if css.startswith("language-"):
                    stack[-1].attributes["language"] = css.removeprefix("language-")
            elif length > opened.start:
                spans.append(_span(opened, length))
        else:
            attributes = _attributes(rest, name, index)
            _check_open(name, attributes, index)
            stack.append(_Open(name, index, length, attributes))
        index = match.end()
    if stack:
        raise HtmlError(f"<{stack[-1].name}> is never closed", stack[-1].offset)
    return "".join(out), sorted(spans, key=lambda span: (span.start, -span.end))
