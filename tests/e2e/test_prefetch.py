"""People's rows read with their batch of updates (bot.serving.prefetch): used when still current,
read again when not, and never one read per update when they are."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import ManualClock
from bot.services.users import (
    KnownUser,
    TelegramProfile,
    add_organiser,
    read_users,
    upsert_user,
)
from bot.serving.prefetch import FORGET_PAST, MAX_AGE, UserPrefetch
from bot.standin import BotApiStandIn, RecordedCall, Stall, TgUser
from models import User
from models.database import has_writes
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ALICE = TgUser(id=5001, first_name="Alice", language_code="fr")


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ the registry


def test_one_read_per_person_per_batch_and_none_without_a_sender() -> None:
    prefetch = UserPrefetch(FakeMonotonic())
    expected = prefetch.expect([(1, 7), (2, 7), (3, None), (4, 8)])
    assert [(item.update_id, item.user_id) for item in expected] == [(1, 7), (4, 8)]
    prefetch.fill(expected, {7: KnownUser({"id": 7}), 8: KnownUser(None)})
    assert prefetch.take(1) == KnownUser({"id": 7})
    assert prefetch.take(4) == KnownUser(None)
    # Consumed: a second take (an update handled again) reads the row itself.
    assert prefetch.take(1) is None
    assert prefetch.take(2) is None
    assert len(prefetch) == 0


def test_touching_a_person_voids_what_was_read_for_them_only() -> None:
    prefetch = UserPrefetch(FakeMonotonic())
    expected = prefetch.expect([(1, 7), (2, 8)])
    # Person 7's previous update starts (or ends) while the read is under way.
    prefetch.touch(7)
    prefetch.fill(expected, {7: KnownUser({"id": 7}), 8: KnownUser({"id": 8})})
    assert prefetch.take(1) is None
    assert prefetch.take(2) == KnownUser({"id": 8})


def test_a_row_read_too_long_ago_is_read_again() -> None:
    monotonic = FakeMonotonic()
    prefetch = UserPrefetch(monotonic)
    expected = prefetch.expect([(1, 7), (2, 8)])
    prefetch.fill(expected, {7: KnownUser({"id": 7}), 8: KnownUser({"id": 8})})
    monotonic.now += MAX_AGE / 2
    assert prefetch.take(1) == KnownUser({"id": 7})
    monotonic.now += MAX_AGE
    assert prefetch.take(2) is None


def test_reads_never_taken_are_forgotten_once_stale() -> None:
    monotonic = FakeMonotonic()
    prefetch = UserPrefetch(monotonic)
    prefetch.expect((update_id, update_id) for update_id in range(FORGET_PAST + 1))
    monotonic.now += MAX_AGE + 1
    fresh = prefetch.expect([(FORGET_PAST + 1, 1)])
    assert len(prefetch) == 1
    assert [item.update_id for item in fresh] == [FORGET_PAST + 1]


def test_discarded_reads_leave_nothing_behind() -> None:
    prefetch = UserPrefetch(FakeMonotonic())
    expected = prefetch.expect([(1, 7), (2, 8)])
    prefetch.discard(item.update_id for item in expected)
    assert len(prefetch) == 0
    prefetch.touch(7)  # nothing left to void, no error
    assert prefetch.take(1) is None


# ------------------------------------------------------------------ the service


async def test_a_known_row_is_used_without_reading_it_again(session: AsyncSession) -> None:
    alice = TelegramProfile(id=1, first_name="Alice", username=None, language_code="fr")
    bob = TelegramProfile(id=2, first_name="Bob", username="bob", language_code="en")
    await upsert_user(session, alice, NOW)
    await session.commit()

    known = await read_users(session, [1, 2])
    assert known[2] == KnownUser(None)
    assert known[1].columns is not None and known[1].columns["first_name"] == "Alice"
    await session.commit()

    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        user = await upsert_user(session, alice, NOW + timedelta(seconds=5), known=known[1])
        assert user.first_name == "Alice"
        assert not await has_writes(session)
        assert statements == []
        # A change to the attached row is written as for a row the session had read.
        renamed = TelegramProfile(id=1, first_name="Alicia", username=None, language_code="fr")
        user = await upsert_user(session, renamed, NOW + timedelta(minutes=5), known=known[1])
        await session.commit()
        # A person the read did not find is created.
        created = await upsert_user(session, bob, NOW, known=known[2])
        await session.commit()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert not any(s.lstrip().upper().startswith("SELECT") for s in statements)
    session.expunge_all()
    rows = (await session.execute(select(User.id, User.first_name, User.last_seen_at))).all()
    assert sorted(rows) == [
        (1, "Alicia", NOW + timedelta(minutes=5)),
        (2, "Bob", NOW),
    ]
    assert created.username == "bob"


# ------------------------------------------------------------------ end to end


@pytest.fixture
async def app(tg: BotApiStandIn, tmp_path: Path, clock: ManualClock) -> AsyncIterator[RunningBot]:
    """One serving process (no Redis), on the test backend's database."""
    settings = make_settings(tmp_path, redis_url=None)
    async with running_bot(settings, tg, clock=clock) as running:
        assert not running.runtime.processor.shared
        yield running


