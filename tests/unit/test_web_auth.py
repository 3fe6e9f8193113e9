"""The dashboard's gate: Telegram's signature of the init data, their age, and the signed
download links (bot/serving/web/auth.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from bot.core.settings import Settings
from bot.serving.web import auth
from tests.support.webapp import ORGANISER, forge, sign_init_data

TOKEN = "123456:TEST-TOKEN"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def refused(init_data: str, *, now: datetime = NOW, token: str = TOKEN) -> auth.Denied:
    with pytest.raises(auth.Denied) as caught:
        auth.verify_init_data(token, init_data, now, DAY)
    return caught.value


def test_signed_init_data_give_the_user() -> None:
    user = auth.verify_init_data(TOKEN, sign_init_data(TOKEN, ORGANISER, NOW), NOW, DAY)
    assert user.id == ORGANISER
    assert user.first_name == "Camille"


def test_a_user_swapped_in_signed_data_is_refused() -> None:
    signed = sign_init_data(TOKEN, ORGANISER, NOW)
    forged = forge(signed, 4242)
    assert forged != signed
    assert refused(forged) == auth.Denied(401, "invalid")


def test_data_signed_with_another_bot_token_are_refused() -> None:
    assert refused(sign_init_data("654321:OTHER", ORGANISER, NOW)).reason == "invalid"


def test_old_data_are_refused_and_fresh_enough_ones_pass() -> None:
    signed = sign_init_data(TOKEN, ORGANISER, NOW - DAY + timedelta(seconds=1))
    assert auth.verify_init_data(TOKEN, signed, NOW, DAY).id == ORGANISER
    assert refused(sign_init_data(TOKEN, ORGANISER, NOW - DAY - timedelta(seconds=1))) == (
        auth.Denied(401, "expired")
    )


def test_data_from_the_future_are_refused() -> None:
    assert refused(sign_init_data(TOKEN, ORGANISER, NOW + timedelta(hours=1))).reason == "expired"


@pytest.mark.parametrize(
    "init_data",
    ["", "hash=00", "user=%7B%7D&auth_date=1&hash=zz", "%%%", "a=b&c"],
)
def test_garbage_is_refused(init_data: str) -> None:
    assert refused(init_data).status == 401


def test_signed_data_without_a_user_are_refused() -> None:
    assert refused(sign_init_data(TOKEN, None, NOW)) == auth.Denied(401, "invalid")


@pytest.mark.parametrize("header", [None, "", "tma", "tma   ", "Bearer abc", "tmaabc"])
def test_the_header_must_say_tma(header: str | None) -> None:
    with pytest.raises(auth.Denied) as caught:
        auth.init_data_from_header(header)
    assert caught.value == auth.Denied(401, "missing")


def test_the_header_gives_the_init_data() -> None:
    assert auth.init_data_from_header("tma a=b&hash=c") == "a=b&hash=c"
    assert auth.init_data_from_header("TMA x") == "x"


def test_download_links_are_for_one_person_one_file_a_few_minutes() -> None:
    key = b"k" * 32
    token = auth.download_token(key, ORGANISER, "action_log", NOW)
    assert auth.check_download_token(key, token, "action_log", NOW) == ORGANISER
    later = NOW + auth.DOWNLOAD_LINK_TTL
    assert auth.check_download_token(key, token, "action_log", later) == ORGANISER
    for kind, key_used, when, reason in (
        ("contest_standings", key, NOW, "invalid"),
        ("action_log", b"j" * 32, NOW, "invalid"),
        ("action_log", key, later + timedelta(seconds=1), "expired"),
    ):
        with pytest.raises(auth.Denied) as caught:
            auth.check_download_token(key_used, token, kind, when)
        assert caught.value.reason == reason
    user, expires, signature = token.split(".")
    for tampered in (f"4242.{expires}.{signature}", f"{user}.{int(expires) + 600}.{signature}"):
        with pytest.raises(auth.Denied):
            auth.check_download_token(key, tampered, "action_log", NOW)
    for garbage in ("", "a.b.c", "1.2", quote("1.2.3/../x")):
        with pytest.raises(auth.Denied):
            auth.check_download_token(key, garbage, "action_log", NOW)


def test_signing_keys_come_from_the_web_secret_else_the_token() -> None:
    by_token = Settings(_env_file=None, bot_token=TOKEN)
    other_token = Settings(_env_file=None, bot_token="1:other")
    with_secret = Settings(_env_file=None, bot_token=TOKEN, web_secret="s3cret")
    same_secret = Settings(_env_file=None, bot_token="1:other", web_secret="s3cret")
    assert auth.signing_key(by_token, "screens") != auth.signing_key(other_token, "screens")
    assert auth.signing_key(with_secret, "screens") == auth.signing_key(same_secret, "screens")
    assert auth.signing_key(with_secret, "screens") != auth.signing_key(by_token, "screens")
    assert auth.signing_key(by_token, "screens") != auth.signing_key(by_token, "downloads")
    with pytest.raises(auth.WebNotConfiguredError):
        auth.signing_key(Settings(_env_file=None), "screens")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://bot.example.org/", "https://bot.example.org"),
        ("https://bot.example.org/greenhood", "https://bot.example.org/greenhood"),
        ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
        ("", None),
    ],
)
def test_web_base_url_is_https_or_this_machine(value: str, expected: str | None) -> None:
    settings = Settings(_env_file=None, web_base_url=value)
    assert settings.web_base_url == expected


@pytest.mark.parametrize("value", ["http://bot.example.org", "bot.example.org", "ftp://x"])
def test_web_base_url_refuses_what_telegram_would(value: str) -> None:
    with pytest.raises(ValueError, match="WEB_BASE_URL"):
        Settings(_env_file=None, web_base_url=value)
