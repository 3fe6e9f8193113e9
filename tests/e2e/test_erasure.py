"""/forget: everything about a person goes, found by walking the metadata; aggregates stay."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import (
    actions,
    challenges,
    contests,
    erasure,
    events,
    makers,
    neighbours,
    nudges,
    offer_templates,
    offers,
    outbox,
    relay,
)
from bot.services.offers import OfferDraft
from bot.services.users import TelegramProfile, upsert_user
from bot.standin import BotApiStandIn, TgChat, TgUser
from bot.ui.notices import offers as offer_notices
from bot.ui.notices import relay as relay_notices
from bot.worker import jobs
from bot.worker.background import BackgroundTiming
from models import (
    ActionLog,
    Base,
    Broadcast,
    Challenge,
    ChallengeScope,
    Contest,
    Event,
    EventStatus,
    Maker,
    MakerSource,
    MakerStatus,
    Offer,
    OfferAlert,
    OfferReport,
    OfferStatus,
    Organiser,
    OutboxMessage,
    OutboxStatus,
    RelayMessage,
    ReportReason,
    Reservation,
    ReservationStatus,
    Team,
    User,
    WeekTeamTotal,
)
from models.base import NOBODY, PERSON, Person, person
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import tr

ZOE = TgUser(id=3001, first_name="Zoéline", language_code="fr", username="zoeline_b")
YAN = TgUser(id=3002, first_name="Yan", language_code="en")
GROUP = TgChat(id=-100777, title="Campus")

# Integer columns whose name suggests a person; each must be a foreign key to users.id
# or declare its Person policy, so a table added later cannot be forgotten by /forget.
PERSON_LIKE = re.compile(
    r"(^|_)(user|owner|chat|telegram|member|person|author|poster|reserver|recipient|"
    r"subscriber|organiser|admin)(_|$)|_by$"
)


def unclassified(metadata: MetaData) -> list[str]:
    return [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if PERSON_LIKE.search(column.name)
        and isinstance(column.type, Integer)
        and PERSON not in column.info
        and not any(fk.column.table.name == "users" for fk in column.foreign_keys)
    ]


def test_every_person_looking_column_is_classified() -> None:
    assert unclassified(Base.metadata) == []


def test_the_check_catches_an_undeclared_column_and_the_walk_finds_declared_ones() -> None:
    metadata = MetaData()
    Table("users", metadata, Column("id", BigInteger, primary_key=True, info=person(Person.ERASE)))
    Table(
        "later_feature",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("owner_id", BigInteger),
        Column("user_id", ForeignKey("users.id")),
    )
    assert unclassified(metadata) == ["later_feature.owner_id"]
    found = {(pc.table.name, pc.column.name) for pc in erasure.person_columns(metadata)}
    assert found == {("later_feature", "user_id"), ("users", "id")}
    # users.id is always handled last, after what references it.
    assert erasure.person_columns(metadata)[-1].table.name == "users"


async def test_a_table_added_later_is_erased_without_touching_the_service(
    session: AsyncSession, clock: ManualClock
) -> None:
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    later = Table(
        "later_feature",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("user_id", BigInteger, ForeignKey("users.id")),
        Column("note", String(20)),
    )
    connection = await session.connection()
    await connection.run_sync(lambda sync: later.create(sync))
    await upsert_user(session, TelegramProfile(7, "Q", None, "fr"), clock.now())
    await session.execute(later.insert().values(user_id=7, note="mine"))
    counts = await erasure.erase_person(session, 7, metadata)
    assert counts == {"later_feature": 1, "users": 1}
    assert (await session.execute(select(later))).all() == []


async def test_rows_that_outlive_an_erased_row_by_their_foreign_key_are_detached(
    session: AsyncSession, clock: ManualClock
) -> None:
    """ON DELETE SET NULL on a child means it outlives the erased row: it is detached, not
    erased with it (as an offer outlives the maker listing it named)."""
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    mentions = Table(
        "later_mentions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("maker_id", Integer, ForeignKey("makers.id", ondelete="SET NULL")),
        Column("note", String(20)),
    )
    connection = await session.connection()
    await connection.run_sync(lambda sync: mentions.create(sync))
    now = clock.now()
    await upsert_user(session, TelegramProfile(7, "Q", None, "fr"), now)
    listing = Maker(
        name="Q's shop",
        category="repair",
        latitude=44.84,
        longitude=-0.58,
        status=MakerStatus.APPROVED.value,
        source=MakerSource.SELF.value,
        owner_id=7,
        created_at=now,
        updated_at=now,
    )
    session.add(listing)
    await session.flush()
    await session.execute(mentions.insert().values(maker_id=listing.id, note="kept"))
    counts = await erasure.erase_person(session, 7, metadata)
    assert counts == {"makers": 1, "later_mentions": 1, "users": 1}
    assert (await session.execute(select(mentions.c.maker_id, mentions.c.note))).all() == [
        (None, "kept")
    ]


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(params=["sqlite", "postgres+redis"])
def erasure_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    overrides: dict[str, object] = {
        "throttle_burst": 1000,
        "organiser_ids": frozenset({ZOE.id}),
    }
    if request.param != "sqlite":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
        overrides["redis_url"] = request.getfixturevalue("redis_url")
        overrides["redis_prefix"] = request.getfixturevalue("redis_prefix")
    return make_settings(tmp_path, **overrides)


@pytest.fixture
async def app(
    tg: BotApiStandIn, erasure_settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(erasure_settings, tg, clock=clock) as running:
        yield running


@dataclass(frozen=True)
class Populated:
    team_id: int
    challenge_id: int
    zoes_offer: int
    yans_offer: int
    zoes_event: int
    yans_event: int


ZOES_PICKUP = (44.8412345, -0.5812345)


async def populate(app: RunningBot, clock: ManualClock) -> Populated:
    """Zoé and Yan have data in every feature."""
    settings = app.settings
    now = clock.now()
    async with app.sessionmaker() as session:
        for person in (ZOE, YAN):
            await upsert_user(
                session,
                TelegramProfile(person.id, person.first_name, None, person.language_code),
                now,
            )
        session.add(Organiser(user_id=ZOE.id, note="town hall", added_at=now))
        shop = Maker(
            name="Atelier",
            category="repair",
            latitude=44.84,
            longitude=-0.58,
            status=MakerStatus.APPROVED.value,
            source=MakerSource.IMPORT.value,
            created_at=now,
            updated_at=now,
        )
        session.add(shop)
        await session.flush()
        await makers.set_favourite(session, ZOE.id, shop.id, True, now)
        await makers.set_favourite(session, YAN.id, shop.id, True, now)
        listing = makers.ListingDraft(
            name="Zoé couture",
            category="clothing",
            description="Upcycled clothes",
            address="1 rue Sainte-Catherine",
            latitude=44.85,
            longitude=-0.57,
            city="Bordeaux",
        )
        await makers.submit_listing(session, ZOE.id, listing, now)
        contest = await contests.create_contest(session, "Campus vert", ZOE.id, {ZOE.id}, now)
        team, _, _ = await contests.register_team(
            session, contest.join_code, GROUP.id, GROUP.title, ZOE.id, now
        )
        for person in (ZOE, YAN):
            await contests.join_team(session, team.id, person.id, now)
        challenge = await challenges.create_challenge(
            session,
            challenges.ChallengeDraft(
                title="Veggie week",
                description="",
                action_slugs=("veggie_meal",),
                weekly_target=10,
                scope=ChallengeScope.EVERYONE,
                contest_id=None,
                team_id=None,
                pledge=None,
                last_day=(now + timedelta(days=20)).date(),
            ),
            ZOE.id,
            {ZOE.id},
            now,
            settings.tz,
        )
        for person in (ZOE, YAN):
            await challenges.join_challenge(session, challenge.id, person.id, now)
            await actions.log_action(
                session,
                user_id=person.id,
                slug="veggie_meal",
                chat_id=person.id,
                now=now,
                tz=settings.tz,
            )
            await actions.set_show_name(session, person.id, True)
        await actions.log_action(
            session, user_id=ZOE.id, slug="bike_trip", chat_id=GROUP.id, now=now, tz=settings.tz
        )
        for person, km in ((ZOE, 0.0), (YAN, 1.0)):
            await neighbours.consent(session, person.id, now)
            await neighbours.set_display_name(session, person.id, person.first_name)
            await neighbours.record_position(session, person.id, 44.84 + km / 111, -0.58, now)
        for person in (ZOE, YAN):
            await nudges.snooze_week(session, person.id, now)
            await outbox.enqueue(
                session,
                chat_id=person.id,
                kind="nudge.kickoff",
                text=f"Bonjour {person.first_name}",
                key=f"kickoff:{person.id}",
                now=now,
            )
        session.add(
            Broadcast(
                organiser_id=ZOE.id,
                locale="fr",
                audience="everyone",
                text="Réunion jeudi",
                status="done",
                send_at=now,
                recipients=1,
                created_at=now,
            )
        )
        # Offers: Zoé gives bread from home, Yan apples. Yan already picked up one loaf
        # (his saved food is logged) and holds another; Zoé holds a bag of apples.
        zoes, _ = await offers.publish(
            session,
            ZOE.id,
            OfferDraft(
                title="Baguettes",
                description="Sonnez chez Zoé Martin, 06 12 34 56 78",
                category="bakery",
                quantity=3,
                pickup_end=now + timedelta(hours=3),
                latitude=ZOES_PICKUP[0],
                longitude=ZOES_PICKUP[1],
                address="12 rue des Lilas, 2e étage gauche",
                pickup_note="Sonner à l'interphone Martin",
                photo_file_id="zoe-doorstep-photo",
            ),
            now,
        )
        yans, _ = await offers.publish(
            session,
            YAN.id,
            OfferDraft(
                title="Pommes",
                description="Du verger",
                category="produce",
                quantity=2,
                pickup_end=now + timedelta(hours=3),
                latitude=44.85,
                longitude=-0.57,
                address="Marché des Capucins",
            ),
            now,
        )
        # Her bread comes back every weekday (a template: her address, her phone number).
        await offer_templates.save_from_offer(
            session, ZOE.id, zoes.id, offer_templates.WEEKDAYS, "Europe/Paris", now
        )
        picked, _, _ = await offers.reserve(session, zoes.id, YAN.id, now)
        picked, _, _ = await offers.confirm_pickup(session, picked.id, ZOE.id, now)
        assert await offers.log_saved_food(session, picked, now, settings.tz)
        held, _, _ = await offers.reserve(session, zoes.id, YAN.id, now)
        _, _, told = await offers.reserve(session, yans.id, ZOE.id, now)
        # They talk about Yan's pickup through the relay: each message names both of them,
        # and the one queued for Yan quotes her name; she reports and blocks him after.
        for sender, words in ((ZOE.id, "Sonnez chez Zoéline Martin"), (YAN.id, "À 18h")):
            relayed = await relay.send(session, held.id, sender, now, text=words)
            assert await relay_notices.enqueue(session, tr, relayed, now)
        await relay.report(session, held.id, ZOE.id, now)
        await relay.block(session, held.id, ZOE.id, now)
        # Yan is told, by her name, that she reserved his apples.
        await offer_notices.enqueue(session, tr, told, now, settings)
        for person in (ZOE, YAN):
            await offers.subscribe_alerts(session, person.id, 44.84, -0.58, 5, now)
        await offers.report_offer(session, yans.id, ZOE.id, ReportReason.SPAM, now)
        await offers.report_offer(session, zoes.id, YAN.id, ReportReason.MISLEADING, now)
        # An alert about her offer, deferred past Yan's quiet hours, with her address.
        await outbox.enqueue(
            session,
            chat_id=YAN.id,
            kind="nudge.offer_alert",
            text="New offer: Baguettes, 12 rue des Lilas",
            key=f"{offers.notice_key_prefix(zoes.id, offers.NoticeKind.ALERT)}{YAN.id}",
            now=now,
        )
        # Events: Zoé organises one at her place; she goes to Yan's and checked in there.
        soon = now + events.MIN_AHEAD
        event_ids = []
        for organiser, title, where in (
            (ZOE, "Atelier couture", "Chez Zoé, 12 rue des Lilas"),
            (YAN, "Ramassage", "Parc bordelais"),
        ):
            event, _ = await events.create_event(
                session,
                organiser.id,
                events.EventDraft(
                    title=title,
                    description="Venez nombreux",
                    starts_at=soon,
                    ends_at=soon + timedelta(hours=2),
                    latitude=ZOES_PICKUP[0],
                    longitude=ZOES_PICKUP[1],
                    address=where,
                    capacity=1,
                ),
                now,
                {ZOE.id, YAN.id},
                settings.timezone,
            )
            event_ids.append(event.id)
        yans_event = await session.get(Event, event_ids[1])
        assert yans_event is not None
        await events.respond(session, yans_event.id, ZOE.id, events.Answer.GOING, now)
        await events.check_in_with_code(session, yans_event.checkin_code, ZOE.id, soon, settings.tz)
        await session.commit()
        return Populated(team.id, challenge.id, zoes.id, yans.id, *event_ids)


async def rows_naming(session: AsyncSession, user_id: int) -> dict[str, int]:
    """Rows per table where a person column (FK to users or declared) holds `user_id`."""
    found: dict[str, int] = {}
    for pc in erasure.person_columns():
        rows = (await session.execute(select(pc.table).where(pc.column == user_id))).all()
        if rows:
            key = f"{pc.table.name}.{pc.column.name}"
            found[key] = found.get(key, 0) + len(rows)
    return found


def file_bytes(*paths: Path) -> bytes:
    return b"".join(path.read_bytes() for path in paths if path.exists())


async def stored_values_naming(session: AsyncSession, person: TgUser) -> list[str]:
    """Every stored value, in every table, that names the person: their id in any integer
    column, their first name or username inside any text (texts of notices sent to others,
    update payloads kept for diagnosis, JSON)."""
    names = [person.first_name, *([person.username] if person.username else [])]
    found = []
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).mappings():
            for column, value in row.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    if value == person.id:
                        found.append(f"{table.name}.{column} = {value}")
                    continue
                if value is None or isinstance(value, date | float | bool | bytes):
                    continue
                rendered = value if isinstance(value, str) else json.dumps(value, default=str)
                if str(person.id) in rendered or any(name in rendered for name in names):
                    found.append(f"{table.name}.{column}: {rendered[:80]}")
    return found


async def test_forget_erases_everything_about_the_person(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    populated = await populate(app, clock)
    # Zoé is in the middle of a conversation, privately and in the group; so is Yan.
    context = app.dispatcher.fsm.get_context(app.bot, chat_id=ZOE.id, user_id=ZOE.id)
    in_group = app.dispatcher.fsm.get_context(app.bot, chat_id=GROUP.id, user_id=ZOE.id)
    yans_context = app.dispatcher.fsm.get_context(app.bot, chat_id=GROUP.id, user_id=YAN.id)
    for fsm, words in ((context, "Zoé's words"), (in_group, "Zoé's"), (yans_context, "Yan's")):
        await fsm.set_state("SomeFlow:step")
        await fsm.set_data({"draft": words})
    async with app.sessionmaker() as session:
        before = await rows_naming(session, ZOE.id)
        named_before = await stored_values_naming(session, ZOE)
        yan_before = await rows_naming(session, YAN.id)
        totals_before = (
            await session.execute(select(WeekTeamTotal.actions, WeekTeamTotal.co2e_g))
        ).all()
    # Every feature holds something of hers before.
    for table in (
        "users",
        "organisers",
        "maker_favourites",
        "makers",
        "action_logs",
        "week_user_totals",
        "action_profiles",
        "challenge_participants",
        "challenge_contributions",
        "team_members",
        "week_team_members",
        "neighbour_profiles",
        "contests",
        "challenges",
        "teams",
        "notification_prefs",
        "outbox",
        "broadcasts",
        "offers",
        "offer_reservations",
        "offer_alerts",
        "offer_reports",
        "offer_templates",
        "events",
        "event_rsvps",
        "event_checkins",
        "relay_messages",
        "relay_flags",
    ):
        assert any(key.startswith(f"{table}.") for key in before), table
    assert totals_before == [(4, totals_before[0][1])]
    # Her name is in texts sent to others (Yan was told she reserved his bread).
    assert any(value.startswith("outbox.text") for value in named_before), named_before

    (confirm,) = await tg.reply_to(ZOE, "/forget")
    assert tr.t("forget.button.confirm", "fr") in str(confirm.params["reply_markup"])
    # Cancelling first changes nothing.
    (cancelled,) = await tg.click(ZOE, confirm, tr.t("forget.button.cancel", "fr"))
    assert cancelled.text == tr.t("forget.cancelled", "fr")
    await tg.wait_idle()
    async with app.sessionmaker() as session:
        after_cancel = await rows_naming(session, ZOE.id)
    # Only the inbox grew (the updates just received name their sender).
    assert after_cancel.pop("inbox_updates.user_id") > before.pop("inbox_updates.user_id", 0)
    assert after_cancel == before
    (confirm,) = await tg.reply_to(ZOE, "/forget")
    (done,) = await tg.click(ZOE, confirm, tr.t("forget.button.confirm", "fr"))
    assert done.text == tr.t("forget.done", "fr")
    # The update's session commits once the handler has answered.
    await tg.wait_idle()

    async with app.sessionmaker() as session:
        assert await rows_naming(session, ZOE.id) == {}
        assert await stored_values_naming(session, ZOE) == []
        assert await session.get(User, ZOE.id) is None
        # Yan keeps everything of his, and has two messages more (below), less the two
        # that named her ("Zoéline reserved…", her relayed message); what they said to
        # each other through the relay goes with her (each message names both), and so
        # does his message queued for her (the only outbox row that named him).
        relayed_keys = {
            "relay_messages.sender_id",
            "relay_messages.recipient_id",
            "outbox.about_user_id",
        }
        assert await rows_naming(session, YAN.id) == {
            **{key: count for key, count in yan_before.items() if key not in relayed_keys},
            "outbox.chat_id": yan_before["outbox.chat_id"] + 2 - 2,
        }
        assert (await session.scalars(select(RelayMessage))).all() == []
        # Published aggregates keep their numbers without her.
        totals_after = (
            await session.execute(select(WeekTeamTotal.actions, WeekTeamTotal.co2e_g))
        ).all()
        assert totals_after == totals_before
        # What others use outlives her, detached.
        challenge = await session.get(Challenge, populated.challenge_id)
        team = await session.get(Team, populated.team_id)
        assert challenge is not None and challenge.created_by == NOBODY
        assert team is not None and team.registered_by == NOBODY
        assert (await session.scalars(select(Contest.created_by))).all() == [NOBODY]
        assert (await session.scalars(select(Broadcast.organiser_id))).all() == [NOBODY]
        # Her own listing is gone, the shop she liked is not.
        names = (await session.scalars(select(Maker.name))).all()
        assert names == ["Atelier"]
        await check_offers_after(session, populated)
        await check_events_after(session, populated)
    for fsm in (context, in_group):
        assert await fsm.get_state() is None
        assert await fsm.get_data() == {}
    assert await yans_context.get_state() == "SomeFlow:step"
    assert await yans_context.get_data() == {"draft": "Yan's"}

    if app.settings.database_url.startswith("sqlite"):
        # Not in the file's bytes either, once the write-ahead log is checkpointed (as
        # SQLite does by itself every 1000 pages): deleted rows are overwritten.
        database = Path(app.settings.database_url.split("///", 1)[1])
        async with app.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = file_bytes(database, Path(f"{database}-wal"))
        for trace in (ZOE.first_name, ZOE.username or ""):
            assert trace.encode() not in raw, trace
    # Talking to the bot again starts from scratch, with no neighbours consent.
    (consent,) = await tg.reply_to(ZOE, "/neighbours")
    assert "Voisins engagés" in consent.text


async def check_events_after(session: AsyncSession, populated: Populated) -> None:
    """Her event outlives her cancelled, detached and without its address; the place she
    held at Yan's goes back, and her check-in there is gone."""
    hers = await session.get(Event, populated.zoes_event)
    assert hers is not None
    assert (hers.status, hers.organiser_id, hers.address) == (EventStatus.CANCELLED.value, None, "")
    assert (hers.latitude, hers.longitude) == (round(ZOES_PICKUP[0], 2), round(ZOES_PICKUP[1], 2))
    yans = await session.get(Event, populated.yans_event)
    assert yans is not None and yans.seats_taken == 0
    assert yans.status == EventStatus.PUBLISHED.value


