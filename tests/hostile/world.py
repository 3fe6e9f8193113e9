"""The world a hostile update lands in: the production dispatcher and bot talking real HTTP
to the test Bot API server, a database where other people have data in every feature,
and a catalogue of every conversation state with plausible conversation data."""

from __future__ import annotations

import contextlib
import io
import itertools
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import handlers
from bot.app.demo import load_demo_makers
from bot.app.wiring import create_bot, create_dispatcher, prepare_database
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.standin import BotApiStandIn, JsonDict, RecordedCall, TgChat, TgUser
from bot.ui.i18n import Translator, create_translator
from handlers import create_routers, get_commands
from models.database import create_sessionmaker

ATTACKER_ID = 7001
VICTIM = TgUser(id=7002, first_name="Victor", language_code="en")
ORGANISER = TgUser(id=7099, first_name="Olga", language_code="fr")
SCOUT = TgUser(id=7050, first_name="Scout", language_code="fr")
SUBMITTER = TgUser(id=7060, first_name="Sam", language_code="fr")
VICTIM_GROUP = TgChat(id=-5001, type="supergroup", title="Quartier Victor")
ATTACKER_GROUP = TgChat(id=-5002, type="supergroup", title="Hostile group")
BORDEAUX = (44.8378, -0.5792)
# People whose data no update of the attacker may change.
PROTECTED_IDS = frozenset({VICTIM.id, ORGANISER.id, VICTIM_GROUP.id, SUBMITTER.id})


