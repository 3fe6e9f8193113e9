"""Feature routers. Order matters: throttling first, the catch-all fallback last."""

from __future__ import annotations

from aiogram import Router

from bot.ui.commands import CommandSpec
from handlers import (
    actions,
    broadcast,
    challenges,
    common,
    errors,
    fallback,
    maker_wizard,
    makers,
    moderation,
    neighbours,
    notifications,
    offer_wizard,
    offers,
    organisers,
    start,
    teams,
    throttle,
)


def get_routers() -> list[Router]:
    return [
        errors.router,
        throttle.router,
        start.router,
        common.router,
        makers.router,
        maker_wizard.router,
        moderation.router,
        actions.router,
        challenges.router,
        teams.router,
        neighbours.router,
        organisers.router,
        offers.router,
        offer_wizard.router,
        notifications.router,
        broadcast.router,
        fallback.router,
    ]


def get_commands() -> list[CommandSpec]:
    return [
        *start.COMMANDS,
        *common.COMMANDS,
        *makers.COMMANDS,
        *maker_wizard.COMMANDS,
        *moderation.COMMANDS,
        *actions.COMMANDS,
        *challenges.COMMANDS,
        *teams.COMMANDS,
        *neighbours.COMMANDS,
        *organisers.COMMANDS,
        *offers.COMMANDS,
        *notifications.COMMANDS,
        *broadcast.COMMANDS,
    ]