async def check_offers_after(session: AsyncSession, populated: Populated) -> None:
    """Zoé's offer outlives her, closed and anonymous; Yan's reservation on it is released
    and he is told; hers on his offer goes, the unit back, and he is told."""
    zoes = await session.get(Offer, populated.zoes_offer)
    assert zoes is not None
    assert zoes.poster_id is None and zoes.maker_id is None
    assert zoes.status == OfferStatus.CLOSED.value and zoes.closed_at is not None
    assert (zoes.description, zoes.address, zoes.photo_file_id) == ("", "", None)
    assert zoes.pickup_note == ""
    # The pickup point (maybe her door) is kept to about 1 km only.
    assert (zoes.latitude, zoes.longitude) == (44.84, -0.58)
    # Figures stay: 3 loaves, one picked up, one released without giving it back.
    assert (zoes.title, zoes.category, zoes.quantity_total) == ("Baguettes", "bakery", 3)
    assert zoes.quantity_left == 1
    on_zoes = (
        await session.scalars(
            select(Reservation).where(Reservation.offer_id == zoes.id).order_by(Reservation.id)
        )
    ).all()
    assert [(r.user_id, r.status) for r in on_zoes] == [
        (YAN.id, ReservationStatus.PICKED_UP.value),
        (YAN.id, ReservationStatus.RELEASED.value),
    ]
    # The food Yan saved stays logged.
    assert sorted(
        (
            await session.scalars(select(ActionLog.action_slug).where(ActionLog.user_id == YAN.id))
        ).all()
    ) == [offers.SAVED_FOOD, "veggie_meal"]

    yans = await session.get(Offer, populated.yans_offer)
    assert yans is not None and yans.poster_id == YAN.id
    assert yans.status == OfferStatus.OPEN.value and yans.quantity_left == 2
    assert (yans.description, yans.address) == ("Du verger", "Marché des Capucins")
    assert (
        await session.scalars(select(Reservation).where(Reservation.offer_id == yans.id))
    ).all() == []

    assert (await session.scalars(select(OfferAlert.user_id))).all() == [YAN.id]
    reports = (
        await session.execute(
            select(OfferReport.offer_id, OfferReport.reporter_id).order_by(OfferReport.id)
        )
    ).all()
    # Her report on Yan's offer still counts for moderation, without her.
    assert reports == [(yans.id, None), (zoes.id, YAN.id)]

    alert = (
        await session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.kind == "nudge.offer_alert")
        )
    ).one()
    assert alert == OutboxStatus.CANCELLED
    told = (
        await session.scalars(
            select(OutboxMessage.text)
            .where(OutboxMessage.chat_id == YAN.id, OutboxMessage.kind.startswith("offer."))
            .order_by(OutboxMessage.id)
        )
    ).all()
    assert told == [
        tr.t("offers.notice.withdrawn", "en", title="Baguettes"),
        tr.t("offers.notice.reserver_gone", "en", title="Pommes"),
    ]


