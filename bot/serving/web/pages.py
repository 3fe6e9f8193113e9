"""The pages' HTML: a shell in the reader's language, with the fixed texts as JSON for the
script, which fetches the figures and fills the page in (bot/serving/web/static/).

Everything that goes into the markup is escaped here. Paths are relative, so the pages
work behind a reverse proxy that serves them under a prefix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {
    "web.css": "text/css",
    "tma.js": "text/javascript",
    "dashboard.js": "text/javascript",
    "screen.js": "text/javascript",
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: str
    version: str


@cache
def static_file(name: str) -> StaticFile | None:
    """A file of static/ (read once), or None for any other name."""
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        return None
    body = (STATIC_DIR / name).read_bytes()
    return StaticFile(body, content_type, hashlib.sha256(body).hexdigest()[:12])


def _asset(prefix: str, name: str) -> str:
    found = static_file(name)
    version = found.version if found else "0"
    return f"{prefix}static/{name}?v={version}"


def _json_block(element_id: str, value: Any) -> str:
    # "<" escaped so that no text can close the script element.
    text = json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _head(lang: str, title: str, prefix: str, script: str, texts: dict[str, Any]) -> str:
    return (
        "<!doctype html>"
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{escape(title)}</title>"
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{escape(_asset(prefix, "web.css"))}">'
        f"{_json_block('texts', texts)}"
        f'<script src="{escape(_asset(prefix, "tma.js"))}" defer></script>'
        f'<script src="{escape(_asset(prefix, script))}" defer></script>'
        "</head>"
    )


def dashboard_page(lang: str, texts: dict[str, Any]) -> str:
    """Served at .../app/: the static prefix is one level up."""
    title = str(texts["title"])
    return (
        _head(lang, title, "../", "dashboard.js", texts)
        + f'<body class="dashboard" data-lang="{escape(lang)}">'
        '<header class="top"><div><h1>'
        f"{escape(title)}</h1>"
        '<p class="hint" id="week"></p></div>'
        f'<button type="button" id="refresh" class="button" hidden>{escape(str(texts["refresh"]))}</button>'
        "</header>"
        '<main id="main" aria-live="polite">'
        f'<p class="status" id="status">{escape(str(texts["loading"]))}</p>'
        "</main></body></html>"
    )


def screen_page(lang: str, texts: dict[str, Any], title: str, refresh_seconds: float) -> str:
    """Served at .../screen/<id>: the data at .../screen/<id>/data."""
    return (
        _head(lang, title, "../", "screen.js", texts)
        + f'<body class="screen" data-lang="{escape(lang)}" '
        f'data-refresh="{refresh_seconds:g}">'
        '<header class="screen-top"><h1 id="name">'
        f"{escape(title)}</h1>"
        '<p id="week" class="screen-week"></p>'
        f'<p id="live" class="live" hidden>{escape(str(texts["live"]))}</p></header>'
        '<main id="main" aria-live="polite">'
        f'<p class="status" id="status">{escape(str(texts["loading"]))}</p>'
        "</main></body></html>"
    )
