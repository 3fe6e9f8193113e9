"""hypothesis strategies for what a hostile (or merely unlucky) person can send."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, get_args

from aiogram.filters.callback_data import CallbackData
from hypothesis import strategies as st

from bot.ui.callbacks import ALL_CALLBACKS

TEXT_LIMIT = 4096
CALLBACK_LIMIT = 64

# Every unicode category but surrogates (Telegram sends valid UTF-8 only).
any_char = st.characters(exclude_categories=["Cs"])
tricky_chars = st.sampled_from(
    [
        "\u200b",  # zero-width space
        "\u200d",  # zero-width joiner
        "\u202e",  # right-to-left override
        "\u2066",  # left-to-right isolate
        "\ufeff",  # byte order mark
        "\u0301",  # combining acute
        "\u0000",
        "\u0007",
        "\u001b",
        "\u007f",
        "\u0085",
        "\u2028",
        "\U0001f331",  # 🌱, astral
        "\U0001f469\u200d\U0001f4bb",  # a ZWJ emoji sequence
        "\U00010348",  # astral letter
        "\u05d0\u05d1",  # Hebrew (RTL)
        "\u0627\u0644",  # Arabic (RTL)
        "Z\u0335\u0327",  # zalgo-ish
        "\t",
        "\n",
        "\r\n",
        " ",
    ]
)
markup = st.sampled_from(
    [
        "<b>",
        "</b>",
        "<b>x</b>",
        "</i>",
        "<i>",
        "&amp;",
        "&lt;",
        "&",
        "&#0;",
        "&#x110000;",
        "&nbsp;",
        "<",
        ">",
        "<a href='tg://user?id=1'>x</a>",
        '<a href="javascript:alert(1)">',
        "<script>",
        "<tg-spoiler>",
        "<pre><code class='language-py'>",
        "<blockquote expandable>",
        "*bold*",
        "_it_",
        "[x](http://e.com)",
        "`code`",
        "~strike~",
        "||spoiler||",
        "\\",
        "{}",
        "{name}",
        "%s",
        "%(x)s",
        "${x}",
        "makers.card.title",
        "None",
    ]
)
plain_words = st.sampled_from(
    [
        "Bordeaux",
        "pain",
        "0",
        "-1",
        "99999999999999999999",
        "1e308",
        "nan",
        "oui",
        "yes",
        "33000",
        "18:00",
        "https://example.org",
        "+33 6 00 00 00 00",
    ]
)

hostile_text = st.one_of(
    st.text(any_char, min_size=1, max_size=TEXT_LIMIT),
    st.sampled_from(["a\x00b", "<b>x</b>", "&", "\u202e", "x" * TEXT_LIMIT, "/", "@"]),
    st.lists(
        st.one_of(markup, tricky_chars, plain_words, st.text(any_char, max_size=5)),
        min_size=1,
        max_size=30,
    ).map("".join),
    st.integers(1, TEXT_LIMIT).map(lambda n: ("é" * n)[:TEXT_LIMIT]),
    st.integers(1, TEXT_LIMIT // 2).map(lambda n: "🌱" * n),
).filter(lambda s: 0 < len(s.encode("utf-16-le")) // 2 <= TEXT_LIMIT)

name_text = st.one_of(
    st.text(any_char, min_size=1, max_size=64),
    st.sampled_from(["Mal\x00lory", "\u202eyrollaM", "<b>Mal</b>", "&amp;", "{name}", " "]),
    st.lists(st.one_of(markup, tricky_chars), min_size=1, max_size=8).map(
        lambda p: "".join(p)[:64]
    ),
).filter(lambda s: s.strip() != "")


def commands_with_junk(commands: Sequence[str]) -> st.SearchStrategy[str]:
    suffix = st.sampled_from(["", "@greenhood_test_bot", "@other_bot", "@", "@GREENHOOD_TEST_BOT"])
    junk = st.one_of(
        st.just(""),
        st.text(any_char, max_size=60).map(lambda s: " " + s),
        markup.map(lambda s: " " + s),
        plain_words.map(lambda s: " " + s),
    )
    return st.builds(lambda c, s, j: f"/{c}{s}{j}", st.sampled_from(list(commands)), suffix, junk)


def _fits(data: str) -> bool:
    return 0 < len(data.encode()) <= CALLBACK_LIMIT


EDGE_INTS = [0, -1, 1, 2**31, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30]


def _field_values(annotation: Any, ids: Sequence[int]) -> st.SearchStrategy[str]:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        valid = st.sampled_from([str(member.value) for member in annotation])
        junk = st.text(any_char, max_size=6).filter(lambda s: ":" not in s)
        return st.one_of(valid, valid, valid, junk)
    if annotation is int:
        numbers = st.one_of(
            st.sampled_from(list(ids) or [1]),
            st.sampled_from(list(ids) or [1]),
            st.sampled_from(EDGE_INTS),
            st.integers(),
        )
        junk = st.sampled_from(["", "x", "1.5", "0x10", "\u0661", " 1", "1_0", "+1"])
        return st.one_of(numbers.map(str), numbers.map(str), numbers.map(str), junk)
    if get_args(annotation):
        return st.one_of(
            *(_field_values(a, ids) for a in get_args(annotation) if a is not type(None))
        )
    return st.text(any_char, max_size=8).filter(lambda s: ":" not in s)


def mutated_callback(cls: type[CallbackData], ids: Sequence[int]) -> st.SearchStrategy[str]:
    """Right prefix, any (or no) value for each field: other people's ids, unknown enum
    members, numbers out of range, missing or extra parts."""
    fields = list(cls.model_fields.items())
    parts = [_field_values(info.annotation, ids) for _name, info in fields]
    prefix = cls.__prefix__
    shaped = st.tuples(*parts).map(lambda values: ":".join([prefix, *values]))
    truncated = shaped.map(lambda d: d.rsplit(":", 1)[0])
    extended = shaped.map(lambda d: d + ":1")
    return st.one_of(shaped, shaped, truncated, extended).filter(_fits)


def callback_data(ids: Sequence[int]) -> st.SearchStrategy[str]:
    any_bytes = st.binary(min_size=1, max_size=CALLBACK_LIMIT).map(
        lambda raw: raw.decode("utf-8", errors="ignore")
    )
    forged = st.sampled_from(ALL_CALLBACKS).flatmap(lambda cls: mutated_callback(cls, ids))
    return st.one_of(
        any_bytes.filter(_fits),
        st.text(any_char, min_size=1, max_size=CALLBACK_LIMIT).filter(_fits),
        forged,
        forged,
        forged,
        forged,
    )


EDGE_LATITUDES = [
    90.0,
    -90.0,
    0.0,
    89.999999,
    -89.999999,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    91.0,
    5e-324,
]
EDGE_LONGITUDES = [
    180.0,
    -180.0,
    0.0,
    179.999999,
    -179.999999,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    181.0,
    -181.0,
]

coordinates = st.tuples(
    st.one_of(
        st.sampled_from(EDGE_LATITUDES),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-90, 90),
    ),
    st.one_of(
        st.sampled_from(EDGE_LONGITUDES),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-180, 180),
    ),
)


@dataclass(frozen=True)
class Spec:
    """One hostile update, before it is given an id and a message: `kind` and its fields."""

    kind: str
    fields: dict[str, Any]
    group: bool = False


def location_fields(lat: float, lon: float, live: int | None) -> dict[str, Any]:
    location: dict[str, Any] = {"latitude": lat, "longitude": lon}
    if live is not None:
        location["live_period"] = live
    return {"location": location}


def specs(
    commands: Sequence[str], ids: Sequence[int], menu_labels: Sequence[str]
) -> st.SearchStrategy[Spec]:
    group = st.booleans()
    text_spec = st.builds(lambda t, g: Spec("message", {"text": t}, g), hostile_text, group)
    command_spec = st.builds(
        lambda t, g: Spec("message", {"text": t}, g), commands_with_junk(commands), group
    )
    menu_spec = st.builds(
        lambda t, g: Spec("message", {"text": t}, g),
        st.sampled_from(list(menu_labels)),
        st.just(False),
    )
    callback_spec = st.builds(
        lambda d, g: Spec("callback", {"data": d}, g), callback_data(ids), group
    )
    live = st.one_of(st.none(), st.sampled_from([60, 900, 86400, 0x7FFFFFFF, -1, 0]))
    location_spec = st.builds(
        lambda c, period, g: Spec("message", location_fields(c[0], c[1], period), g),
        coordinates,
        live,
        group,
    )
    edited_location = st.builds(
        lambda c, g: Spec("edited", location_fields(c[0], c[1], 900), g), coordinates, group
    )
    venue_spec = st.builds(
        lambda c, title, address, g: Spec(
            "message",
            {
                **location_fields(c[0], c[1], None),
                "venue": {
                    "location": location_fields(c[0], c[1], None)["location"],
                    "title": title,
                    "address": address,
                },
            },
            g,
        ),
        coordinates,
        name_text,
        name_text,
        group,
    )
    contact_spec = st.builds(
        lambda phone, name, uid, g: Spec(
            "message", {"contact": {"phone_number": phone, "first_name": name, "user_id": uid}}, g
        ),
        st.text(any_char, min_size=1, max_size=30),
        name_text,
        st.one_of(st.none(), st.sampled_from(list(ids) or [1])),
        group,
    )
    photo_spec = st.builds(
        lambda caption, g: Spec("photo", {"caption": caption}, g),
        st.one_of(st.none(), hostile_text.map(lambda s: s[:1024])),
        group,
    )
    sticker_spec = st.builds(
        lambda emoji, g: Spec(
            "message",
            {
                "sticker": {
                    "file_id": "CAACAgIAAxkBAAE",
                    "file_unique_id": "AgAD",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": emoji,
                }
            },
            g,
        ),
        st.sampled_from(["🌱", "", "<b>", "\u202e"]),
        group,
    )
    document_spec = st.builds(
        lambda name, mime, caption, g: Spec(
            "message",
            {
                "document": {
                    "file_id": "BQACAgIAAxkBAAE",
                    "file_unique_id": "AgADBQ",
                    "file_name": name,
                    "mime_type": mime,
                    "file_size": 10,
                },
                **({"caption": caption} if caption else {}),
            },
            g,
        ),
        name_text,
        st.sampled_from(
            ["text/csv", "application/pdf", "image/png", "application/x-msdownload", "<b>"]
        ),
        st.one_of(st.none(), hostile_text.map(lambda s: s[:1024])),
        group,
    )
    edited_text = st.builds(lambda t, g: Spec("edited", {"text": t}, g), hostile_text, group)
    # A button the bot showed, tapped again (double taps, old messages, other wizards).
    replay = st.builds(lambda n, g: Spec("replay", {"index": n}, g), st.integers(0, 200), group)
    return st.one_of(
        replay,
        replay,
        callback_spec,
        text_spec,
        command_spec,
        command_spec,
        menu_spec,
        callback_spec,
        callback_spec,
        callback_spec,
        location_spec,
        edited_location,
        venue_spec,
        contact_spec,
        photo_spec,
        sticker_spec,
        document_spec,
        edited_text,
    )
