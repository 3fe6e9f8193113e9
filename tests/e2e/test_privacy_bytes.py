"""No shared point reaches the disk at full precision, read from outside: after people
share locations (to /makers, /neighbours, a live location, a venue), in polling and in
webhook mode, and with one update whose handler fails (kept for diagnosis), the raw bytes
of every database file (the SQLite file, its WAL, the jobs file) and the log hold neither
the exact coordinates as text nor as a stored floating-point number; the rounded ones are
there (so the test looks where it should)."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pytest
from aiogram import F, Router
from aiogram.types import Message

from bot.core.settings import Settings
from bot.services.geo import privacy
from bot.standin import BotApiStandIn, TgUser
from bot.ui.filters import Magic
from tests.conftest import current_backend, make_settings
from tests.support.harness import running_bot
from tests.support.texts import tr

EXACT = [(44.843106, -0.568842), (44.851937, -0.572264), (45.764043, 4.835659)]
ANA = TgUser(id=4101, first_name="Ana", language_code="fr")
BEN = TgUser(id=4102, first_name="Ben", language_code="fr")


async def fails_on_venue(message: Message) -> None:
    raise RuntimeError("a handler failed on a shared place")


def failing_router() -> Router:
    router = Router(name="test-fails-on-venue")
    router.message.register(fails_on_venue, Magic(F.venue.title == "boom"))
    return router


def forms(value: float) -> list[bytes]:
    """How a coordinate could sit in a file: as text, or as SQLite's 8-byte REAL."""
    return [repr(value).encode(), f"{value:.6f}".encode(), struct.pack(">d", value)]


def files_of(settings: Settings) -> list[Path]:
    database = Path(settings.database_url.split("///", 1)[1])
    jobs = database.with_name(f"{database.stem}-jobs{database.suffix}")
    candidates = [database, Path(f"{database}-wal"), jobs, Path(f"{jobs}-wal")]
    return [path for path in candidates if path.exists()]


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_shared_points_never_reach_the_disk_at_full_precision(
    tg: BotApiStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture, webhook: bool
) -> None:
    if current_backend() != "sqlite":
        pytest.skip("reads the SQLite files; PostgreSQL stores the same rows (same code path)")
    caplog.set_level(logging.DEBUG)
    settings = make_settings(tmp_path, throttle_burst=1000)
    async with running_bot(settings, tg, webhook=webhook, extra_routers=[failing_router()]):
        await tg.reply_to(ANA, "/makers")
        tg.push_location(ANA, *EXACT[0])
        await tg.wait_for(("sendMessage", "sendPhoto"), chat_id=ANA.id, count=2)
        (consent,) = await tg.reply_to(BEN, "/neighbours")
        _, ask_name = await tg.click(BEN, consent, tr.t("neighbours.consent.accept", "fr"), count=2)
        await tg.click(BEN, ask_name, tr.t("neighbours.name.anonymous", "fr"), count=2)
        tg.push_location(BEN, *EXACT[1], live_period=3600)
        await tg.wait_idle()
        tg.push_venue(ANA, *EXACT[2], title="boom", address="somewhere")
        await tg.wait_idle()
    files = files_of(settings)
    assert files, "no database file found"
    contents = b"".join(path.read_bytes() for path in files)
    log = caplog.text.encode()
    for latitude, longitude in EXACT:
        for value in (latitude, longitude):
            for form in forms(value):
                assert form not in contents, (value, form)
                assert form not in log, (value, form)
    # The rounded point is what was kept (the failed update's payload, at least).
    assert repr(round(EXACT[2][0], privacy.DECIMALS)).encode() in contents


def test_coarsening_rounds_every_point_of_an_update() -> None:
    update = {
        "update_id": 1,
        "message": {
            "location": {"latitude": 44.843106, "longitude": -0.568842},
            "venue": {"location": {"latitude": 1.23456, "longitude": 2.34567}, "title": "x"},
        },
    }
    assert privacy.coarsen(update)
    assert update["message"]["location"] == {"latitude": 44.843, "longitude": -0.569}  # type: ignore[index]
    assert update["message"]["venue"]["location"] == {"latitude": 1.235, "longitude": 2.346}  # type: ignore[index]
    assert not privacy.coarsen(update)
