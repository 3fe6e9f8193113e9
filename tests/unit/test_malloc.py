"""The serving processes cap glibc's malloc arenas (bot/app/malloc.py), unless the
operator chose a number."""

from __future__ import annotations

import platform
import sys

import pytest

from bot.app.malloc import cap_arenas

glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not glibc, reason="mallopt is glibc's; elsewhere nothing is capped")
def test_arenas_are_capped_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert cap_arenas() is True


def test_the_operators_own_limit_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert cap_arenas() is False
