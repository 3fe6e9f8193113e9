"""A real headless browser for the web pages' tests: Debian's Chromium driven by Playwright
(the Python package only: its own browser downloads are never used).

Without a Chromium the tests skip, saying so, unless GREENHOOD_REQUIRE_SERVICES is set
(.ci/run sets it and installs the browser): then they fail. GREENHOOD_CHROMIUM names
another executable. Screenshots go to GREENHOOD_SCREENSHOTS when set (to look at them),
else into the test's temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REQUIRE_ENV

CHROMIUM_ENV = "GREENHOOD_CHROMIUM"
SCREENSHOTS_ENV = "GREENHOOD_SCREENSHOTS"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless, and nothing reaching out of this machine (updates, sync, field trials).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

if TYPE_CHECKING:  # Playwright is imported when a test runs, to skip without it
    from playwright.async_api import Browser


def chromium_path() -> str | None:
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    message = f"browser tests need {reason} (Debian: apt-get install chromium; .ci/run does)"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{message}, and {REQUIRE_ENV} is set", pytrace=False)
    pytest.skip(message)


@contextlib.asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None:
        _unavailable(f"a Chromium executable (on PATH or in {CHROMIUM_ENV})")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the playwright package (make install)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


def screenshot_path(tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.png"
