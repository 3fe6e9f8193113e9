"""Filters shared by several routers."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import CommandObject, Filter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, Message, TelegramObject
from magic_filter import MagicFilter
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.services.deeplinks import DeepLink, DeepLinkKind, parse_payload
from bot.services.throttling import ThrottleVerdict
from bot.services.users import is_organiser
from bot.ui.i18n import Translator


class Magic(Filter):
    """A magic filter (`F.…`) resolved on the event loop.

    aiogram runs every synchronous filter in a worker thread (`asyncio.to_thread`), the
    bare `F.…` filters included, and tries filters handler after handler until one
    matches: a thread hand-off each, for a check of a few attribute reads (2.5 % of the
    CPU in the throughput benchmark). Wrapped in this asynchronous filter, the same rule
    is resolved in place; what it returns (a value, or a dict from `.as_()`) means the
    same to aiogram."""

    __slots__ = ("rule",)

    def __init__(self, rule: MagicFilter) -> None:
        self.rule = rule

    async def __call__(self, event: TelegramObject) -> Any:
        return self.rule.resolve(event)


class MenuButton(Filter):
    """A reply-keyboard button, recognised in every language (the keyboard a person
    has may predate a language switch)."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, i18n: Translator) -> bool:
        return message.text is not None and message.text in i18n.every_translation(self.key)


class IsOrganiser(Filter):
    """Checked on every update: hiding the commands is not the protection."""

    async def __call__(
        self, event: TelegramObject, session: AsyncSession, settings: Settings
    ) -> bool:
        sender = event.from_user if isinstance(event, Message | CallbackQuery) else None
        if sender is None:
            return False
        return await is_organiser(session, sender.id, settings.organiser_ids)


class Throttled(Filter):
    async def __call__(
        self, event: TelegramObject, throttled: ThrottleVerdict | None = None
    ) -> bool:
        return throttled is not None


class DeepLinkTo(Filter):
    """`/start <payload>` naming one kind of object, after `CommandStart(deep_link=True)`:
    the feature that owns the kind takes the link, with `link` (a DeepLink) as handler
    data. A malformed payload matches no feature and reaches the plain /start."""

    __slots__ = ("kind",)

    def __init__(self, kind: DeepLinkKind) -> None:
        self.kind = kind

    async def __call__(
        self, event: TelegramObject, command: CommandObject | None = None
    ) -> bool | dict[str, DeepLink]:
        link = parse_payload(command.args if command is not None else None)
        if link is None or link.kind is not self.kind:
            return False
        return {"link": link}


class CallbackPrefixes(Filter):
    """A router's own filter: the button presses one of its handlers could take, by the
    prefix of their CallbackData (`prefix:` or the bare prefix of a class without fields,
    all that CallbackData.unpack accepts). A press for another feature then skips the
    router with one check instead of one per handler: an update walks about twenty
    routers before its own (handlers/__init__.py)."""

    __slots__ = ("bare", "prefixes")

    def __init__(self, prefixes: frozenset[str], separator: str = ":") -> None:
        self.bare = prefixes
        self.prefixes = tuple(sorted(prefix + separator for prefix in prefixes))

    async def __call__(self, query: CallbackQuery) -> bool:
        data = query.data
        return data is not None and (data.startswith(self.prefixes) or data in self.bare)


def guard_callbacks(router: Router) -> dict[str, CallbackPrefixes]:
    """Give `router` (and its sub-routers) a CallbackPrefixes filter when every button
    handler it has is a CallbackData one: a press it rejects none of them would take.
    A router with sub-routers is left as it is (a rejection would skip them too), its
    sub-routers are guarded on their own; so is one with a handler for any press.
    Returns the filters given, by router name."""
    given: dict[str, CallbackPrefixes] = {}
    for sub_router in router.sub_routers:
        given |= guard_callbacks(sub_router)
    handlers = router.callback_query.handlers
    if router.sub_routers or not handlers:
        return given
    prefixes: set[str] = set()
    separators: set[str] = set()
    for handler in handlers:
        data_filters = [
            item.callback
            for item in handler.filters or ()
            if isinstance(item.callback, CallbackQueryFilter)
        ]
        if not data_filters:
            return given
        prefixes.add(data_filters[0].callback_data.__prefix__)
        separators.add(data_filters[0].callback_data.__separator__)
    if len(separators) == 1:
        given[router.name] = CallbackPrefixes(frozenset(prefixes), separators.pop())
        router.callback_query.filter(given[router.name])
    return given
