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


def create_routers() -> list[Router]:
    """The feature routers, built anew (a router can belong to one dispatcher only)."""
    return [
        errors.create_router(),
        throttle.create_router(),
        start.create_router(),
        common.create_router(),
        makers.create_router(),
        maker_wizard.create_router(),
        moderation.create_router(),
        actions.create_router(),
        challenges.create_router(),
        teams.create_router(),
        neighbours.create_router(),
        organisers.create_router(),
        offers.create_router(),
        offer_wizard.create_router(),
        notifications.create_router(),
        broadcast.create_router(),
        fallback.create_router(),
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
