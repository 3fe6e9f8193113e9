"""Small helpers for HTML messages (the bot's default parse mode)."""

from __future__ import annotations

import html

TELEGRAM_TEXT_LIMIT = 4096


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
