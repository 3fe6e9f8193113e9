"""Telegram's formatted text drawn with rich: plain text plus spans (from the message's
entities, through bot.core.telegram_html) -> a rich `Text`. Nothing a person or the bot
writes is ever read as rich markup."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from bot.core.telegram_html import HtmlError, Span, parse

_SPAN_STYLES = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "spoiler": "grey50 on grey19",
    "code": "bold cyan",
    "pre": "cyan",
    "text_link": "underline bright_blue",
    "url": "underline bright_blue",
    "email": "underline bright_blue",
    "mention": "bright_blue",
    "text_mention": "bright_blue",
    "hashtag": "bright_blue",
    "bot_command": "bright_blue",
    "blockquote": "italic",
    "expandable_blockquote": "italic",
}
_QUOTE_BAR = "▎ "


def to_rich_text(text: str, spans: Sequence[Span], base_style: str = "") -> Text:
    """Plain text and spans as a rich Text: styles, "(url)" after links, a bar before quotes."""
    inserts: dict[int, list[Text]] = {}
    for span in spans:
        if span.kind == "text_link" and span.url and span.url != text[span.start : span.end]:
            inserts.setdefault(span.end, []).append(Text(f" ({span.url})", style="dim"))
        elif span.kind in ("blockquote", "expandable_blockquote"):
            starts = [span.start] + [
                i + 1 for i in range(span.start, span.end - 1) if text[i] == "\n"
            ]
            for line_start in starts:
                inserts.setdefault(line_start, []).append(Text(_QUOTE_BAR, style="green"))
    out = Text(style=base_style)
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    position = 0
    for cut in sorted({*inserts, len(text)}):
        out.append(text[position:cut])
        before[cut] = len(out)
        for piece in inserts.get(cut, ()):
            out.append_text(piece)
        after[cut] = len(out)
        position = cut

    def start_of(index: int) -> int:
        if index in after:
            return after[index]
        return _shift(index, after)

    def end_of(index: int) -> int:
        if index in before:
            return before[index]
        return _shift(index, after)

    for span in spans:
        style = _SPAN_STYLES.get(span.kind)
        if style and span.end > span.start:
            out.stylize(style, start_of(span.start), end_of(span.end))
    return out


def _shift(index: int, after: dict[int, int]) -> int:
    """Position in the rendered text of plain index `index` (no insertion at it)."""
    previous = max((cut for cut in after if cut < index), default=None)
    if previous is None:
        return index
    return after[previous] + (index - previous)


def html_text(markup: str, base_style: str = "") -> Text:
    """Our own chrome strings (trusted, from locales) with their few HTML tags."""
    try:
        plain, spans = parse(markup)
    except HtmlError:
        return Text(markup, style=base_style)
    return to_rich_text(plain, spans, base_style)
