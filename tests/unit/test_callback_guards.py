"""Feature routers skip a button press for another feature with one check (their
CallbackPrefixes filter), and only presses none of their handlers could take."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import CallbackQuery, User

from bot.ui.filters import CallbackPrefixes, guard_callbacks
from handlers import ROUTED


class AlphaCb(CallbackData, prefix="al"):
    n: int


class BareCb(CallbackData, prefix="bare"):
    pass


def press(data: str | None) -> CallbackQuery:
    return CallbackQuery(
        id="1", from_user=User(id=1, is_bot=False, first_name="A"), chat_instance="c", data=data
    )


async def noop(query: CallbackQuery) -> None:
    return None


async def test_the_guard_takes_exactly_what_callback_data_can_unpack() -> None:
    guard = CallbackPrefixes(frozenset({"al", "bare"}))
    assert await guard(press("al:3"))
    assert await guard(press("bare"))
    assert await guard(press("bare:"))
    assert not await guard(press("alx:3"))
    assert not await guard(press("a"))
    assert not await guard(press(None))
    # What the guard lets through is what the handlers' own filters could take.
    assert AlphaCb.unpack("al:3").n == 3
    assert isinstance(BareCb.unpack("bare"), BareCb)


def test_a_router_with_a_handler_for_any_press_is_not_guarded() -> None:
    router = Router(name="mixed")
    router.callback_query.register(noop, AlphaCb.filter())
    router.callback_query.register(noop, F.data == "anything")
    assert guard_callbacks(router) == {}


def test_sub_routers_are_guarded_not_their_parent() -> None:
    parent = Router(name="parent")
    child = Router(name="child")
    child.callback_query.register(noop, AlphaCb.filter())
    parent.include_router(child)
    given = guard_callbacks(parent)
    assert set(given) == {"child"}
    assert given["child"].prefixes == ("al:",)


def test_every_feature_router_is_guarded_with_the_prefixes_of_its_handlers() -> None:
    unguarded = {"handlers.system.throttle", "handlers.system.fallback"}
    for module in ROUTED:
        router = module.create_router()
        routers = [router, *router.sub_routers]
        given = guard_callbacks(router)
        for each in routers:
            if not each.callback_query.handlers or each.sub_routers:
                continue
            if each.name in unguarded:
                assert each.name not in given
                continue
            expected = {
                item.callback.callback_data.__prefix__
                for handler in each.callback_query.handlers
                for item in handler.filters or ()
                if isinstance(item.callback, CallbackQueryFilter)
            }
            assert given[each.name].bare == expected, each.name
