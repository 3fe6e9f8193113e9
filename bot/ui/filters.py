"""Filters shared by several routers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart, Filter, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
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

    @classmethod
    def union(cls, parts: Iterable[CallbackPrefixes]) -> CallbackPrefixes | None:
        """What any of `parts` takes (None when their separators differ)."""
        parts = list(parts)
        separators = {prefix[-1] for part in parts for prefix in part.prefixes}
        if len(separators) > 1:
            return None
        bare = frozenset(prefix for part in parts for prefix in part.bare)
        return cls(bare, separators.pop() if separators else ":")

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


class MessagePrefilter(Filter):
    """A router's own filter for messages: what one of its handlers could take, when each
    handler needs a command, a conversation state or a menu button of its own. A message
    for another feature (a /help walks about twenty routers before its own) then skips
    the router with one check instead of one per handler, and the handlers' filters still
    decide among what passes: this filter only ever lets through more than they take.

    A command is recognised as aiogram's Command reads it (the first word of the text or
    caption, its prefix, the name before any @mention), whatever its case; `with_payload`
    ones only with words after them (`/start <link>`, which every feature that owns a
    kind of link takes, while a plain /start is for the greeting alone)."""

    __slots__ = ("any_command", "buttons", "commands", "prefixes", "states", "with_payload")

    def __init__(
        self,
        *,
        commands: frozenset[str] = frozenset(),
        with_payload: frozenset[str] = frozenset(),
        any_command: bool = False,
        prefixes: str = "/",
        states: frozenset[str] = frozenset(),
        buttons: tuple[str, ...] = (),
    ) -> None:
        self.commands = frozenset(command.casefold() for command in commands)
        self.with_payload = frozenset(command.casefold() for command in with_payload)
        self.any_command = any_command
        self.prefixes = prefixes
        self.states = states
        self.buttons = buttons

    @classmethod
    def union(cls, parts: Iterable[MessagePrefilter]) -> MessagePrefilter:
        """What any of `parts` takes."""
        parts = list(parts)
        return cls(
            commands=frozenset(command for part in parts for command in part.commands),
            with_payload=frozenset(command for part in parts for command in part.with_payload),
            any_command=any(part.any_command for part in parts),
            prefixes="".join(sorted({prefix for part in parts for prefix in part.prefixes})) or "/",
            states=frozenset(state for part in parts for state in part.states),
            buttons=tuple(dict.fromkeys(key for part in parts for key in part.buttons)),
        )

    async def __call__(
        self, message: Message, raw_state: str | None = None, i18n: Translator | None = None
    ) -> bool:
        if raw_state is not None and raw_state in self.states:
            return True
        text = message.text or message.caption
        if not text:
            return False
        if self.commands or self.with_payload or self.any_command:
            words = text.split(maxsplit=1)
            if words and words[0][0] in self.prefixes:
                if self.any_command:
                    return True
                name = words[0][1:].partition("@")[0].casefold()
                if name in self.commands or (len(words) > 1 and name in self.with_payload):
                    return True
        if self.buttons:
            if i18n is None:
                return True
            return any(text in i18n.every_translation(key) for key in self.buttons)
        return False


def _state_names(states: tuple[Any, ...]) -> frozenset[str] | None:
    """The state names a StateFilter takes, or None when it takes any state or none."""
    names: set[str] = set()
    for state in states:
        if isinstance(state, State) and state.state not in (None, "*"):
            names.add(state.state)
        elif isinstance(state, type) and issubclass(state, StatesGroup):
            names.update(state.__all_states_names__)
        elif isinstance(state, str) and state != "*":
            names.add(state)
        else:
            return None
    return frozenset(names)


def guard_messages(router: Router) -> dict[str, MessagePrefilter]:
    """Give `router` (and its sub-routers) a MessagePrefilter when every message handler
    it has needs a command, a state or a menu button: a message it rejects none of them
    would take. Like guard_callbacks, a router with sub-routers is left as it is and its
    sub-routers are guarded on their own; so is one with a handler that takes any text
    (the fallback) or its own kind of filter only (the flood control).
    Returns the filters given, by router name."""
    given: dict[str, MessagePrefilter] = {}
    for sub_router in router.sub_routers:
        given |= guard_messages(sub_router)
    handlers = router.message.handlers
    if router.sub_routers or not handlers:
        return given
    commands: set[str] = set()
    with_payload: set[str] = set()
    any_command = False
    prefixes: set[str] = set()
    states: set[str] = set()
    buttons: list[str] = []
    for handler in handlers:
        filters = [item.callback for item in handler.filters or ()]
        # One requirement per handler is enough (a handler needs all of its filters);
        # a command is the cheapest to check.
        command = next((f for f in filters if isinstance(f, Command)), None)
        if command is not None:
            prefixes.update(command.prefix)
            payload = isinstance(command, CommandStart) and command.deep_link is True
            for name in command.commands:
                if isinstance(name, str):
                    (with_payload if payload else commands).add(name)
                else:  # a pattern: any command may match it
                    any_command = True
            continue
        state_names = next(
            (
                names
                for f in filters
                if isinstance(f, StateFilter)
                and (names := _state_names(tuple(f.states))) is not None
            ),
            None,
        )
        if state_names is not None:
            states.update(state_names)
            continue
        button = next((f for f in filters if isinstance(f, MenuButton)), None)
        if button is not None:
            buttons.append(button.key)
            continue
        return given
    given[router.name] = MessagePrefilter(
        commands=frozenset(commands),
        with_payload=frozenset(with_payload - commands),
        any_command=any_command,
        prefixes="".join(sorted(prefixes)) or "/",
        states=frozenset(states),
        buttons=tuple(dict.fromkeys(buttons)),
    )
    router.message.filter(given[router.name])
    return given


def _reach_of(
    router: Router,
    handlers: Sequence[object],
    given: Mapping[str, Any],
    nested: Callable[[Router], Sequence[object]],
) -> list[Any] | None:
    """The guards that together cover what `router` and its sub-routers take of one kind
    of update, or None when part of it is unguarded."""
    if router.name in given:
        return [given[router.name]]
    if handlers:
        return None
    parts: list[Any] = []
    for sub_router in router.sub_routers:
        reach = _reach_of(sub_router, nested(sub_router), given, nested)
        if reach is None:
            return None
        parts.extend(reach)
    return parts


def group_routers(
    routers: Sequence[Router],
    messages: Mapping[str, MessagePrefilter],
    callbacks: Mapping[str, CallbackPrefixes],
    *,
    size: int,
    name: str,
) -> list[Router]:
    """`routers` in their order, gathered `size` at a time under parent routers that
    take a message or a button press only when one of their children's guards would
    (given by guard_messages and guard_callbacks): a /help then skips a group of
    features with one check instead of one per router. Each visit of a router costs
    aiogram a middleware chain and copies of the update's data, whether its filter
    takes the update or not; with ~25 routers that was a third of a /help's CPU.
    Other kinds of update (inline queries, membership changes) go through the parents
    unfiltered, to the same children in the same order as before."""
    grouped: list[Router] = []
    for start in range(0, len(routers), size):
        children = list(routers[start : start + size])
        parent = Router(name=f"{name}.{start // size + 1}")
        message_reach = [
            _reach_of(child, child.message.handlers, messages, lambda r: r.message.handlers)
            for child in children
        ]
        if all(reach is not None for reach in message_reach):
            parent.message.filter(
                MessagePrefilter.union(guard for reach in message_reach for guard in reach or ())
            )
        callback_reach = [
            _reach_of(
                child,
                child.callback_query.handlers,
                callbacks,
                lambda r: r.callback_query.handlers,
            )
            for child in children
        ]
        if all(reach is not None for reach in callback_reach):
            union = CallbackPrefixes.union(
                guard for reach in callback_reach for guard in reach or ()
            )
            if union is not None:
                parent.callback_query.filter(union)
        parent.include_routers(*children)
        grouped.append(parent)
    return grouped
