"""What a typed line means: a console command (`:help`, `:as Léa`, `:time +1d`…), a button
number, a place (`@44.84,-0.58`, `@Bordeaux`) or a message for the bot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.services.geo import geocoding

_NUMBER = re.compile(r"^\d{1,9}$")
_DECIMAL = r"[-+]?\d{1,12}(?:[.,]\d{1,15})?"
_COORDINATES = re.compile(rf"^({_DECIMAL})\s*(?:[;,]\s*|\s+)({_DECIMAL})$")
_NUMERIC_ONLY = re.compile(r"^[-+\d\s.,;]+$")
_POSTCODE = re.compile(r"^\d{5}$")
_DURATION = re.compile(r"^\+?((?:\d{1,4}[wdhm])+)$")
_DURATION_PART = re.compile(r"(\d{1,4})([wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
# The longest jump at once: a year.
MAX_JUMP = timedelta(days=366)

# Console commands and their other spellings (French ones included).
COMMANDS = {
    "quit": {":quit", ":q", ":exit", ":quitter"},
    "help": {":help", ":h", ":?", ":aide"},
    "buttons": {":buttons", ":b", ":boutons", ":keys"},
    "as": {":as", ":comme", ":qui"},
    "group": {":group", ":groupe", ":g"},
    "private": {":private", ":prive", ":privé", ":p"},
    "photo": {":photo"},
    "time": {":time", ":temps", ":t"},
}
_BY_SPELLING = {spelling: name for name, spellings in COMMANDS.items() for spelling in spellings}


@dataclass(frozen=True, slots=True)
class Meta:
    """A console command: `name` is one of COMMANDS (or "" when unknown), `word` as typed."""

    name: str
    word: str
    argument: str


@dataclass(frozen=True, slots=True)
class Press:
    number: int


@dataclass(frozen=True, slots=True)
class Place:
    query: str


@dataclass(frozen=True, slots=True)
class Say:
    text: str


Line = Meta | Press | Place | Say


def parse_line(line: str) -> Line | None:
    """What the person meant; None for an empty line."""
    line = line.strip()
    if not line:
        return None
    if line.startswith("\\"):
        return Say(line[1:])
    if line.startswith(":"):
        word, _, argument = line.partition(" ")
        word = word.lower()
        return Meta(_BY_SPELLING.get(word, ""), word, argument.strip())
    if _NUMBER.match(line):
        return Press(int(line))
    if line.startswith("@"):
        return Place(line[1:].strip())
    return Say(line)


def coordinates(query: str) -> tuple[float, float] | bool | None:
    """`44.84,-0.58` -> (44.84, -0.58); False for numbers that are no coordinates (refused);
    None when the query is no coordinates at all (a place name, or a postcode)."""
    match = _COORDINATES.match(query)
    if match is None:
        return False if _NUMERIC_ONLY.match(query) and not _POSTCODE.match(query) else None
    latitude, longitude = _to_float(match[1]), _to_float(match[2])
    if not geocoding.validate_coordinates(latitude, longitude):
        return False
    return latitude, longitude


def _to_float(text: str) -> float:
    return float(text.replace(",", "."))


def duration(text: str) -> timedelta | None:
    """`+1d`, `+2h`, `+30m`, `+1w`, `+1d12h` -> how far; None if not understood (or 0, or
    more than MAX_JUMP)."""
    match = _DURATION.match(text.strip().lower().replace(" ", ""))
    if match is None:
        return None
    total = timedelta()
    for amount, unit in _DURATION_PART.findall(match[1]):
        total += timedelta(**{_UNITS[unit]: int(amount)})
    if total <= timedelta() or total > MAX_JUMP:
        return None
    return total


def photo_argument(argument: str) -> tuple[str, str]:
    """`PATH [caption]` -> (path, caption); a path with spaces goes in quotes."""
    argument = argument.strip()
    if argument[:1] in {'"', "'"}:
        end = argument.find(argument[0], 1)
        if end > 0:
            return argument[1:end], argument[end + 1 :].strip()
    path, _, caption = argument.partition(" ")
    return path, caption.strip()
