"""Configuration, read from the environment or a `.env` file (PRODUCT.md §3)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_PUBLIC_API = "https://api.telegram.org"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


class Language(StrEnum):
    """The languages the bot speaks, French first (the default and the fallback)."""

    FR = "fr"
    EN = "en"


SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(language.value for language in Language)


class Settings(BaseSettings):
    """Every knob of the bot. Built once per process by the CLI and passed down."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    telegram_api_base: str = TELEGRAM_PUBLIC_API
    database_url: str = "sqlite+aiosqlite:///greenhood.db"
    redis_url: str | None = None
    redis_prefix: str = "greenhood"
    # NoDecode: a plain "1,2,3" must not be parsed as JSON by pydantic-settings.
    organiser_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_language: Literal["fr", "en"] = "fr"
    timezone: str = "Europe/Paris"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    broadcast_rate: float = Field(default=25.0, gt=0)
    geocoder: Literal["offline", "nominatim"] = "offline"
    # The organisers' dashboard (a Telegram Mini App) and the public contest screens.
    web_base_url: str | None = Field(
        default=None, description="public https:// address of the web server (no path)"
    )
    web_host: str = "0.0.0.0"
    web_port: int = 8081
    web_secret: SecretStr | None = Field(
        default=None, description="signs contest screen addresses and download links"
    )
    webapp_max_age: int = Field(
        default=12 * 3600, ge=60, description="seconds a Mini App's init data stays valid"
    )
    screen_refresh_seconds: float = Field(default=5.0, gt=0)
    # Prometheus: /metrics on this port, for processes without a web server of their own.
    metrics_host: str = "0.0.0.0"
    metrics_port: int | None = None
    # Map pictures (bot/ui/pictures/tiles.py): a raster tile server ("" draws maps without
    # a background), what its licence asks to show (empty: OpenStreetMap's, translated),
    # and a contact for its operators (the User-Agent).
    map_tiles_url: str = OSM_TILES
    map_tiles_attribution: str = ""
    map_contact: str = ""
    map_tiles_cache_dir: Path = Path(".cache") / "tiles"
    map_tiles_cache_days: float = Field(default=7.0, ge=0)
    map_tiles_rate: float = Field(default=1.0, gt=0, description="tile requests per second")
    map_tiles_burst: int = Field(default=100, ge=1, description="tile requests in a burst")

    # Zero-waste offers: this many no-shows within 30 days pause someone's reservations
    # for this many days (issue #16).
    offer_no_show_limit: int = Field(default=3, ge=1)
    offer_no_show_pause_days: float = Field(default=7.0, gt=0)

    # Not in the product table: operational knobs with sensible defaults.
    locales_dir: Path = PROJECT_ROOT / "locales"
    max_concurrent_updates: int = Field(default=64, ge=1)
    throttle_rate: float = Field(default=2.0, gt=0, description="tokens refilled per second")
    throttle_burst: int = Field(default=8, ge=1, description="updates allowed in a burst")
    polling_timeout: int = Field(default=30, ge=0)
    shutdown_timeout: float = Field(
        default=20.0, ge=0, description="seconds given to updates in hand when stopping"
    )
    log_level: str = "INFO"

    @field_validator("organiser_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            return frozenset(int(part) for part in parts if part)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("web_base_url")
    @classmethod
    def _check_web_base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        # Telegram opens Mini Apps over https only; plain http is for this machine alone
        # (development, the tests' stand-in Telegram).
        local = parts.hostname in {"localhost", "127.0.0.1", "::1"}
        if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
            raise ValueError("WEB_BASE_URL must be an https:// address")
        return value.rstrip("/")

    @field_validator("map_tiles_url")
    @classmethod
    def _check_tiles_url(cls, value: str) -> str:
        value = value.strip()
        if value and not all(part in value for part in ("{z}", "{x}", "{y}")):
            raise ValueError("MAP_TILES_URL needs {z}, {x} and {y}, or nothing (no tiles)")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def token(self) -> str | None:
        return self.bot_token.get_secret_value() if self.bot_token else None
