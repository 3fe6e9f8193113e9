"""Feature routers skip a message for another feature with one check (their
MessagePrefilter), groups of routers with one check for the group, and neither ever
skips a message one of their handlers would take."""

from __future__ import annotations

import itertools
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Chat, Location, Message, PhotoSize, Update, User

from bot.core.settings import PROJECT_ROOT
from bot.ui.filters import (
    CallbackPrefixes,
    MenuButton,
    MessagePrefilter,
    group_routers,
    guard_callbacks,
    guard_messages,
)
from handlers import ROUTED, create_routers
from tests.conftest import make_settings
from tests.hostile.world import all_commands
from tests.support.texts import tr

SENDER = 42


class Flow(StatesGroup):
    one = State()
    two = State()


def message(
    text: str | None = None, *, caption: str | None = None, chat: str = "private", **extra: Any
) -> Message:
    return Message(
        message_id=1,
        date=0,  # type: ignore[arg-type]
        chat=Chat(id=SENDER if chat == "private" else -100, type=chat),
        from_user=User(id=SENDER, is_bot=False, first_name="A"),
        text=text,
        caption=caption,
        **extra,
    )


async def noop(event: Message) -> None:
    return None


class NamedBot:
    """What aiogram's Command asks of the bot: its name, for /cmd@name."""

    async def me(self) -> User:
        return User(id=1, is_bot=True, first_name="Greenhood", username="greenhood_bot")


async def test_the_prefilter_reads_commands_as_aiogram_does() -> None:
    guard = MessagePrefilter(commands=frozenset({"help", "Team"}))
    for text in ("/help", "/HELP", "/help@greenhood_bot", "  /help me", "/team", "/TEAM x"):
        assert await guard(message(text)), text
    assert await guard(message(caption="/help"))
    for text in ("help", "/helpme", "/ help", "/start", "x /help"):
        assert not await guard(message(text)), text
    assert not await guard(message(None))
    # The spelling with spaces is one aiogram's own Command takes too.
    assert await Command("help").__call__(message("  /help me"), bot=None)  # type: ignore[arg-type]


async def test_a_deep_link_command_needs_its_payload() -> None:
    router = Router(name="links")
    router.message.register(noop, CommandStart(deep_link=True))
    guard = guard_messages(router)["links"]
    assert await guard(message("/start maker_3"))
    assert not await guard(message("/start"))
    assert not await guard(message("/start   "))
    both = Router(name="both")
    both.message.register(noop, CommandStart(deep_link=True))
    both.message.register(noop, CommandStart())
    assert await guard_messages(both)["both"](message("/start"))


async def test_the_prefilter_takes_states_and_menu_buttons_in_every_language() -> None:
    guard = MessagePrefilter(states=frozenset({"Flow:one"}), buttons=("menu.act",))
    assert await guard(message("anything"), raw_state="Flow:one", i18n=tr)
    assert await guard(message(None), raw_state="Flow:one", i18n=tr)
    assert not await guard(message("anything"), raw_state="Flow:two", i18n=tr)
    for locale in ("fr", "en"):
        assert await guard(message(tr.t("menu.act", locale)), i18n=tr)
    assert not await guard(message(tr.t("menu.offers", "en")), i18n=tr)


def test_routers_with_a_handler_for_any_message_are_not_guarded() -> None:
    router = Router(name="mixed")
    router.message.register(noop, Command("a"))
    router.message.register(noop)
    assert guard_messages(router) == {}
    any_state = Router(name="any-state")
    any_state.message.register(noop, StateFilter("*"))
    assert guard_messages(any_state) == {}
    grouped = Router(name="group")
    grouped.message.register(noop, StateFilter(Flow))
    guard = guard_messages(grouped)["group"]
    assert guard.states == {Flow.one.state, Flow.two.state}


