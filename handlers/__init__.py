"""Feature routers. Order matters: throttling first, the catch-all fallback last."""

from __future__ import annotations

from aiogram import Router

from bot.commands import CommandSpec
from handlers import broadcast, common, errors, fallback, notifications, start, throttle


def get_routers() -> list[Router]:
    return [
        errors.router,
        throttle.router,
        start.router,
        common.router,
        notifications.router,
        broadcast.router,
        fallback.router,
    ]


def get_commands() -> list[CommandSpec]:
    return [*start.COMMANDS, *common.COMMANDS, *notifications.COMMANDS, *broadcast.COMMANDS]
