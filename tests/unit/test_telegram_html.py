"""The app's one Telegram-HTML parser: spans for the console, the same verdict for every
string the bot can send."""

from __future__ import annotations

import pytest

from bot.core.telegram_html import (
    HtmlError,
    Span,
    entities_from_spans,
    parse,
    spans_from_entities,
    strip,
    utf16_len,
    utf16_to_index,
)
from tests.support.texts import tr


def test_spans_of_every_supported_tag() -> None:
    text, spans = parse(
        '<b>a</b><a href="https://e.org">l</a><span class="tg-spoiler">s</span>'
        '<blockquote expandable>q</blockquote><tg-emoji emoji-id="5">🌱</tg-emoji>'
        '<tg-time unix="1700000000">t</tg-time><pre><code class="language-py">x</code></pre>'
        "<pre><code>y</code></pre><i></i>"
    )
    assert text == "alsq🌱txy"
    assert spans == [
        Span(0, 1, "bold"),
        Span(1, 2, "text_link", url="https://e.org"),
        Span(2, 3, "spoiler"),
        Span(3, 4, "expandable_blockquote"),
        Span(4, 5, "custom_emoji", extra="5"),
        Span(5, 6, "date_time", extra="1700000000"),
        Span(6, 7, "pre", language="py"),
        Span(7, 8, "pre"),
    ]


def test_nested_spans_come_outer_first_and_entities_count_as_one_character() -> None:
    text, spans = parse("<b>x &amp; <i>y</i></b>")
    assert text == "x & y"
    assert spans == [Span(0, 5, "bold"), Span(4, 5, "italic")]


@pytest.mark.parametrize("bad", ['<tg-time unix="soon">t</tg-time>', "&nbsp;", "<b>x"])
def test_what_telegram_refuses(bad: str) -> None:
    with pytest.raises(HtmlError):
        parse(bad)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_locale_string_is_html_telegram_accepts(locale: str) -> None:
    translator = tr
    refused = {}
    for key in translator.keys(locale):
        try:
            parse(translator.t(key, locale))
        except HtmlError as error:
            refused[key] = str(error)
    assert refused == {}


def test_utf16_lengths_and_entities_round_trip() -> None:
    text, spans = parse('🌱 <b>vert</b> <i>é</i> <a href="tg://user?id=42">Léa</a>')
    assert utf16_len("🌱") == 2 and utf16_len(text) == len(text) + 1
    entities = entities_from_spans(text, spans)
    assert entities[0] == {"offset": 3, "length": 4, "type": "bold"}
    assert entities[2]["type"] == "text_mention" and entities[2]["user"]["id"] == 42
    back = spans_from_entities(text, entities)
    assert [(s.start, s.end) for s in back] == [(s.start, s.end) for s in spans]
    assert utf16_to_index("a🌱b") == [0, 1, 1, 2, 3]


def test_attribute_values_are_decoded_and_refusals_worded_like_telegram() -> None:
    _, spans = parse('<a href="https://e.org/?a=1&amp;b=2">x</a>')
    assert spans[0].url == "https://e.org/?a=1&b=2"
    with pytest.raises(HtmlError) as error:
        parse("é <script>x</script>")
    assert error.value.telegram == 'Unsupported start tag "script" at byte offset 3'
    assert "not a tag Telegram supports" in str(error.value)
    with pytest.raises(HtmlError) as error:
        parse("<b>x")
    assert error.value.telegram == 'Can\'t find end tag corresponding to start tag "b"'


def test_strip_never_raises() -> None:
    assert strip("<b>a</b> &amp;") == "a &"
    assert strip("a < b & <x>c</x>") == "a < b & c"
