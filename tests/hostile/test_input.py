"""The hostile-input suite (issue 8, PRODUCT.md §4): "bad input gets a clear, localized
answer, never a traceback and never a change to someone else's data".

hypothesis generates updates (any text up to 4,096 characters, unicode of every class, HTML
and Markdown look-alikes, every command with junk arguments and bot suffixes, callback data
of any bytes up to 64 and forged callback data of every CallbackData class, impossible or
edge coordinates, live-location edits, contacts, photos, stickers, documents, edited
messages, in a private chat and in a group) and feeds each, with a fresh increasing
update_id, to the production dispatcher (`create_dispatcher`) and bot (`create_bot`), whose
every call is real HTTP to the test Bot API server. Before each update the person is put in
one of the conversation states declared in handlers/ (found by walking the modules), with
conversation data recorded while scripted walks went through the wizards.

For each example: no error reached the errors handler (no ERROR record from any logger),
every text and button the bot showed is its French or English (no key, repr, traceback or
placeholder), every call was accepted by the server (whose HTML parser refuses bad entities)
and no piece of markup the person typed came back live, and no row of another person or
group (found by walking the metadata) changed.

The budget is small so that `make test` stays fast; set HOSTILE_EXAMPLES for a deeper local
run, e.g. `HOSTILE_EXAMPLES=2000 .venv/bin/python -m pytest -q tests/hostile/test_input.py`.
Examples are derandomized, so CI is reproducible: a failure prints the drawn values.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, Text, select

from bot.services.catalogue import default_catalogue
from bot.standin import BotApiStandIn, JsonDict, TgUser
from bot.ui.keyboards import MAIN_MENU_KEYS
from models import Base
from tests.conftest import make_settings
from tests.hostile import checks, strategies
from tests.hostile.world import (
    ATTACKER_GROUP,
    ATTACKER_ID,
    ORGANISER,
    PROTECTED_IDS,
    SCOUT,
    World,
    all_commands,
    all_states,
    build_world,
    png,
    seed_other_people,
    seed_pending_listing,
    seed_scout_reservation,
)
from tests.support.harness import running_bot
from tests.support.texts import tr

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "0")) or 150
ATTACKERS = frozenset({ATTACKER_ID, ATTACKER_GROUP.id})
MARKUP_CHARS = re.compile(r"[<>&]")


async def _world(tmp_path: Path, **overrides: Any) -> AsyncIterator[World]:
    base = make_settings(
        tmp_path,
        organiser_ids=frozenset({ORGANISER.id, SCOUT.id}),
        throttle_burst=10**9,
        **overrides,
    )
    async with build_world(base) as built:
        await seed_pending_listing(built)
        # Other people first: some wizard steps only exist when there is something to pick
        # (a challenge's participants, a contest's team groups as a broadcast audience).
        await seed_other_people(built)
        await built.explore(SCOUT, all_commands(), before_walk=lambda: seed_pending_listing(built))
        # An event's organiser tools: one of several buttons starts a conversation.
        await built.tap_each(SCOUT, "myevents")
        # A reservation's relay: "Message the giver" under /myoffers starts writing.
        await seed_scout_reservation(built)
        await built.tap_each(SCOUT, "myoffers")
        yield built


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for built in _world(tmp_path):
        yield built


@pytest.fixture
async def pg_world(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[World]:
    """The same world on PostgreSQL, with the conversations in Redis."""
    async for built in _world(
        tmp_path, database_url=postgres_url, redis_url=redis_url, redis_prefix=redis_prefix
    ):
        yield built


def data_strings() -> set[str]:
    """Texts of the data the bot may show as button labels (names, titles)."""
    found: set[str] = set()
    for action in default_catalogue():
        found |= set(action.titles.values())
    return found


async def stored_strings(world: World) -> set[str]:
    found: set[str] = set()
    async with world.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                found |= {value for value in row if isinstance(value, str) and value}
    return found


def build_update(world: World, user: TgUser, spec: strategies.Spec) -> JsonDict:
    chat = ATTACKER_GROUP if spec.group else None
    if spec.kind == "callback":
        return world.callback(user, spec.fields["data"], chat)
    if spec.kind == "replay":
        shown = world.shown_buttons(chat.id if chat is not None else user.id)
        if not shown:
            return world.callback(user, "st:close", chat)
        message_id, data = shown[spec.fields["index"] % len(shown)]
        return world.callback(user, data, chat, message_id)
    if spec.kind == "edited":
        return world.edited(user, spec.fields, chat)
    if spec.kind == "photo":
        fields: dict[str, Any] = {"photo": world.server._photo_sizes(png())}
        if spec.fields.get("caption"):
            fields["caption"] = spec.fields["caption"]
        return world.message(user, fields, chat)
    if "text" in spec.fields:
        return world.text(user, spec.fields["text"], chat)
    return world.message(user, spec.fields, chat)


def typed_fragments(inputs: list[str]) -> list[str]:
    """Pieces of what the person typed around each markup character, long enough that
    finding one verbatim in an HTML message means it was not escaped."""
    fragments = []
    for text in inputs:
        for match in MARKUP_CHARS.finditer(text):
            piece = text[max(0, match.start() - 6) : match.end() + 6]
            # Long enough to carry some of the person's own text: a bare "&amp;" could
            # come from any name the bot shows, escaped as it should be.
            if len(piece) >= 8:
                fragments.append(piece)
    return fragments


LOCALES = st.sampled_from(["fr", "en", None, "de", "en-GB", "zz-Latn-ZZ-x-junk"])


HYPOTHESIS = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@settings(HYPOTHESIS, max_examples=EXAMPLES)
@given(data=st.data())
async def test_hostile_updates(world: World, data: st.DataObject) -> None:
    await hostile_example(world, data)


@settings(HYPOTHESIS, max_examples=max(EXAMPLES // 3, 20))
@given(data=st.data())
async def test_hostile_updates_on_postgres_and_redis(pg_world: World, data: st.DataObject) -> None:
    await hostile_example(pg_world, data)


async def hostile_example(world: World, data: st.DataObject) -> None:
    """One person, in some conversation state, sends one to three hostile updates."""
    names = [str(state.state) for state in all_states()]
    # Every state starts examples with the data a real conversation had there.
    assert not [name for name in names if not world.state_data.get(name)], "a state no walk reached"
    state = data.draw(st.sampled_from([None, *names]), label="state")
    seen = world.state_data.get(state or "", [])
    state_data = data.draw(st.sampled_from(seen), label="state data") if seen else {}
    update_specs = strategies.specs(all_commands(), world.foreign_ids, menu_labels(world))
    specs = data.draw(st.lists(update_specs, min_size=1, max_size=3), label="updates")
    user = TgUser(
        ATTACKER_ID,
        data.draw(st.one_of(st.just("Mallory"), strategies.name_text), label="first name"),
        data.draw(LOCALES, label="language"),
    )
    group = specs[0].group
    await world.put_in_state(
        ATTACKER_ID, ATTACKER_GROUP.id if group else ATTACKER_ID, state, state_data
    )
    async with world.sessionmaker() as session:
        before = await checks.snapshot(session, PROTECTED_IDS, ATTACKERS)
    problems: list[str] = []
    inputs: list[str] = []
    catalogue = world_catalogue(world)
    for spec in specs:
        # Follow-ups stay in the conversation the first update was sent to.
        update = build_update(world, user, replace(spec, group=group))
        with checks.capture_errors() as errors:
            calls = await world.feed(update)
        inputs += checks.user_inputs_of(update, user)
        problems += [f"error: {line}" for line in errors.describe()]
        localized = checks.localization_problems(calls, catalogue, inputs, world_labels(world))
        if localized:
            # Names and titles stored since (a new offer, a renamed neighbour) are data too.
            labels = world_labels(world) | await stored_strings(world)
            localized = checks.localization_problems(calls, catalogue, inputs, labels)
        problems += localized
        problems += checks.markup_problems(calls, typed_fragments(inputs), world_templates(world))
    async with world.sessionmaker() as session:
        after = await checks.snapshot(session, PROTECTED_IDS, ATTACKERS)
    problems += checks.data_changes(before, after)
    assert not problems, "\n".join(problems)


# Computed once per world (the catalogue does not change while the bot runs).
_CACHE: dict[int, Any] = {}


def world_catalogue(world: World) -> checks.Catalogue:
    key = id(world.translator)
    if key not in _CACHE:
        _CACHE[key] = checks.Catalogue.of(world.translator)
    return _CACHE[key]  # type: ignore[no-any-return]


def world_templates(world: World) -> str:
    key = -id(world.translator)
    if key not in _CACHE:
        texts = []
        for locale in world.translator.locales:
            texts += [
                world.translator.gettext(k, locale=locale) for k in world.translator.keys(locale)
            ]
        _CACHE[key] = "\n".join(texts)
    return _CACHE[key]  # type: ignore[no-any-return]


def world_labels(world: World) -> set[str]:
    return data_strings()


def menu_labels(world: World) -> list[str]:
    return sorted(
        world.translator.t(key, locale)
        for row in MAIN_MENU_KEYS
        for key in row
        for locale in world.translator.locales
    )


# ----------------------------------------------------------------------------- the checks can fail


async def test_the_server_refuses_bad_html() -> None:
    async with BotApiStandIn() as server:
        settings_ = make_settings(Path("."), telegram_api_base=server.base_url)
        from bot.app.wiring import create_bot

        bot = create_bot(settings_.model_copy(update={"bot_token": None}))
        bot = type(bot)(server.token, session=bot.session, default=bot.default)
        try:
            for bad in ("<b>x", "a & b", "</i>", "<script>x</script>", "&#x110000;"):
                with pytest.raises(TelegramBadRequest, match="can't parse entities"):
                    await bot.send_message(1, bad)
            sent = await bot.send_message(1, "&lt;b&gt;x&lt;/b&gt; <b>y</b>")
            assert sent.text == "<b>x</b> y"
            assert [e.type for e in sent.entities or []] == ["bold"]
        finally:
            await bot.session.close()


def test_the_checks_catch_what_they_are_for() -> None:
    from bot.standin import RecordedCall

    translator = tr
    catalogue = checks.Catalogue.of(translator)

    def call(text: str, labels: tuple[str, ...] = ()) -> RecordedCall:
        markup = {"inline_keyboard": [[{"text": label, "callback_data": "x"} for label in labels]]}
        params = {"chat_id": 1, "text": text, "parse_mode": "HTML", "reply_markup": markup}
        return RecordedCall("sendMessage", params, {}, at=0.0, status=200)

    good = translator.t("fallback.not_understood", "en")
    assert checks.localization_problems([call(good)], catalogue, []) == []
    for bad in (
        "makers.card.title",
        "Traceback (most recent call last):",
        "<bot.services.offers.Offer object at 0x7f3a2b>",
        "Hello {name}",
        "KeyError: 'title'",
        "Pas un texte du bot",
    ):
        assert checks.localization_problems([call(bad)], catalogue, []), bad
    assert checks.localization_problems([call(good, ("offers.button.reserve",))], catalogue, [])
    assert checks.localization_problems([call(good, ("None",))], catalogue, [])
    # What the person typed is theirs: echoing it is no leak.
    assert not checks.localization_problems([call(good + " None")], catalogue, ["None"])

    typed = ["Chez <b>Mallory</b> & co"]
    live = call(f"{good} Chez <b>Mallory</b> & co")
    assert checks.markup_problems([live], typed_fragments(typed), "")
    escaped = call(f"{good} Chez &lt;b&gt;Mallory&lt;/b&gt; &amp; co")
    assert not checks.markup_problems([escaped], typed_fragments(typed), "")
    refused = RecordedCall("sendMessage", {}, {}, at=0.0, status=400, error="Bad Request: x")
    assert checks.markup_problems([refused], [], "")

    before = {("offers", (1,)): {"id": 1, "title": "Pain", "quantity_left": 3}}
    assert (
        checks.data_changes(
            before, {("offers", (1,)): {"id": 1, "title": "Pain", "quantity_left": 2}}
        )
        == []
    )
    assert checks.data_changes(
        before, {("offers", (1,)): {"id": 1, "title": "X", "quantity_left": 3}}
    )
    assert checks.data_changes(before, {})
    assert checks.data_changes({}, {("maker_favourites", (7002, 1)): {}})


# ----------------------------------------------------------------------------- through polling


async def test_hostile_updates_through_polling(tmp_path: Path) -> None:
    """One smoke run of the same kind of updates the long way: pushed to the test server,
    fetched by the polling bot."""
    settings_ = make_settings(tmp_path, throttle_burst=10**6)
    mallory = TgUser(ATTACKER_ID, "<b>Mal</b> & co", "en")
    async with BotApiStandIn() as server, running_bot(settings_, server) as app:
        with checks.capture_errors() as errors:
            since = server.mark()
            server.push_text(mallory, "/start <i>")
            server.push_text(mallory, "<b>hi</b> &amp; " + "🌱\u202e\u200b" * 500)
            server.push_text(mallory, "/makers@other_bot junk")
            server.push_location(mallory, math.nan, math.inf)
            server.push_location(mallory, 90.0, 180.0, live_period=900)
            server.push_callback(mallory, "of:r:" + str(2**63))
            server.push_callback(mallory, "\x00\u202e<b>")
            server.push_raw(
                {
                    "edited_message": {
                        "message_id": 999,
                        "date": 0,
                        "chat": mallory.private_chat(),
                        "from": mallory.to_json(),
                        "text": "<i>",
                    }
                }
            )
            await app.settled()
        calls = [c for c in server.calls[since:] if c.method != "getUpdates"]
        assert errors.describe() == []
        assert calls and all(c.ok for c in calls), calls
        assert not checks.markup_problems(calls, typed_fragments(["<b>hi</b> &amp; "]), "")
