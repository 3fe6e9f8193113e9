"""The feature routers, one module per screen or flow, grouped by feature.

Order matters: the error handler and the flood control first, then the features (each
opening its own `/start <link>`), the plain /start, and the catch-all fallback last.
Routers are built anew on each call: aiogram lets a router belong to one dispatcher."""

from __future__ import annotations

from types import ModuleType

from aiogram import Router

from bot.ui.commands import CommandSpec
from bot.ui.filters import (
    CallbackPrefixes,
    MessagePrefilter,
    group_routers,
    guard_callbacks,
    guard_messages,
)
from handlers import moderation, neighbours, start
from handlers.actions import act, challenges, teams
from handlers.actions import places as action_places
from handlers.events import browse as event_browse
from handlers.events import manage as event_manage
from handlers.events import wizard as event_wizard
from handlers.makers import directory
from handlers.makers import wizard as maker_wizard
from handlers.offers import browse
from handlers.offers import relay as offer_relay
from handlers.offers import templates as offer_templates
from handlers.offers import wizard as offer_wizard
from handlers.organisers import broadcasts
from handlers.organisers import challenges as organiser_challenges
from handlers.settings import forget, menu, notifications
from handlers.sharing import inline
from handlers.system import errors, fallback, throttle

ROUTED: tuple[ModuleType, ...] = (
    errors,
    throttle,
    menu,
    directory,
    maker_wizard,
    moderation,
    act,
    action_places,
    challenges,
    teams,
    neighbours,
    forget,
    organiser_challenges,
    browse,
    offer_wizard,
    offer_relay,
    offer_templates,
    event_browse,
    event_wizard,
    event_manage,
    notifications,
    broadcasts,
    inline,
    start,
    fallback,
)


# Feature routers gathered under one parent (bot.ui.filters.group_routers): about the
# square root of their number keeps both the parents and the children a /help walks few.
GROUP_SIZE = 5


def create_routers() -> list[Router]:
    """The error handler and flood control, the features in groups, the fallback last."""
    routers: list[Router] = [module.create_router() for module in ROUTED]
    messages: dict[str, MessagePrefilter] = {}
    callbacks: dict[str, CallbackPrefixes] = {}
    for router in routers:
        callbacks |= guard_callbacks(router)
        messages |= guard_messages(router)
    head, features, fallback_router = routers[:2], routers[2:-1], routers[-1]
    groups = group_routers(
        features, messages, callbacks, size=GROUP_SIZE, name=f"{__name__}.features"
    )
    return [*head, *groups, fallback_router]


def get_commands() -> list[CommandSpec]:
    """Every command of the menus, in the order they are listed (start and help first)."""
    first = (start, menu)
    return [
        spec
        for module in (*first, *(m for m in ROUTED if m not in first))
        for spec in getattr(module, "COMMANDS", ())
    ]
