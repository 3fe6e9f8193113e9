"""Who may read the dashboard: Telegram's signature of the Mini App's init data, its age,
and the organiser check — on every call. And the short-lived links of downloads.

A Mini App sends its init data (`Telegram.WebApp.initData`, here from the launch address)
in the `Authorization: tma <init data>` header of every API call. aiogram's
`safe_parse_webapp_init_data` checks Telegram's HMAC with the bot token; the age is
checked against WEBAPP_MAX_AGE (init data do not change while the Mini App stays open,
so an old one means an old tab or a replay); whether the person is an organiser is read
from the database each time, so removing an organiser takes effect at once.

A download cannot carry that header (Telegram's `downloadFile` fetches a plain URL): the
dashboard asks for a link instead, signed for that organiser and that file and valid for a
few minutes, and the download checks the organiser again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.utils.web_app import WebAppUser, safe_parse_webapp_init_data

from bot.core.settings import Settings

SCHEME = "tma"
# Init data signed "in the future" by more than this are refused (clocks drift a little).
CLOCK_SKEW = timedelta(minutes=5)
DOWNLOAD_LINK_TTL = timedelta(minutes=5)
SIGNATURE_LENGTH = 32


# Not frozen: Python sets __traceback__ on an exception as it travels.
@dataclass
class Denied(Exception):
    """A refused request: `status` 401 (who are you?) or 403 (not for you); `reason` is
    counted in /metrics and never shown."""

    status: int
    reason: str


class WebNotConfiguredError(RuntimeError):
    """Neither WEB_SECRET nor BOT_TOKEN: nothing to sign addresses with."""


def signing_key(settings: Settings, purpose: str) -> bytes:
    """A key for one purpose ("screens", "downloads"), from WEB_SECRET, else from the bot
    token (then rotating the token changes the contest screens' addresses)."""
    secret = settings.web_secret.get_secret_value() if settings.web_secret else ""
    if secret:
        material = b"secret:" + secret.encode()
    elif settings.token:
        material = b"token:" + settings.token.encode()
    else:
        raise WebNotConfiguredError("set WEB_SECRET or BOT_TOKEN")
    root = hashlib.sha256(b"greenhood-web\0" + material).digest()
    return hmac.new(root, purpose.encode(), hashlib.sha256).digest()


def init_data_from_header(header: str | None) -> str:
    if not header:
        raise Denied(401, "missing")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != SCHEME or not value.strip():
        raise Denied(401, "missing")
    return value.strip()


def verify_init_data(token: str, init_data: str, now: datetime, max_age: timedelta) -> WebAppUser:
    """The Telegram user the init data were signed for, or Denied."""
    try:
        data = safe_parse_webapp_init_data(token, init_data)
    except (ValueError, TypeError):
        # A wrong signature, or a signed string that is not init data.
        raise Denied(401, "invalid") from None
    if data.user is None:
        raise Denied(401, "invalid")
    age = now - data.auth_date
    if age > max_age or age < -CLOCK_SKEW:
        raise Denied(401, "expired")
    return data.user


def _signature(key: bytes, user_id: int, kind: str, expires: int) -> str:
    digest = hmac.new(key, f"{user_id}:{kind}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_LENGTH]


def download_token(key: bytes, user_id: int, kind: str, now: datetime) -> str:
    expires = int((now + DOWNLOAD_LINK_TTL).timestamp())
    return f"{user_id}.{expires}.{_signature(key, user_id, kind, expires)}"


def check_download_token(key: bytes, token: str, kind: str, now: datetime) -> int:
    """The organiser a download link was made for, or Denied."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise Denied(401, "invalid")
    user_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(_signature(key, user_id, kind, expires), parts[2]):
        raise Denied(401, "invalid")
    if now.timestamp() > expires:
        raise Denied(401, "expired")
    return user_id