@pytest.fixture
def user_reads() -> Iterator[list[str]]:
    """The statements that read the users table, as they reach the database."""
    reads: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2]).lstrip()
        if statement.upper().startswith("SELECT") and "FROM users" in statement:
            reads.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield reads
    event.remove(Engine, "before_cursor_execute", record)


async def test_a_batch_of_updates_reads_its_senders_once(
    tg: BotApiStandIn, app: RunningBot, user_reads: list[str]
) -> None:
    people = [TgUser(id=5100 + i, first_name=f"P{i}", language_code="fr") for i in range(5)]
    # Pushed together: one getUpdates hands them over, one statement reads their rows.
    replies = await _help_together(tg, app, people, user_reads)
    assert sorted(call.chat_id or 0 for call in replies) == [p.id for p in people]
    assert all(call.text.startswith(text("help.title", "fr")) for call in replies)
    assert len(user_reads) == 1, user_reads


async def test_a_row_changed_by_the_previous_update_is_read_again(
    tg: BotApiStandIn, app: RunningBot, user_reads: list[str]
) -> None:
    """The person switches to English and, while that update is still being handled (its
    answer to Telegram stalls), sends /help: the row read with /help's batch still says
    French, so /help must read it again."""
    (picker,) = await tg.reply_to(ALICE, "/language")
    await app.tracker.settled()
    tg.inject(Stall(0.5), method="answerCallbackQuery")
    since = tg.mark()
    tg.push_callback(ALICE, "lg:en", message_id=picker.result["message_id"])
    await tg.wait_arrival("answerCallbackQuery", since=since)
    user_reads.clear()
    tg.push_text(ALICE, "/help")
    menu, help_reply = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since, count=2)
    await app.tracker.settled()
    assert menu.text == text("menu.refreshed", "en")
    assert help_reply.text.startswith(text("help.title", "en"))
    # /help's batch read the row while it still said French; /help then read it again.
    assert len(user_reads) == 2, user_reads


async def test_replicas_read_each_row_when_handling(
    tg: BotApiStandIn, tmp_path: Path, redis_url: str, user_reads: list[str]
) -> None:
    """With Redis, replicas share the inbox: another one may be changing a person's row,
    so nothing is read ahead."""
    settings = make_settings(tmp_path, redis_url=redis_url)
    async with running_bot(settings, tg) as running:
        assert running.runtime.processor.shared
        people = [TgUser(id=5200 + i, first_name=f"R{i}", language_code="en") for i in range(3)]
        replies = await _help_together(tg, running, people, user_reads)
    assert all(call.text.startswith(text("help.title", "en")) for call in replies)
    assert len(user_reads) == len(people), user_reads


async def _help_together(
    tg: BotApiStandIn, app: RunningBot, people: list[TgUser], user_reads: list[str]
) -> list[RecordedCall]:
    """Everyone starts; then, counting reads of `users` from there, everyone sends /help at
    once; returns the /help replies."""
    for person in people:
        await tg.reply_to(person, "/start")
    await app.tracker.settled()
    user_reads.clear()
    since = tg.mark()
    for person in people:
        tg.push_text(person, "/help")
    replies = await tg.wait_for("sendMessage", count=len(people), since=since)
    await app.tracker.settled()
    return replies


async def test_organisers_are_known_from_the_batch_read(
    tg: BotApiStandIn, app: RunningBot, user_reads: list[str]
) -> None:
    """/help is role-aware: an organiser named in the table sees the organisers' commands.
    The batch's read of the senders' rows says who is one, so no /help reads the table."""
    people = [TgUser(id=5200 + i, first_name=f"P{i}", language_code="fr") for i in range(3)]
    async with app.sessionmaker() as session:
        await add_organiser(session, people[1].id, NOW)
        await session.commit()
    organiser_reads: list[str] = []

    def record(*args: object) -> None:
        if "FROM organisers" in str(args[2]):
            organiser_reads.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        replies = await _help_together(tg, app, people, user_reads)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    by_chat = {call.chat_id: call.text for call in replies}
    heading = text("help.section.organisers", "fr")
    assert [heading in by_chat[p.id] for p in people] == [False, True, False]
    assert len(user_reads) == 1, user_reads
    assert organiser_reads == []