CAROL = TgUser(id=3003, first_name="Carol", language_code="fr")


def draft(title: str, end: datetime) -> OfferDraft:
    return OfferDraft(
        title=title, description="-", quantity=3, pickup_end=end, latitude=44.84, longitude=-0.58
    )


async def test_offer_jobs_are_cancelled_and_firing_anyway_does_nothing_for_her(
    tg: BotApiStandIn, tmp_path: Path
) -> None:
    # The scheduler runs on real time: the jobs must lie ahead of it (in the morning,
    # out of quiet hours), and the test fires them itself.
    day = datetime.now(UTC).date() + timedelta(days=2)
    clock = ManualClock(datetime.combine(day, time(9, 0), tzinfo=UTC))
    settings = make_settings(tmp_path, throttle_burst=1000)
    timing = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=timing
    ) as app:
        assert app.background is not None and app.background.scheduler is not None
        scheduler = app.background.scheduler
        now = clock.now()
        end = now + timedelta(minutes=90)
        async with app.sessionmaker() as session:
            for person in (ZOE, YAN, CAROL):
                profile = TelegramProfile(person.id, person.first_name, None, person.language_code)
                await upsert_user(session, profile, now)
            zoes, _ = await offers.publish(session, ZOE.id, draft("Pain", end), now)
            yans, _ = await offers.publish(session, YAN.id, draft("Pommes", end), now)
            await offers.reserve(session, zoes.id, YAN.id, now)
            for person in (ZOE, CAROL):
                await offers.reserve(session, yans.id, person.id, now)
            await session.commit()
        for offer in (zoes, yans):
            offer_notices.schedule_offer_jobs(scheduler, offer, now)
        assert scheduler.next_run_at(offer_notices.remind_job_id(zoes.id)) is not None

        (confirm,) = await tg.reply_to(ZOE, "/forget")
        since = tg.mark()
        await tg.click(ZOE, confirm, tr.t("forget.button.confirm", "fr"))
        # Yan hears that her offer is withdrawn and that her reservation went.
        await tg.wait_for("sendMessage", chat_id=YAN.id, count=2, since=since)
        # Her offer needs no closing nor reminder any more; Yan's still does.
        for job_id in (offer_notices.expire_job_id, offer_notices.remind_job_id):
            assert scheduler.next_run_at(job_id(zoes.id)) is None
            assert scheduler.next_run_at(job_id(yans.id)) is not None

        # Jobs firing anyway (scheduled by another process, or the sweep) find nothing of
        # hers: Carol alone is reminded, then released.
        clock.advance(timedelta(minutes=35))
        since = tg.mark()
        for offer_id in (zoes.id, yans.id):
            await jobs.remind_offer(offer_id)
        (reminder,) = await tg.wait_for("sendMessage", chat_id=CAROL.id, since=since)
        assert "Pommes" in reminder.text
        clock.advance(timedelta(hours=1))
        for offer_id in (zoes.id, yans.id):
            await jobs.expire_offer(offer_id)
        await jobs.sweep_offers()
        _, released = await tg.wait_for("sendMessage", chat_id=CAROL.id, since=since, count=2)
        assert released.text == tr.t("offers.notice.released", "fr", title="Pommes")
        await tg.wait_idle()
        assert [call for call in tg.calls[since:] if call.chat_id in (ZOE.id, YAN.id)] == []
        async with app.sessionmaker() as session:
            assert await rows_naming(session, ZOE.id) == {}
            assert await session.get(User, ZOE.id) is None
            pending = (await session.scalars(select(OutboxMessage.chat_id))).all()
            assert ZOE.id not in pending


def test_person_policies_are_known_values() -> None:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if PERSON in column.info:
                assert Person(column.info[PERSON]) in Person
