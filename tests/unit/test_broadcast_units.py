"""Broadcast input checks, without Telegram: HTML as Telegram parses it, buttons, times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.telegram_html import HtmlError, plain_text
from bot.services.broadcasts import (
    DraftError,
    SendPreset,
    check_text,
    parse_button,
    parse_send_time,
    preset_send_time,
)
from bot.standin import EntityParseError, parse_html

SAMPLES = [
    "plain text",
    "<b>bold</b> and <i>italic</i> and <u>u</u> <s>s</s>",
    "<b>nested <i>fine</i></b>",
    '<a href="https://example.org/?a=1&amp;b=2">link</a>',
    '<tg-spoiler>secret</tg-spoiler> <span class="tg-spoiler">also</span>',
    '<pre><code class="language-python">x = 1</code></pre>',
    "<blockquote expandable>quote</blockquote>",
    "Tom &amp; Jerry &lt;3 &#128512; &#x1F600; &quot;q&quot;",
    "a > b",
    "<b>unclosed",
    "<b>crossed <i>tags</b></i>",
    "</b>",
    "<div>html but not Telegram's</div>",
    "<br>",
    "Tom & Jerry",
    "1 < 2",
    "&nbsp;",
    '<span class="other">x</span>',
    "<B>upper</B>",
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_html_is_judged_like_the_bot_api_server(sample: str) -> None:
    try:
        expected: str | None = parse_html(sample)[0]
    except EntityParseError:
        expected = None
    try:
        got: str | None = plain_text(sample)
    except HtmlError:
        got = None
    assert got == expected


def test_text_limits() -> None:
    assert check_text("<b>ok</b>", with_photo=False) == "<b>ok</b>"
    with pytest.raises(DraftError) as error:
        check_text("x" * 1025, with_photo=True)
    assert error.value.code == "too_long" and error.value.params["limit"] == 1024
    check_text("x" * 4096, with_photo=False)
    with pytest.raises(DraftError, match="empty"):
        check_text("<b>  </b>", with_photo=False)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Programme | https://velo.example.org/p", ("Programme", "https://velo.example.org/p")),
        ("A | b | http://x.fr", ("A | b", "http://x.fr")),
        ("no separator", "button_format"),
        (" | https://x.fr", "button_label"),
        ("L | ftp://x.fr", "button_url"),
        ("L | https://localhost", "button_url"),
        ("L | javascript:alert(1)", "button_url"),
        ("L | https://x.fr/a b", "button_url"),
        ("x" * 65 + " | https://x.fr", "button_label"),
    ],
)
def test_link_button(answer: str, expected: object) -> None:
    if isinstance(expected, tuple):
        assert parse_button(answer) == expected
    else:
        with pytest.raises(DraftError) as error:
            parse_button(answer)
        assert error.value.code == expected


NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # 10:00 in Paris
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("18:30", datetime(2026, 3, 4, 17, 30, tzinfo=UTC)),
        ("9h15", datetime(2026, 3, 5, 8, 15, tzinfo=UTC)),  # passed today: tomorrow
        ("05/03 08:00", datetime(2026, 3, 5, 7, 0, tzinfo=UTC)),
        ("01/04/2026 12:00", datetime(2026, 4, 1, 10, 0, tzinfo=UTC)),  # summer time
        ("18 h", datetime(2026, 3, 4, 17, 0, tzinfo=UTC)),
        ("demain 9h", datetime(2026, 3, 5, 8, 0, tzinfo=UTC)),
        ("Tomorrow at 9:30", datetime(2026, 3, 5, 8, 30, tzinfo=UTC)),
        ("04/03 10:00", "time_past"),
        ("31/02 10:00", "time_format"),
        ("tomorrow", "time_format"),
        ("25:00", "time_format"),
        ("01/01/2030 10:00", "too_far"),
    ],
)
def test_send_time(answer: str, expected: object) -> None:
    if isinstance(expected, datetime):
        assert parse_send_time(answer, NOW, PARIS) == expected
    else:
        with pytest.raises(DraftError) as error:
            parse_send_time(answer, NOW, PARIS)
        assert error.value.code == expected


def test_send_presets() -> None:
    assert preset_send_time(SendPreset.IN_ONE_HOUR, NOW, PARIS) == datetime(
        2026, 3, 4, 10, 1, tzinfo=UTC
    )
    # 09:00 in Paris the next day, whatever the hour now.
    assert preset_send_time(SendPreset.TOMORROW_MORNING, NOW, PARIS) == datetime(
        2026, 3, 5, 8, 0, tzinfo=UTC
    )
    late = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # Sunday 00:30 in Paris, DST that night
    assert preset_send_time(SendPreset.TOMORROW_MORNING, late, PARIS) == datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC
    )