def png(colour: str = "green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


# ----------------------------------------------------------------------------- walking code


def all_states() -> list[State]:
    """Every conversation state declared in handlers/, found by walking the modules, so a
    state added later is covered without touching the suite."""
    found: dict[str, State] = {}
    for module in vars(handlers).values():
        for value in vars(module).values() if hasattr(module, "__dict__") else ():
            if (
                isinstance(value, type)
                and issubclass(value, StatesGroup)
                and value is not StatesGroup
            ):
                for state in value.__all_states__:
                    if state.state is not None:
                        found[state.state] = state
    return [found[name] for name in sorted(found)]


def _filter_commands(router: Router) -> set[str]:
    names: set[str] = set()
    for handler in router.message.handlers:
        for flt in handler.filters or ():
            callback = flt.callback
            if isinstance(callback, CommandStart):
                names.add("start")
            elif isinstance(callback, Command):
                for item in callback.commands:
                    if isinstance(item, str):
                        names.add(item)
                    elif hasattr(item, "command"):
                        names.add(str(item.command))
    for sub in router.sub_routers:
        names |= _filter_commands(sub)
    return names


def all_commands() -> list[str]:
    """Every command a handler filters on, listed in the menu or not."""
    names = {spec.name for spec in get_commands()}
    for router in create_routers():
        names |= _filter_commands(router)
    return sorted(names)


# ----------------------------------------------------------------------------- the world


@dataclass
class World:
    settings: Settings
    server: BotApiStandIn
    bot: Bot
    dispatcher: Dispatcher
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: ManualClock
    translator: Translator
    # Conversation data seen for each state while scripted walks went through the wizards.
    state_data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Ids of other people's things, for forged callback data.
    foreign_ids: list[int] = field(default_factory=list)
    _update_ids: Iterable[int] = field(default_factory=lambda: itertools.count(100_000))

    def next_update_id(self) -> int:
        return next(iter(self._update_ids))

    # ------------------------------------------------------------------ building updates

    def message(self, user: TgUser, fields: JsonDict, chat: TgChat | None = None) -> JsonDict:
        stored = self.server._user_message(user, chat, fields)
        return {"update_id": self.next_update_id(), "message": dict(stored)}

    def text(self, user: TgUser, text: str, chat: TgChat | None = None) -> JsonDict:
        fields: JsonDict = {"text": text}
        if text.startswith("/"):
            word = text.split(maxsplit=1)[0] if text.split() else text
            length = len(word.encode("utf-16-le")) // 2
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.message(user, fields, chat)

    def edited(self, user: TgUser, fields: JsonDict, chat: TgChat | None = None) -> JsonDict:
        """An edit of the user's latest message in that chat (a new one if none)."""
        chat_id = chat.id if chat is not None else user.id
        mine = [
            m
            for m in self.server._messages.get(chat_id, {}).values()
            if m.get("from", {}).get("id") == user.id
        ]
        if not mine:
            return self.message(user, fields, chat) | {}
        original = dict(mine[-1])
        original.update(fields)
        original["edit_date"] = int(time.time())
        original["from"] = user.to_json()
        return {"update_id": self.next_update_id(), "edited_message": original}

    def callback(
        self, user: TgUser, data: str, chat: TgChat | None = None, message_id: int | None = None
    ) -> JsonDict:
        """A tap carrying `data` on a bot message (the latest in the chat by default)."""
        chat_json = chat.to_json() if chat is not None else user.private_chat()
        chat_id = int(chat_json["id"])
        self.server._chats.setdefault(chat_id, chat_json)
        stored = self.server._messages.get(chat_id, {})
        mine = [mid for mid, m in stored.items() if m["from"]["id"] == self.server.bot_id]
        query_id = str(9_000_000_000 + self.next_update_id())
        query: JsonDict = {
            "id": query_id,
            "from": user.to_json(),
            "chat_instance": str(-abs(chat_id) - 777),
            "data": data,
        }
        if message_id in stored:
            query["message"] = dict(stored[message_id])
        elif mine:
            query["message"] = dict(stored[max(mine)])
        else:
            query["message"] = {"chat": chat_json, "message_id": 1, "date": 0}
        self.server._queries[query_id] = {"answered": False, "query": query}
        return {"update_id": self.next_update_id(), "callback_query": query}

    def shown_buttons(self, chat_id: int, last: int = 5) -> list[tuple[int, str]]:
        """(message id, callback data) of the buttons on the bot's latest messages."""
        stored = self.server._messages.get(chat_id, {})
        mine = [m for _id, m in sorted(stored.items()) if m["from"]["id"] == self.server.bot_id]
        found: list[tuple[int, str]] = []
        for message in mine[-last:]:
            for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
                found += [
                    (int(message["message_id"]), str(b["callback_data"]))
                    for b in row
                    if b.get("callback_data")
                ]
        return found

    # ------------------------------------------------------------------ feeding

    async def feed(self, update: JsonDict) -> list[RecordedCall]:
        """Feed one update to the production dispatcher; the Bot API calls it made."""
        start = len(self.server.calls)
        await self.dispatcher.feed_raw_update(self.bot, update)
        return self.server.calls[start:]

    def context(self, user_id: int, chat_id: int) -> Any:
        return self.dispatcher.fsm.get_context(self.bot, chat_id=chat_id, user_id=user_id)

    async def state_of(self, user_id: int, chat_id: int) -> tuple[str | None, dict[str, Any]]:
        ctx = self.context(user_id, chat_id)
        return await ctx.get_state(), await ctx.get_data()

    async def put_in_state(
        self, user_id: int, chat_id: int, state: str | None, data: dict[str, Any]
    ) -> None:
        key = StorageKey(bot_id=self.bot.id, chat_id=chat_id, user_id=user_id)
        await self.dispatcher.storage.set_state(key, state)
        await self.dispatcher.storage.set_data(key, data)

    # ------------------------------------------------------------------ scripted walks

    async def explore(
        self,
        user: TgUser,
        commands: list[str],
        *,
        before_walk: Callable[[], Awaitable[None]] | None = None,
        seed: int = 8,
        max_walks: int = 16,
        patience: int = 4,
    ) -> None:
        """Walk every wizard from its command with plausible answers, recording the
        conversation data seen in each state. Buttons not yet tapped in a state are tapped
        first; a command's walks stop once `patience` walks in a row found no new state
        (each command has its own random generator, so a change to one wizard does not
        reshuffle the others' walks); a command that starts no conversation is walked
        once."""
        tapped: set[tuple[str | None, str]] = set()
        rng = random.Random(seed)

        def pick(state: str | None, buttons: list[str]) -> str:
            # Buttons count as tapped by kind (ids blanked): "approve #3" then "approve #4"
            # would be no exploration, "reject" is.
            safe = [b for b in buttons if not _looks_like_exit(b)] or buttons
            fresh = [b for b in safe if (state, _kind(b)) not in tapped]
            choice = rng.choice(fresh or safe)
            tapped.add((state, _kind(choice)))
            return choice

        for command in commands:
            rng.seed(f"{seed}:{command}")
            fruitless = 0
            for walk in range(max_walks):
                known = len(self.state_data)
                if before_walk is not None:
                    await before_walk()
                await self.feed(self.text(user, "/cancel"))
                calls = await self.feed(self.text(user, f"/{command}"))
                entered = False
                for step in range(24):
                    state, data = await self.state_of(user.id, user.id)
                    buttons = _inline_buttons(calls)
                    if state is None:
                        # Some conversations start from a button under the command's answer.
                        if entered or not buttons or step >= 8:
                            break
                        calls = await self.feed(self.callback(user, pick(None, buttons))) or calls
                        continue
                    entered = True
                    seen = self.state_data.setdefault(state, [])
                    if data not in seen:
                        seen.append(data)
                    short = state.split(":")[-1]
                    if short == "location" and walk % 3 == 2:
                        # A typed street: the geocoder places only its town, so a
                        # listing's wizard asks for the pin of the door.
                        update = self.text(user, _ANSWERS["address"])
                    elif short in {"location", "alert_location"}:
                        lat, lon = BORDEAUX
                        fields: JsonDict = {"location": {"latitude": lat, "longitude": lon}}
                        update = self.message(user, fields)
                    elif short == "photo" and walk % 2 == 0:
                        update = self.message(user, {"photo": self.server._photo_sizes(png())})
                    elif any(not _looks_like_exit(b) for b in buttons) and (
                        short not in _ANSWERS or walk % 2 == 1
                    ):
                        update = self.callback(user, pick(state, buttons))
                    else:
                        update = self.text(user, _ANSWERS.get(short, "Oui"))
                    calls = await self.feed(update) or calls
                if not entered and walk >= 1:
                    break
                fruitless = fruitless + 1 if len(self.state_data) == known else 0
                if fruitless >= patience:
                    break
        await self.feed(self.text(user, "/cancel"))

    async def tap_each(self, user: TgUser, command: str) -> None:
        """Tap once each kind of button under a command's answer (a fresh answer each
        time) and record the state a tap leads to: conversations that start from a tool
        among many (an event's "change the time") are reached without luck."""
        await self.feed(self.text(user, "/cancel"))
        calls = await self.feed(self.text(user, f"/{command}"))
        kinds: dict[str, str] = {}
        for data in _inline_buttons(calls):
            kinds.setdefault(_kind(data), data)
        for data in kinds.values():
            if _looks_like_exit(data):
                continue
            await self.feed(self.text(user, "/cancel"))
            await self.feed(self.text(user, f"/{command}"))
            await self.feed(self.callback(user, data))
            state, state_data = await self.state_of(user.id, user.id)
            if state is not None:
                seen = self.state_data.setdefault(state, [])
                if state_data not in seen:
                    seen.append(state_data)
        await self.feed(self.text(user, "/cancel"))


# Plausible answers to a wizard's question, by the name of its state.
_ANSWERS = {
    "name": "Atelier Vert",
    "title": "Pain du jour",
    "description": "Une description honnête.",
    "address": "1 rue Sainte-Catherine, Bordeaux",
    "website": "https://example.org",
    "phone": "05 56 00 00 00",
    "quantity": "3",
    "target": "5",
    "pledge": "Un arbre planté",
    "end": "4",
    "pickup": "21:00",
    "start": "18h",
    "note": "Sonner à l'interphone",
    "reason": "Informations incomplètes",
    "text": "Bonjour à toutes et à tous",
    "button": "https://example.org Voir",
}


def _inline_buttons(calls: list[RecordedCall]) -> list[str]:
    found: list[str] = []
    for call in calls:
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            found += [
                str(b["callback_data"])
                for row in markup["inline_keyboard"]
                for b in row
                if b.get("callback_data")
            ]
    return found


def _kind(data: str) -> str:
    return re.sub(r"-?\d+", "#", data)


def _looks_like_exit(data: str) -> bool:
    return data.endswith((":x", ":abort", ":r")) or data in {"bw:abort"}


# ----------------------------------------------------------------------------- other people's data


async def seed_pending_listing(world: World) -> None:
    """A maker listing waiting for moderation (so the moderation states can be reached)."""
    from bot.services import makers
    from bot.services.users import TelegramProfile, upsert_user

    now = world.clock.now()
    async with world.sessionmaker() as session:
        await upsert_user(
            session,
            TelegramProfile(SUBMITTER.id, SUBMITTER.first_name, None, SUBMITTER.language_code),
            now,
        )
        draft = makers.ListingDraft(
            name="Atelier de Sam",
            description="Bijoux en verre recyclé",
            address="2 place de la Bourse",
            category="other",
            latitude=BORDEAUX[0],
            longitude=BORDEAUX[1],
            city="Bordeaux",
        )
        await makers.submit_listing(session, SUBMITTER.id, draft, now)
        await session.commit()


async def seed_other_people(world: World) -> None:
    """The victim, the organiser and a group get data in every feature, through the
    services (the same code the handlers call)."""
    from bot.services import actions, contests, events, makers, neighbours, nudges, offers
    from bot.services.challenges import (
        ChallengeDraft,
        create_challenge,
        join_challenge,
    )
    from bot.services.offers import OfferDraft
    from bot.services.users import TelegramProfile, upsert_user
    from models import ChallengeScope, Event, Maker

    await seed_pending_listing(world)
    now = world.clock.now()
    zone = world.settings.tz
    slug = _first_slug()
    async with world.sessionmaker() as session:
        for person in (VICTIM, ORGANISER):
            await upsert_user(
                session,
                TelegramProfile(person.id, person.first_name, None, person.language_code),
                now,
            )
        listed = select(Maker.id).where(Maker.owner_id.is_(None)).order_by(Maker.id).limit(3)
        maker_ids = list((await session.scalars(listed)).all())
        for maker_id in maker_ids:
            await makers.set_favourite(session, VICTIM.id, maker_id, True, now)
        await actions.log_action(
            session, user_id=VICTIM.id, slug=slug, chat_id=VICTIM.id, now=now, tz=zone
        )
        contest = await contests.create_contest(
            session, "Défi des quartiers", ORGANISER.id, world.settings.organiser_ids, now
        )
        team, _contest, _new = await contests.register_team(
            session, contest.join_code, VICTIM_GROUP.id, VICTIM_GROUP.title, VICTIM.id, now
        )
        await contests.join_team(session, team.id, VICTIM.id, now)
        await actions.log_action(
            session, user_id=VICTIM.id, slug=slug, chat_id=VICTIM_GROUP.id, now=now, tz=zone
        )
        draft = ChallengeDraft(
            title="Zéro déchet",
            description="",
            action_slugs=(slug,),
            weekly_target=5,
            scope=ChallengeScope.TEAM,
            contest_id=None,
            team_id=team.id,
            pledge=None,
            last_day=(now + timedelta(days=20)).date(),
        )
        challenge = await create_challenge(
            session, draft, ORGANISER.id, world.settings.organiser_ids, now, zone
        )
        await join_challenge(session, challenge.id, VICTIM.id, now)
        end = now + timedelta(hours=5)
        offer, _notices = await offers.publish(
            session,
            VICTIM.id,
            OfferDraft(
                title="Pain de Victor",
                description="Pain complet de la veille",
                quantity=4,
                pickup_end=end,
                latitude=BORDEAUX[0],
                longitude=BORDEAUX[1],
            ),
            now,
        )
        other_offer, _notices = await offers.publish(
            session,
            ORGANISER.id,
            OfferDraft(
                title="Soupe d'Olga",
                description="Soupe de légumes",
                quantity=3,
                pickup_end=end,
                latitude=BORDEAUX[0],
                longitude=BORDEAUX[1],
            ),
            now,
        )
        reservation, _offer, _notices = await offers.reserve(
            session, other_offer.id, VICTIM.id, now
        )
        await offers.subscribe_alerts(session, VICTIM.id, BORDEAUX[0], BORDEAUX[1], 5, now)
        await neighbours.consent(session, VICTIM.id, now)
        await neighbours.record_position(session, VICTIM.id, BORDEAUX[0], BORDEAUX[1], now)
        await nudges.next_cap(session, VICTIM.id)
        await nudges.snooze_week(session, VICTIM.id, now)
        # Events: the organiser's (the victim going, and checked in) and the scout's own
        # (so that walking /myevents reaches the organiser's tools and their states).
        soon = now + events.MIN_AHEAD
        event_ids = []
        for organiser_id, title in ((ORGANISER.id, "Repair café d'Olga"), (SCOUT.id, "Atelier")):
            if organiser_id == SCOUT.id:
                await upsert_user(
                    session,
                    TelegramProfile(SCOUT.id, SCOUT.first_name, None, SCOUT.language_code),
                    now,
                )
            event, _announced = await events.create_event(
                session,
                organiser_id,
                events.EventDraft(
                    title=title,
                    description="Réparer ensemble",
                    starts_at=soon,
                    ends_at=soon + timedelta(hours=3),
                    latitude=BORDEAUX[0],
                    longitude=BORDEAUX[1],
                    capacity=3,
                    action_slug=slug,
                ),
                now,
                world.settings.organiser_ids,
                "Europe/Paris",
            )
            event_ids.append(event.id)
        await events.respond(session, event_ids[0], VICTIM.id, events.Answer.GOING, now)
        victims_event = await session.get(Event, event_ids[0])
        assert victims_event is not None
        await events.check_in_with_code(session, victims_event.checkin_code, VICTIM.id, soon, zone)
        await session.commit()
        pending = await session.scalar(select(Maker.id).where(Maker.owner_id == SUBMITTER.id))
        world.foreign_ids = sorted(
            {
                *maker_ids,
                pending or 0,
                contest.id,
                team.id,
                challenge.id,
                offer.id,
                other_offer.id,
                reservation.id,
                VICTIM.id,
                ORGANISER.id,
                VICTIM_GROUP.id,
                *event_ids,
            }
        )


async def seed_scout_reservation(world: World) -> None:
    """The scout holds a reservation on the organiser's offer, so that /myoffers shows
    "Message the giver" and its writing mode can be reached (a walk may have cancelled
    an earlier one)."""
    from bot.services import offers
    from bot.services.offers import OfferDraft
    from bot.services.users import TelegramProfile, upsert_user

    now = world.clock.now()
    async with world.sessionmaker() as session:
        await upsert_user(
            session, TelegramProfile(SCOUT.id, SCOUT.first_name, None, SCOUT.language_code), now
        )
        offer, _notices = await offers.publish(
            session,
            ORGANISER.id,
            OfferDraft(
                title="Compote d'Olga",
                description="Pommes du verger",
                quantity=2,
                pickup_end=now + timedelta(hours=5),
                latitude=BORDEAUX[0],
                longitude=BORDEAUX[1],
            ),
            now,
        )
        await offers.reserve(session, offer.id, SCOUT.id, now)
        await session.commit()


def _first_slug() -> str:
    from bot.services.catalogue import default_catalogue

    return next(iter(default_catalogue())).slug


@contextlib.asynccontextmanager
async def build_world(settings: Settings) -> AsyncIterator[World]:
    async with BotApiStandIn() as server:
        settings = settings.model_copy(
            update={"telegram_api_base": server.base_url, "bot_token": SecretStr(server.token)}
        )
        engine = await prepare_database(settings, seed_demo=False)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            await load_demo_makers(session, settings)
            await session.commit()
        clock = ManualClock()
        translator = create_translator(settings.locales_dir, settings.default_language)
        bot = create_bot(settings)
        dispatcher = create_dispatcher(settings, sessionmaker, translator=translator, clock=clock)
        world = World(settings, server, bot, dispatcher, engine, sessionmaker, clock, translator)
        try:
            yield world
        finally:
            await dispatcher.storage.close()
            await bot.session.close()
            await engine.dispose()
