"""The bot's texts as tests compare them: one translator for the whole suite, and what a
person reads of a localized message."""

from __future__ import annotations

import html
import re

from bot.core.settings import PROJECT_ROOT
from bot.ui.i18n import create_translator

tr = create_translator(PROJECT_ROOT / "locales", "fr")

_TAG = re.compile(r"<[^>]+>")


def text(key: str, locale: str = "fr", **params: object) -> str:
    """What a person reads: parameters escaped as the bot escapes user text, the message
    rendered in `locale`, then tags stripped and entities unescaped (as the test Bot API
    records a message's text)."""
    escaped = {
        name: html.escape(value, quote=False) if isinstance(value, str) else value
        for name, value in params.items()
    }
    return html.unescape(_TAG.sub("", tr.t(key, locale, **escaped)))


def counted(key: str, count: int, locale: str = "fr") -> str:
    """A number of things as the bot writes it ("3 éco-gestes"), for small numbers."""
    return tr.tn(key, count, locale)