def _samples() -> list[tuple[Message, str | None]]:
    """Messages people send, in every state a handler waits for and in none."""
    states: set[str | None] = {None, "Unknown:state"}
    for module in ROUTED:
        router = module.create_router()
        for each in (router, *router.sub_routers):
            for handler in each.message.handlers:
                for item in handler.filters or ():
                    if isinstance(item.callback, StateFilter):
                        for state in item.callback.states:
                            if isinstance(state, State):
                                states.add(state.state)
                            elif isinstance(state, type) and issubclass(state, StatesGroup):
                                states |= set(state.__all_states_names__)
    texts = ["hello", "", "/", "/nosuchcommand", "12", "/start maker_1", "/start bogus"]
    for name in all_commands():
        texts += [f"/{name}", f"/{name.upper()}@greenhood_bot", f"/{name} args"]
    for module in ROUTED:
        router = module.create_router()
        for handler in router.message.handlers:
            for item in handler.filters or ():
                if isinstance(item.callback, MenuButton):
                    texts += [tr.t(item.callback.key, locale) for locale in ("fr", "en")]
    bodies = [message(text) for text in texts]
    bodies += [message(text, chat="supergroup") for text in ("/help", "/events", "hello")]
    bodies += [
        message(location=Location(latitude=44.84, longitude=-0.57)),
        message(photo=[PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]),
        message(
            caption="/help", photo=[PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
        ),
    ]
    return list(itertools.product(bodies, sorted(states, key=str)))


async def test_a_guard_never_rejects_what_a_handler_of_its_router_would_take() -> None:
    """Every feature router's handlers tried on every sample: where one would take it,
    the router's guard (and its group's) takes it too."""
    data: dict[str, Any] = {
        "i18n": tr,
        "settings": make_settings(PROJECT_ROOT, organiser_ids=[SENDER]),
        "session": None,
        "throttled": None,
        "bot": NamedBot(),
    }
    samples = _samples()
    checked = taken = 0
    for module in ROUTED:
        router = module.create_router()
        guards = guard_messages(router)
        for each in [router, *router.sub_routers]:
            if each.name not in guards:
                continue
            for sample, raw_state in samples:
                kwargs = data | {"raw_state": raw_state}
                would_take = False
                for handler in each.message.handlers:
                    matched, _ = await handler.check(sample, **kwargs)
                    if matched:
                        would_take = True
                        break
                checked += 1
                if would_take:
                    taken += 1
                    assert await guards[each.name](sample, raw_state=raw_state, i18n=tr), (
                        each.name,
                        sample.text,
                        raw_state,
                    )
    # The samples reach the handlers: not a test of guards that reject nothing.
    assert checked > 5_000 and taken > 100, (checked, taken)


async def test_groups_take_what_any_of_their_routers_takes() -> None:
    samples = _samples()
    routers = [module.create_router() for module in ROUTED]
    messages: dict[str, MessagePrefilter] = {}
    callbacks: dict[str, CallbackPrefixes] = {}
    for router in routers:
        messages |= guard_messages(router)
        callbacks |= guard_callbacks(router)
    features = routers[2:-1]
    groups = group_routers(features, messages, callbacks, size=5, name="g")
    assert [child for group in groups for child in group.sub_routers] == features
    for group in groups:
        group_guard = MessagePrefilter.union(
            guard
            for child in group.sub_routers
            for each in (child, *child.sub_routers)
            if (guard := messages.get(each.name)) is not None
        )
        for sample, raw_state in samples:
            for child in group.sub_routers:
                for each in (child, *child.sub_routers):
                    guard = messages.get(each.name)
                    if guard is not None and await guard(sample, raw_state=raw_state, i18n=tr):
                        assert await group_guard(sample, raw_state=raw_state, i18n=tr)


def test_the_dispatcher_gets_the_features_in_groups_between_the_guards_and_the_fallback() -> None:
    routers = create_routers()
    names = [router.name for router in routers]
    assert names[:2] == ["handlers.system.errors", "handlers.system.throttle"]
    assert names[-1] == "handlers.system.fallback"
    children = [child.name for group in routers[2:-1] for child in group.sub_routers]
    assert children == [module.__name__ for module in ROUTED[2:-1]]


async def test_a_group_passes_on_what_its_routers_take_and_only_that() -> None:
    """Through aiogram's own dispatching: a group of guarded routers lets their commands
    through and stops other text; a group holding a router for any text lets it all in."""
    reached: list[str] = []

    def handler(name: str) -> Any:
        async def handle(event: Message) -> None:
            reached.append(f"{name}:{event.text}")

        return handle

    first = Router(name="first")
    first.message.register(handler("first"), Command("a"))
    second = Router(name="second")
    second.message.register(handler("second"), Command("b"))
    open_router = Router(name="open")
    open_router.message.register(handler("open"))
    late = Router(name="late")
    late.message.register(handler("late"))
    messages = guard_messages(first) | guard_messages(second) | guard_messages(open_router)
    assert set(messages) == {"first", "second"}
    closed_group, open_group = group_routers(
        [first, second, open_router], messages, {}, size=2, name="g"
    )
    dispatcher = Dispatcher()
    dispatcher.include_routers(closed_group, open_group, late)
    bot = Bot("42:TEST")
    for update_id, text in enumerate(("/a", "/b", "hello", "/c")):
        update = Update(update_id=update_id, message=message(text))
        await dispatcher.feed_update(bot, update)
    await bot.session.close()
    assert reached == ["first:/a", "second:/b", "open:hello", "open:/c"]
