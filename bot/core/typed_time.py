"""Times people type, read one way everywhere (offers' pickup window, an announcement's
sending time): "18h", "18 h 30", "18:00", "18.00", optionally after a day, "demain",
"tomorrow", "aujourd'hui", "today" or "DD/MM[/YYYY]", and an optional "à"/"at"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

_CLOCK = r"(?P<hour>\d{1,2})\s*(?:[hH]\s*(?P<hmin>\d{2})?|[:.]\s*(?P<cmin>\d{2}))"
_DAY = (
    r"(?:(?P<word>demain|tomorrow|aujourd'hui|aujourd’hui|today)"
    r"|(?P<day>\d{1,2})\s*/\s*(?P<month>\d{1,2})(?:\s*/\s*(?P<year>\d{4}))?)"
)
_MOMENT = re.compile(rf"^(?:{_DAY}\s*(?:(?:à|a|at)\s+)?)?{_CLOCK}$", re.IGNORECASE)
_TOMORROW_WORDS = frozenset({"demain", "tomorrow"})
# "02/01" typed on 30 December means next January, not eleven months ago.
_NEXT_YEAR_AFTER = timedelta(days=180)


class UnreadableTimeError(ValueError):
    """Not a time this module reads (or not a real date: 31/02)."""


@dataclass(frozen=True, slots=True)
class TypedMoment:
    moment: datetime
    # A bare time already passed today was taken for tomorrow: worth saying so.
    rolled: bool = False


def read_moment(raw: str, now: datetime, zone: tzinfo) -> TypedMoment:
    """A typed time in `zone`. A bare time already passed today means tomorrow."""
    text = " ".join(raw.split()).lower()
    local = now.astimezone(zone)
    match = _MOMENT.match(text)
    if match is None:
        raise UnreadableTimeError(raw)
    try:
        moment = time(int(match["hour"]), int(match["hmin"] or match["cmin"] or 0))
        if match["word"] in _TOMORROW_WORDS:
            day = local.date() + timedelta(days=1)
        elif match["day"] is not None:
            year = int(match["year"]) if match["year"] else local.year
            day = date(year, int(match["month"]), int(match["day"]))
            if match["year"] is None and local.date() - day > _NEXT_YEAR_AFTER:
                day = day.replace(year=year + 1)
        else:
            day = local.date()
    except ValueError:
        raise UnreadableTimeError(raw) from None
    when = datetime.combine(day, moment, tzinfo=zone)
    if match["word"] is None and match["day"] is None and when <= now:
        return TypedMoment(datetime.combine(day + timedelta(days=1), moment, tzinfo=zone), True)
    return TypedMoment(when)
