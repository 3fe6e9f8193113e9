"""Small helpers for HTML messages (the bot's default parse mode)."""

from __future__ import annotations

import html
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time

from bot.ui.i18n import Translator

TELEGRAM_TEXT_LIMIT = 4096

# Babel's English is American ("Fri, Dec 4", "November 30, 2026"); the day before the
# month reads the same on both sides of the Channel, and never as a month number.
_BABEL_LOCALES = {"en": "en_GB"}
# From this hour, today is "tonight" ("ce soir").
EVENING_HOUR = 18


def babel_locale(locale: str) -> str:
    """The Babel locale that writes dates and times for one of our languages."""
    return _BABEL_LOCALES.get(locale, locale)


def clock_time(moment: datetime | time, locale: str) -> str:
    """ "9:00", "21:00": the 24-hour clock both languages' texts use."""
    return format_time(moment, "H:mm", locale=babel_locale(locale))


def moment_text(
    translator: Translator,
    locale: str,
    moment: datetime,
    zone: ZoneInfo,
    now: datetime,
    *,
    relative: bool = True,
) -> str:
    """One style per language, relative where it helps: "ce soir 21:00" / "tonight 21:00",
    "demain 9:00" / "tomorrow 9:00", else "ven. 4 déc. 21:00" / "Fri 4 Dec 21:00". It
    never follows a preposition in a text (the texts say "fin : …", "ends …"), so French
    needs no "à"/"au" agreement. Not `relative` for a text that may be read later than
    written (a nudge held back by quiet hours): "tonight" would lie by morning."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = clock_time(local, locale)
    if relative and local.date() == today:
        key = "time.tonight" if local.hour >= EVENING_HOUR else "time.today"
        return translator.t(key, locale, time=clock)
    if relative and local.date() == today + timedelta(days=1):
        return translator.t("time.tomorrow", locale, time=clock)
    day = format_skeleton("MMMEd", local, locale=babel_locale(locale))
    return translator.t("time.day", locale, day=day, time=clock)


def escape(text: object) -> str:
    """Escape user-supplied text before it goes into an HTML message."""
    return html.escape(str(text), quote=False)


def truncate(text: str, limit: int) -> str:
    """Shorten plain text to `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def progress_bar(fraction: float, width: int = 10) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "▰" * filled + "▱" * (width - filled)
