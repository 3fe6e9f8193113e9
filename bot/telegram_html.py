"""Check HTML an organiser types the way Telegram's parser does, before it is sent to
thousands of people: supported tags only, properly nested and closed, and `&`/`<` only as
entities or tags. Returns the plain text (for length limits)."""

from __future__ import annotations

import re

SIMPLE_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "code", "pre"}
)
TAGS_WITH_ATTRIBUTES = frozenset({"a", "span", "blockquote", "tg-emoji"})
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_ATTRIBUTE = re.compile(
    r"\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)


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


def plain_text(html: str) -> str:
    """Validate Telegram HTML and return its plain text; raise HtmlError otherwise."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    index = 0
    while index < len(html):
        char = html[index]
        if char == "&":
            decoded, index = _entity(html, index)
            out.append(decoded)
            continue
        if char != "<":
            out.append(char)
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
            opened, _ = stack.pop()
            if opened != name:
                raise HtmlError(f"</{name}> found where </{opened}> was expected", index)
        else:
            _check_open(name, _attributes(rest, name, index), index)
            stack.append((name, index))
        index = match.end()
    if stack:
        name, offset = stack[-1]
        raise HtmlError(f"<{name}> is never closed", offset)
    return "".join(out)
