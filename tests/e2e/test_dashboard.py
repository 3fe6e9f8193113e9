"""The dashboard's API, downloads, contest screens and pages over real HTTP, on the webhook
server and on `greenhood web`'s own; the /stats button and the organisers' menu button.
(What a browser makes of the pages: tests/e2e/test_dashboard_browser.py.)"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientSession
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from bot.app.cli import app as cli
from bot.app.process import open_worker
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import users
from bot.serving.web.app import CONTENT_SECURITY_POLICY, serve_web
from bot.standin import BotApiStandIn, TgUser
from models import Contest
from tests.support.harness import RunningBot, free_port, running_bot
from tests.support.texts import text
from tests.support.webapp import (
    CONTEST,
    ORGANISER,
    PLEDGE,
    RESIDENT,
    TEAMS,
    Seeded,
    forge,
    seed,
    sign_init_data,
    web_settings,
)

BASE = "https://greenhood.example.org"


@dataclass
class Site:
    bot: RunningBot
    seeded: Seeded
    url: str
    clock: ManualClock
    token: str

    def init_data(self, user_id: int | None = ORGANISER, *, age: timedelta = timedelta()) -> str:
        return sign_init_data(self.token, user_id, self.clock.now() - age)

    async def get(
        self, path: str, init_data: str | None = None, method: str = "GET"
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"tma {init_data}"} if init_data is not None else {}
        async with (
            ClientSession() as client,
            client.request(method, self.url + path, headers=headers, allow_redirects=False) as r,
        ):
            body: Any = await r.json() if r.content_type == "application/json" else await r.read()
            return r.status, dict(r.headers), body


@pytest.fixture
async def site(settings: Settings, tg: BotApiStandIn, clock: ManualClock) -> AsyncIterator[Site]:
    hooked = web_settings(
        settings, webhook_secret=SecretStr("s3cret"), web_base_url=BASE, webapp_max_age=3600
    )
    async with running_bot(hooked, tg, clock=clock, webhook=True) as bot:
        seeded = await seed(bot.sessionmaker, bot.settings, clock.now())
        yield Site(bot, seeded, f"http://127.0.0.1:{bot.runtime.port}", clock, tg.token)


async def test_an_organiser_gets_the_figures(site: Site) -> None:
    status, headers, body = await site.get("/app/api/dashboard?lang=fr", site.init_data())
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    [contest] = body["contests"]
    assert contest["name"] == CONTEST
    assert [(r["rank"], r["team"], r["per_member"]) for r in contest["standings"]] == [
        ("1", TEAMS[0][1], "3,0"),
        ("2", TEAMS[1][1], "1,0"),
        ("3", TEAMS[2][1], "0,0"),
    ]
    assert contest["chart"].startswith("<svg")
    assert contest["screen_url"].startswith(f"{BASE}/screen/{site.seeded.contest_id}-")
    assert {"label": "Équipes", "value": "3"} in contest["facts"]
    [challenge] = body["challenges"]
    assert challenge["pledge"] == PLEDGE
    assert challenge["progress_text"] == "4 / 40 cette semaine"
    assert challenge["progress"] == pytest.approx(0.1)
    assert body["week"] == "Semaine du 5 janvier 2026"
    assert {"label": "Personnes", "value": "14", "detail": ""} in body["overview"]
    assert body["actions"]["chart"].startswith("<svg")
    assert {"category": "Alimentation", "actions": "4", "co2": "15,6 kg"} in body["actions"]["rows"]
    assert {"label": "Retirées", "value": "1"} in body["offers"]["facts"]
    assert {"label": "Offres signalées", "value": "1"} in body["moderation"]
    assert [item["kind"] for item in body["exports"]] == [
        "contest_standings",
        "challenge_progress",
        "action_log",
    ]
    # Nobody's name, only teams and counts.
    assert "P3001" not in str(body)

    _, _, english = await site.get("/app/api/dashboard?lang=en", site.init_data())
    assert english["week"] == "Week of 5 January 2026"
    assert english["contests"][0]["standings"][0]["per_member"] == "3.0"


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("missing", 401, "missing"),
        ("forged", 401, "invalid"),
        ("other bot", 401, "invalid"),
        ("expired", 401, "expired"),
        ("resident", 403, "not_organiser"),
    ],
)
async def test_anyone_else_gets_no_data(site: Site, case: str, status: int, reason: str) -> None:
    init_data = {
        "missing": None,
        "forged": forge(site.init_data(), RESIDENT),
        "other bot": sign_init_data("654321:OTHER", ORGANISER, site.clock.now()),
        "expired": site.init_data(age=timedelta(seconds=3601)),
        "resident": site.init_data(RESIDENT),
    }[case]
    for path, method in (("/app/api/dashboard", "GET"), ("/app/api/exports/action_log", "POST")):
        got, _, body = await site.get(path, init_data, method)
        assert got == status
        assert body == {"error": "unauthorized" if status == 401 else "forbidden"}
    _, _, metrics = await site.get("/metrics")
    assert f'greenhood_web_denied_total{{reason="{reason}"}} 2.0' in metrics.decode()


async def test_the_organiser_check_is_made_on_every_call(site: Site) -> None:
    """An organiser added with `greenhood organisers add`, then removed: the same init
    data, still fresh, stop working at once, and so does a download link made before."""
    async with site.bot.sessionmaker() as session:
        await users.add_organiser(session, RESIDENT, site.clock.now())
        await session.commit()
    init_data = site.init_data(RESIDENT)
    assert (await site.get("/app/api/dashboard", init_data))[0] == 200
    status, _, link = await site.get("/app/api/exports/action_log", init_data, "POST")
    assert status == 200
    async with site.bot.sessionmaker() as session:
        await users.remove_organiser(session, RESIDENT)
        await session.commit()
    assert (await site.get("/app/api/dashboard", init_data))[0] == 403
    assert (await site.get(f"/app/{link['url']}"))[0] == 403


async def test_downloads_are_the_exports_behind_a_short_lived_link(site: Site) -> None:
    status, _, link = await site.get("/app/api/exports/action_log", site.init_data(), method="POST")
    assert status == 200
    assert link["url"].startswith("exports/action_log?token=")
    status, headers, body = await site.get(f"/app/{link['url']}")
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="action_log.csv"'
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    # The default language is French: ";" between columns (csv_style).
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["person", "logged_at_utc", "week_start"]
    assert len(rows) == 1 + 34
    # Another file with the same token, a changed token, or too late: refused.
    token = link["url"].split("token=")[1]
    assert (await site.get(f"/app/exports/contest_standings?token={token}"))[0] == 401
    assert (await site.get(f"/app/exports/action_log?token={token[:-1]}x"))[0] == 401
    assert (await site.get("/app/exports/users?token=x"))[0] == 404
    site.clock.advance(timedelta(minutes=6))
    assert (await site.get(f"/app/{link['url']}"))[0] == 401


async def test_a_contest_screen_is_public_with_its_address_only(site: Site) -> None:
    _, _, body = await site.get("/app/api/dashboard", site.init_data())
    path = body["contests"][0]["screen_url"].removeprefix(BASE)
    status, headers, page = await site.get(path)
    assert status == 200
    assert headers["Referrer-Policy"] == "no-referrer"
    html = page.decode()
    assert "Mets ton campus à l&#x27;an vert" in html
    assert 'data-refresh="0.5"' in html
    status, _, data = await site.get(path + "/data?lang=fr")
    assert status == 200
    assert [(row["rank"], row["team"], row["per_member"]) for row in data["rows"]] == [
        ("1", TEAMS[0][1], "3,0"),
        ("2", TEAMS[1][1], "1,0"),
        ("3", TEAMS[2][1], "0,0"),
    ]
    assert data["rows"][0]["share"] == 1.0
    assert {"label": "Gestes cette semaine", "value": "10"} in data["totals"]
    assert "P300" not in str(data)
    key = path.rsplit("-", 1)[1]
    wrong = key[:-1] + ("a" if key[-1] != "a" else "b")
    contest = site.seeded.contest_id
    for attempt in (
        f"/screen/{contest}-{wrong}",
        f"/screen/{contest}",
        f"/screen/{contest + 1}-{key}",
    ):
        assert (await site.get(attempt))[0] == 404
        assert (await site.get(attempt + "/data"))[0] == 404


async def test_pages_and_static_files(site: Site) -> None:
    status, headers, page = await site.get("/app/?lang=en")
    assert status == 200
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = page.decode()
    assert '<html lang="en">' in html
    assert "Greenhood dashboard" in html
    assert "../static/dashboard.js?v=" in html
    assert (await site.get("/app"))[0] == 302
    status, headers, script = await site.get("/static/tma.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert b"tgWebAppData" in script
    for missing in ("/static/app.py", "/static/..%2Fapp.py", "/static/"):
        assert (await site.get(missing))[0] == 404


async def test_stats_offers_the_dashboard_and_organisers_get_a_menu_button(
    site: Site, tg: BotApiStandIn
) -> None:
    organiser = TgUser(id=ORGANISER, first_name="Camille", language_code="fr")
    [reply] = await tg.reply_to(organiser, "/stats")
    [[button]] = reply.params["reply_markup"]["inline_keyboard"]
    assert button["text"] == text("stats.dashboard_button", "fr")
    assert button["web_app"] == {"url": f"{BASE}/app/?lang=fr"}
    menu = tg.menu_button(ORGANISER)
    assert menu["type"] == "web_app"
    assert menu["web_app"] == {"url": f"{BASE}/app/?lang=fr"}
    assert tg.menu_button(RESIDENT) == {"type": "commands"}


async def test_without_a_public_address_stats_has_no_button(
    settings: Settings, tg: BotApiStandIn, clock: ManualClock
) -> None:
    async with running_bot(web_settings(settings), tg, clock=clock):
        [reply] = await tg.reply_to(TgUser(id=ORGANISER), "/stats")
    assert "reply_markup" not in reply.params
    assert "setChatMenuButton" not in {call.method for call in tg.calls}


async def test_greenhood_web_serves_the_same_alone(
    settings: Settings, tg: BotApiStandIn, clock: ManualClock
) -> None:
    """`greenhood web` next to a polling bot: the process factory, then the web server."""
    configured = web_settings(
        settings, telegram_api_base=tg.base_url, bot_token=SecretStr(tg.token)
    )
    async with open_worker(configured, clock=clock, run_jobs=False) as worker:
        seeded = await seed(worker.sessionmaker, configured, clock.now())
        port = free_port()
        async with (
            serve_web(worker.web_context(), "127.0.0.1", port),
            ClientSession() as client,
        ):
            url = f"http://127.0.0.1:{port}"
            async with client.get(url + "/healthz") as response:
                assert response.status == 200
                assert (await response.json())["database"] == "ok"
            init_data = sign_init_data(tg.token, ORGANISER, clock.now())
            async with client.get(
                url + "/app/api/dashboard", headers={"Authorization": f"tma {init_data}"}
            ) as response:
                assert response.status == 200
                body = await response.json()
            # No WEB_BASE_URL: screen addresses are made from the request's.
            assert body["contests"][0]["screen_url"].startswith(
                f"{url}/screen/{seeded.contest_id}-"
            )
            async with client.get(url + "/metrics") as response:
                assert "greenhood_web_denied_total" in await response.text()
        async with worker.sessionmaker() as session:
            assert (await session.scalars(select(Contest.name))).all() == [CONTEST]
    # Telegram was never called: the web process sends nothing.
    assert not [call for call in tg.calls if call.method != "getMe"]


def test_greenhood_web_needs_the_bot_token() -> None:
    result = CliRunner().invoke(cli, ["web"])
    assert result.exit_code == 2
    assert "BOT_TOKEN" in result.output
