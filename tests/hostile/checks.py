"""The four properties of the hostile-input suite, as functions that return what is wrong."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.standin import RecordedCall, TgUser, parse_html, strip_html
from bot.ui.i18n import Translator
from models import Base
from models.base import PERSON

# --------------------------------------------------------------------------- 1. no exception


class ErrorRecords(logging.Handler):
    """Every record at ERROR or above, from any logger, while installed (the errors
    handler logs there, and so does aiogram when an update fails outside it)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def describe(self) -> list[str]:
        out = []
        for record in self.records:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                text += f": {type(error).__name__}: {error}"
            out.append(f"{record.name}: {text}")
        return out


@contextmanager
def capture_errors() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# --------------------------------------------------------------------------- 2. localized

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# What a Python object, a traceback or an unfilled template looks like on screen.
_LEAKS = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r"<[A-Za-z_][\w.]* object at 0x[0-9a-f]+>"),
    re.compile(r"\b(?:None|True|False)\b"),
    re.compile(r"\{[a-z_][a-z0-9_]*\}"),
    re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b"),
    re.compile(r"datetime\.|Decimal\(|\b__\w+__\b"),
)


@dataclass
class Catalogue:
    """The bot's texts in both languages, to recognise what it sends."""

    keys: frozenset[str]
    key_prefixes: frozenset[str]
    # Literal pieces (between placeholders, tags stripped) of every template.
    pieces: frozenset[str]
    # Whole templates as patterns, for button labels.
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, translator: Translator) -> Catalogue:
        keys: set[str] = set()
        pieces: set[str] = set()
        patterns: list[re.Pattern[str]] = []
        for locale in translator.locales:
            for key in translator.keys(locale):
                keys.add(key)
                template = translator.gettext(key, locale=locale)
                plain = _plain_template(template)
                for piece in _PLACEHOLDER.split(plain):
                    piece = piece.strip()
                    if len(piece) >= 3:
                        pieces.add(piece)
                literal = _PLACEHOLDER.split(plain.strip())
                if any(len(p.strip()) >= 2 for p in literal):
                    patterns.append(re.compile("(?s:.*)".join(re.escape(p) for p in literal)))
        prefixes = frozenset(key.split(".", 1)[0] for key in keys)
        return cls(frozenset(keys), prefixes, frozenset(pieces), tuple(patterns))

    def looks_like_key(self, text: str) -> list[str]:
        found = []
        for token in re.findall(r"[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)+", text):
            if token in self.keys or token.split(".", 1)[0] in self.key_prefixes:
                found.append(token)
        return found

    def recognises_text(self, text: str) -> bool:
        """The text carries at least one literal piece of some template."""
        return any(piece in text for piece in self.pieces)

    def recognises_label(self, label: str) -> bool:
        label = label.strip()
        return any(pattern.search(label) for pattern in self.patterns)


def _plain_template(template: str) -> str:
    return (
        re.sub(r"<[^<>]*>", "", template)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


def sent_texts(call: RecordedCall) -> list[str]:
    """What a call puts in front of a person: its text or caption, alert text, labels."""
    params = call.params
    texts = []
    for key in ("text", "caption"):
        if params.get(key):
            texts.append(str(params[key]))
    return texts


def labels_of(call: RecordedCall) -> list[str]:
    markup = call.params.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    out = []
    for row in rows:
        for button in row:
            out.append(str(button.get("text", "")) if isinstance(button, dict) else str(button))
    return out


def localization_problems(
    calls: Iterable[RecordedCall],
    catalogue: Catalogue,
    user_inputs: Iterable[str],
    data_labels: Iterable[str] = (),
) -> list[str]:
    """Texts and labels that are not the bot's French or English: keys shown as they are,
    Python reprs, tracebacks, unfilled placeholders, or text no template accounts for.
    Patterns that the person's own input contains are not held against the bot."""
    inputs = " ".join(user_inputs)
    known_labels = set(data_labels)
    problems: list[str] = []
    for call in calls:
        if call.method not in _SHOWING:
            continue
        shown = [strip_html(text) if _is_html(call) else text for text in sent_texts(call)]
        if call.method == "answerCallbackQuery" and call.params.get("text"):
            shown = [str(call.params["text"])]
        for text in shown:
            problems += _leaks(text, catalogue, inputs, call)
            if not catalogue.recognises_text(text):
                problems.append(f"{call.method}: text no template accounts for: {text[:120]!r}")
        for label in labels_of(call):
            problems += _leaks(label, catalogue, inputs, call)
            if not (
                catalogue.recognises_label(label)
                or label in known_labels
                or any(label.endswith(known) or known in label for known in known_labels if known)
            ):
                problems.append(f"{call.method}: button no template accounts for: {label!r}")
    return problems


_SHOWING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVenue",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
    }
)


def _is_html(call: RecordedCall) -> bool:
    return str(call.params.get("parse_mode") or "").lower() == "html"


