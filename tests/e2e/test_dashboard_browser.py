"""The dashboard and a contest screen in a real headless browser (Chromium): what an
organiser sees in Telegram, what anyone else sees, and the projected screen updating by
itself. Screenshots are taken of each (tests/support/browser.py says where they go)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import actions
from bot.standin import BotApiStandIn
from tests.support.browser import launched, screenshot_path
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text
from tests.support.webapp import (
    CONTEST,
    DARK_THEME,
    ORGANISER,
    PLEDGE,
    RESIDENT,
    TEAMS,
    Seeded,
    forge,
    launch_fragment,
    seed,
    sign_init_data,
    web_settings,
)

if TYPE_CHECKING:  # imported when the browser starts (tests skip without Playwright)
    from playwright.async_api import Browser, Page, Response, ViewportSize

PHONE: ViewportSize = {"width": 412, "height": 915}
PROJECTOR: ViewportSize = {"width": 1920, "height": 1080}


@dataclass
class Web:
    bot: RunningBot
    seeded: Seeded
    url: str
    clock: ManualClock
    token: str
    browser: Browser

    def init_data(self, user_id: int = ORGANISER) -> str:
        return sign_init_data(self.token, user_id, self.clock.now())

    async def open_dashboard(
        self, init_data: str | None, *, lang: str = "fr", theme: dict[str, str] | None = None
    ) -> tuple[Page, list[Response]]:
        page = await self.browser.new_page(viewport=PHONE, locale=lang)
        answers: list[Response] = []
        page.on("response", lambda response: answers.append(response))
        fragment = launch_fragment(init_data, theme) if init_data is not None else ""
        await page.goto(f"{self.url}/app/?lang={lang}{fragment}")
        await page.wait_for_selector("body[data-state]")
        return page, answers


@pytest.fixture
async def web(settings: Settings, tg: BotApiStandIn, clock: ManualClock) -> AsyncIterator[Web]:
    hooked = web_settings(settings, webhook_secret=SecretStr("s3cret"))
    async with launched() as browser, running_bot(hooked, tg, clock=clock, webhook=True) as bot:
        seeded = await seed(bot.sessionmaker, bot.settings, clock.now())
        yield Web(bot, seeded, f"http://127.0.0.1:{bot.runtime.port}", clock, tg.token, browser)


def api_statuses(answers: list[Response]) -> list[int]:
    return [answer.status for answer in answers if "/app/api/" in answer.url]


async def no_horizontal_overflow(page: Page) -> bool:
    """Neither the page nor any table is wider than its box (nothing cut or scrolled)."""
    return bool(
        await page.evaluate(
            """() => [document.documentElement, ...document.querySelectorAll('.table-wrap')]
                .every((box) => box.scrollWidth <= box.clientWidth)"""
        )
    )


async def test_an_organiser_sees_the_dashboard_in_the_telegram_theme(
    web: Web, tmp_path: Path
) -> None:
    page, answers = await web.open_dashboard(web.init_data(), theme=DARK_THEME)
    assert await page.get_attribute("body", "data-state") == "ready"
    assert api_statuses(answers) == [200]
    main = page.locator("main")
    # The contest's standings, as a table, best ratio first.
    rows = await page.locator("#contests tbody tr").all_inner_texts()
    assert [re.split(r"\s+", row.strip())[0] for row in rows] == ["1", "2", "3"]
    assert TEAMS[0][1] in rows[0] and "3,0" in rows[0]
    assert TEAMS[1][1] in rows[1] and "1,0" in rows[1]
    assert await page.locator("#contests h3").inner_text() == CONTEST
    assert PLEDGE in await main.inner_text()
    assert "4 / 40 cette semaine" in await main.inner_text()
    assert await page.locator("#week").inner_text() == "Semaine du 5 janvier 2026"
    # Charts drawn: the contest's weekly evolution, actions and CO2e, challenge, offers.
    assert await page.locator("svg.chart").count() == 5
    moderation = await page.locator("#moderation").inner_text()
    assert "Offres signalées" in moderation and "Fiches d'artisans en attente" in moderation
    # Telegram's colours, not ours.
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == (
        "rgb(23, 33, 43)"
    )
    assert (
        await page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
        == "rgb(35, 46, 60)"
    )
    assert await no_horizontal_overflow(page)
    await page.screenshot(path=screenshot_path(tmp_path, "dashboard-dark-fr"), full_page=True)

    light, _ = await web.open_dashboard(web.init_data(), lang="en")
    assert "Eco-actions per week" in await light.locator("main").inner_text()
    assert await light.evaluate("getComputedStyle(document.body).backgroundColor") == (
        "rgb(255, 255, 255)"
    )
    assert await no_horizontal_overflow(light)
    await light.screenshot(path=screenshot_path(tmp_path, "dashboard-light-en"), full_page=True)


async def test_an_organiser_downloads_an_export(web: Web, tmp_path: Path) -> None:
    page, answers = await web.open_dashboard(web.init_data())
    async with page.expect_download() as waiting:
        await page.locator('button[data-kind="challenge_progress"]').click()
    download = await waiting.value
    assert download.suggested_filename == "challenge_progress.csv"
    saved = tmp_path / "download.csv"
    await download.save_as(saved)
    content = saved.read_bytes().decode("utf-8-sig")
    # The organiser reads French, so the spreadsheet is the French kind (';' between columns).
    assert content.splitlines()[0].startswith("challenge_id;challenge;week_start")
    assert "Semaine végé au resto U" in content
    assert api_statuses(answers) == [200, 200]


@pytest.mark.parametrize(
    ("case", "status", "message_key"),
    [
        ("forged", 401, "dashboard.error_401"),
        ("expired", 401, "dashboard.error_401"),
        ("resident", 403, "dashboard.error_403"),
    ],
)
async def test_anyone_else_sees_no_data(
    web: Web, tmp_path: Path, case: str, status: int, message_key: str
) -> None:
    init_data = {
        "forged": forge(web.init_data(), RESIDENT),
        "expired": sign_init_data(web.token, ORGANISER, web.clock.now() - timedelta(days=2)),
        "resident": web.init_data(RESIDENT),
    }[case]
    page, answers = await web.open_dashboard(init_data)
    assert await page.get_attribute("body", "data-state") == "denied"
    assert api_statuses(answers) == [status]
    shown = await page.locator("main").inner_text()
    assert shown.strip() == text(message_key, "fr")
    for name in (CONTEST, *[team for _, team in TEAMS], PLEDGE):
        assert name not in await page.content()
    assert await page.locator("#refresh").is_hidden()
    await page.screenshot(path=screenshot_path(tmp_path, f"dashboard-refused-{case}"))


async def test_outside_telegram_the_page_says_where_to_open_it(web: Web) -> None:
    page, answers = await web.open_dashboard(None)
    assert await page.locator("main").inner_text() == text("dashboard.outside_telegram", "fr")
    assert api_statuses(answers) == []


async def test_the_contest_screen_is_projected_and_updates_itself(web: Web, tmp_path: Path) -> None:
    dashboard, _ = await web.open_dashboard(web.init_data())
    address = await dashboard.locator("#contests code.address").inner_text()
    path = address.split("/screen/", 1)[1]
    page = await web.browser.new_page(viewport=PROJECTOR, locale="fr-FR")
    await page.goto(f"{web.url}/screen/{path}")
    await page.wait_for_selector("body[data-state=ready]")
    teams = await page.locator(".rank-row .team").all_inner_texts()
    assert teams == [team for _, team in TEAMS]
    scores = await page.locator(".rank-row .score-value").all_inner_texts()
    assert scores == ["3,0", "1,0", "0,0"]
    totals = await page.locator(".totals").inner_text()
    assert "10" in totals and "Gestes cette semaine" in totals
    assert await page.locator("#live").is_visible()
    assert await no_horizontal_overflow(page)
    await page.screenshot(path=screenshot_path(tmp_path, "contest-screen"))

    # Team 3's first actions of the week: 3 by one member, it takes the lead by itself.
    async with web.bot.sessionmaker() as session:
        for slug in ("veggie_meal", "bike_trip", "repaired_item", "veggie_meal"):
            await actions.log_action(
                session,
                user_id=3009,
                slug=slug,
                chat_id=3009,
                now=web.clock.now(),
                tz=web.bot.settings.tz,
            )
        await session.commit()
    await page.wait_for_function(
        "(name) => document.querySelector('.rank-row .team').textContent === name",
        arg=TEAMS[2][1],
        timeout=15_000,
    )
    scores = await page.locator(".rank-row .score-value").all_inner_texts()
    assert scores == ["4,0", "3,0", "1,0"]
    assert "14" in await page.locator(".totals").inner_text()
    # No person's name anywhere on the public screen.
    assert "P3009" not in await page.content()
    await page.screenshot(path=screenshot_path(tmp_path, "contest-screen-updated"))