def _leaks(text: str, catalogue: Catalogue, inputs: str, call: RecordedCall) -> list[str]:
    problems = []
    for key in catalogue.looks_like_key(text):
        if key not in inputs:
            problems.append(f"{call.method}: untranslated key {key!r} in {text[:120]!r}")
    for pattern in _LEAKS:
        match = pattern.search(text)
        if match is not None and match.group(0) not in inputs:
            problems.append(f"{call.method}: {match.group(0)!r} shown in {text[:120]!r}")
    return problems


# --------------------------------------------------------------------------- 3. escaping


def markup_problems(
    calls: Iterable[RecordedCall], fragments: Iterable[str], templates: str
) -> list[str]:
    """Calls the server refused (bad HTML entities among them), and pieces of markup the
    person typed that reached an HTML message unescaped (live markup)."""
    problems: list[str] = []
    live = [f for f in set(fragments) if re.search(r"[<&]", f) and f not in templates]
    for call in calls:
        if call.method == "getUpdates" or not call.done:
            continue
        if not call.ok:
            problems.append(f"{call.method} refused: {call.error}")
            continue
        if not _is_html(call):
            continue
        for raw in sent_texts(call):
            try:
                parse_html(raw)
            except ValueError as error:  # pragma: no cover - the server refused it already
                problems.append(f"{call.method}: bad HTML {error}")
            for fragment in live:
                if fragment in raw:
                    problems.append(
                        f"{call.method}: user markup {fragment!r} sent live in {raw[:160]!r}"
                    )
    return problems


# --------------------------------------------------------------------------- 4. other people


# Values anyone's legitimate action changes on another person's row: the units left of an
# offer someone reserves, team and challenge totals someone's logs add to.
SHARED_COLUMNS: frozenset[tuple[str, str]] = frozenset(
    {
        ("offers", "quantity_left"),
        # The places taken at an event anyone may answer "going" to.
        ("events", "seats_taken"),
    }
)
# Rows created for another person by someone's legitimate action (a notification to the
# poster of the offer someone reserved, an alert about a new offer).
SHARED_NEW_ROWS: frozenset[str] = frozenset({"outbox", "outbox_blobs"})


def _owner_columns(table: Table) -> list[str]:
    names = []
    for column in table.columns:
        if PERSON in column.info or any(
            fk.column.table.name == "users" for fk in column.foreign_keys
        ):
            names.append(column.name)
    return names


RowKey = tuple[str, tuple[Any, ...]]


async def snapshot(
    session: AsyncSession, protected: frozenset[int], attacker: frozenset[int]
) -> dict[RowKey, Mapping[str, Any]]:
    """Every row that belongs to a protected person or group: it names one of them, or it
    hangs (by foreign key) from such a row without naming the attacker."""
    owned: dict[str, set[tuple[Any, ...]]] = {}
    rows_out: dict[RowKey, Mapping[str, Any]] = {}
    for table in Base.metadata.sorted_tables:
        pk = [c.name for c in table.primary_key.columns]
        owners = _owner_columns(table)
        owned[table.name] = set()
        result = await session.execute(select(table))
        for row in result.mappings():
            names = {row[c] for c in owners if row[c] is not None}
            if names & attacker:
                continue
            mine = bool(names & protected)
            if not mine:
                for fk in table.foreign_keys:
                    parent = fk.column.table.name
                    value = row[fk.parent.name]
                    if value is not None and parent in owned and (value,) in owned[parent]:
                        mine = True
                        break
            if mine:
                key = tuple(row[c] for c in pk)
                owned[table.name].add(key)
                rows_out[(table.name, key)] = dict(row)
    return rows_out


def data_changes(
    before: Mapping[RowKey, Mapping[str, Any]], after: Mapping[RowKey, Mapping[str, Any]]
) -> list[str]:
    problems = []
    for key, row in before.items():
        if key not in after:
            problems.append(f"{key[0]} row {key[1]} of another person was deleted or taken over")
            continue
        for column, value in row.items():
            if (key[0], column) in SHARED_COLUMNS:
                continue
            if after[key][column] != value:
                problems.append(
                    f"{key[0]} row {key[1]}: {column} {value!r} -> {after[key][column]!r}"
                )
    for key in after.keys() - before.keys():
        if key[0] not in SHARED_NEW_ROWS:
            problems.append(f"{key[0]} row {key[1]} added to another person: {dict(after[key])}")
    return problems


def user_inputs_of(update: Mapping[str, Any], user: TgUser) -> list[str]:
    """Every string the person put in the update (texts, captions, names, data)."""
    out: list[str] = [user.first_name]

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if key not in {"chat", "reply_to_message"} and not (
                    key == "from" and isinstance(item, Mapping) and item.get("is_bot")
                ):
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for key, value in update.items():
        if key == "callback_query" and isinstance(value, Mapping):
            walk(value.get("data"))
            walk(value.get("from"))
        elif key != "update_id":
            walk(value)
    return out
