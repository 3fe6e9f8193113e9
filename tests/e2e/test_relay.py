"""The relay conversation of a reservation end to end (issue #16): the real bot polls the
test Bot API while a poster and a reserver write to each other through it. Neither side
ever receives the other's Telegram id, username or a tg:// link; a block, a cancelled
reservation, the end of the window (plus a day), the rate limit and a moderator close it,
each with its own words to the sender and nothing reaching the other side."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import offers, outbox, relay
from bot.services.offers import OfferDraft
from bot.standin import SEND_METHODS, BotApiStandIn, RecordedCall, TgUser, buttons
from bot.ui.callbacks.offers import OfferAction, OfferCb, ReservationAction, ReservationCb
from bot.ui.callbacks.relay import RelayAction, RelayCb
from bot.worker import jobs
from bot.worker.background import BackgroundTiming
from models import OutboxMessage, RelayFlag, RelayMessage, Reservation, User
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text, tr

# Ids and usernames that cannot turn up by chance inside other numbers or words.
ALICE = TgUser(id=731_000_111, first_name="Alice", language_code="fr", username="alice_secret")
BOB = TgUser(id=731_000_222, first_name="Bob", language_code="en", username="bob_hidden")
CAROL = TgUser(id=731_000_333, first_name="Carol", language_code="en", username="carol_x")
ORGANISER = TgUser(id=731_000_999, first_name="Olga", language_code="fr")
BORDEAUX = (44.8378, -0.5792)

FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    return make_settings(
        tmp_path,  # type: ignore[arg-type]
        organiser_ids=frozenset({ORGANISER.id}),
        throttle_burst=1000,
    )


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        yield running


def data_of(call: RecordedCall, row: int, column: int) -> str:
    """The callback data of a button of a message the bot sent."""
    data = buttons(call)[row][column][1]
    assert data is not None
    return data


def labels(call: RecordedCall) -> list[str]:
    return [label for row in buttons(call) for label, _ in row]


async def press(
    tg: BotApiStandIn, user: TgUser, data: str, count: int = 0
) -> tuple[str, list[RecordedCall]]:
    """Push callback data as a (possibly forged) button press; the answer's text."""
    since = tg.mark()
    query_id = tg.push_callback(user, data)
    await tg.wait_for(
        "answerCallbackQuery",
        since=since,
        predicate=lambda c: str(c.params.get("callback_query_id")) == query_id,
    )
    sent = await tg.wait_for(SEND_METHODS, chat_id=user.id, count=count, since=since)
    answer = tg.callback_answer(query_id)
    assert answer is not None
    return str(answer.params.get("text", "")), sent


async def post_offer(app: RunningBot, clock: ManualClock, title: str = "Yaourts <bio>") -> int:
    async with app.sessionmaker() as session:
        if await session.get(User, ALICE.id) is None:
            now = clock.now()
            session.add(
                User(id=ALICE.id, first_name=ALICE.first_name, created_at=now, last_seen_at=now)
            )
            await session.flush()
        offer, _ = await offers.publish(
            session,
            ALICE.id,
            OfferDraft(
                title=title,
                description="Date courte",
                category="dairy",
                quantity=2,
                pickup_end=clock.now() + timedelta(hours=3),
                latitude=BORDEAUX[0],
                longitude=BORDEAUX[1],
                address="Marché des Capucins",
            ),
            clock.now(),
        )
        await session.commit()
        return offer.id


async def reserve(
    tg: BotApiStandIn, app: RunningBot, offer_id: int
) -> tuple[int, RecordedCall, RecordedCall]:
    """Bob reserves through the card's button: his confirmation (with "Message the giver")
    and Alice's "Bob reserved" notice (with "Message Bob"); the reservation's id."""
    await tg.reply_to(BOB, "/start")
    since = tg.mark()
    _, (confirmation, _venue) = await press(
        tg, BOB, OfferCb(action=OfferAction.RESERVE, offer_id=offer_id).pack(), count=2
    )
    (notice,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    async with app.sessionmaker() as session:
        reservation_id = await session.scalar(
            select(Reservation.id)
            .where(Reservation.user_id == BOB.id)
            .order_by(Reservation.id.desc())
        )
    assert reservation_id is not None
    return reservation_id, confirmation, notice


async def write(
    tg: BotApiStandIn, user: TgUser, words: str, to: TgUser | None
) -> tuple[RecordedCall, RecordedCall | None]:
    """`user` sends `words` in the writing mode: the bot's answer, and what reaches `to`."""
    since = tg.mark()
    (answer,) = await tg.reply_to(user, words)
    if to is None:
        return answer, None
    (received,) = await tg.wait_for(SEND_METHODS, chat_id=to.id, since=since)
    return answer, received


def traces_of(person: TgUser) -> list[str]:
    assert person.username
    return [str(person.id), person.username, "tg://user"]


def leaks(tg: BotApiStandIn, to: TgUser, about: TgUser) -> list[str]:
    """Every call the bot made to `to`'s chat whose raw JSON holds a trace of `about`'s
    account (id, username, a tg://user link)."""
    found = []
    for call in tg.calls:
        if call.chat_id != to.id:
            continue
        raw = json.dumps(call.params, default=str, ensure_ascii=False)
        found += [f"{call.method}: {trace}" for trace in traces_of(about) if trace in raw]
    return found


async def test_both_sides_write_without_seeing_each_others_account(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_offer(app, clock)
    reservation_id, confirmation, notice = await reserve(tg, app, offer_id)
    assert tr.t("relay.button.write_giver", "en") in labels(confirmation)
    assert tr.t("relay.button.write_to", "fr", name="Bob") in labels(notice)

    # --- Bob writes to the giver from his confirmation
    (prompt,) = await tg.click(BOB, confirmation, tr.t("relay.button.write_giver", "en"))
    assert prompt.text == text("relay.writing.prompt", "en", name="Alice", title="Yaourts <bio>")
    answer, received = await write(tg, BOB, "Hi! Is 6 <b>pm</b> fine?", to=ALICE)
    assert answer.text == text("relay.sent", "en", name="Alice")
    assert received is not None
    assert received.text == text(
        "relay.message", "fr", name="Bob", title="Yaourts <bio>", text="Hi! Is 6 <b>pm</b> fine?"
    )
    assert labels(received) == [
        tr.t("relay.button.reply", "fr"),
        tr.t("relay.button.report", "fr"),
        tr.t("relay.button.block", "fr"),
    ]

    # --- Alice replies from the message, with a text then a place
    (prompt,) = await tg.click(ALICE, received, tr.t("relay.button.reply", "fr"))
    assert prompt.text == text("relay.writing.prompt", "fr", name="Bob", title="Yaourts <bio>")
    answer, received = await write(tg, ALICE, "Oui, sonnez au portail", to=BOB)
    assert answer.text == text("relay.sent", "fr", name="Bob")
    assert received is not None
    assert received.text == text(
        "relay.message", "en", name="Alice", title="Yaourts <bio>", text="Oui, sonnez au portail"
    )
    since = tg.mark()
    tg.push_location(ALICE, 44.838123, -0.579456)
    (answer,) = await tg.wait_for(SEND_METHODS, chat_id=ALICE.id, since=since)
    assert answer.text == text("relay.sent", "fr", name="Bob")
    (venue,) = await tg.wait_for(SEND_METHODS, chat_id=BOB.id, since=since)
    assert venue.method == "sendVenue"
    # Rounded when the update arrived (about 100 m), and kept so.
    assert (venue.params["latitude"], venue.params["longitude"]) == (44.838, -0.579)
    assert venue.params["title"] == tr.t("relay.place.title", "en", name="Alice")
    assert tr.t("relay.button.reply", "en") in labels(venue)

    # --- a photo is not relayed; "Done" leaves the writing mode
    since = tg.mark()
    tg.push_photo(ALICE, b"not really a picture")
    (refused,) = await tg.wait_for(SEND_METHODS, chat_id=ALICE.id, since=since)
    assert refused.text == text("relay.error.unsupported", "fr")
    _, left = await tg.click(ALICE, answer, tr.t("relay.button.done", "fr"), count=2)
    assert left.text == text("relay.writing.left", "fr")
    since = tg.mark()
    await tg.reply_to(ALICE, "Ceci n'est plus pour Bob")
    await tg.wait_idle()
    assert [c for c in tg.calls[since:] if c.chat_id == BOB.id] == []

    # --- both find the way back from /myoffers
    (mine,) = await tg.reply_to(ALICE, "/myoffers")
    assert tr.t("relay.button.write_to", "fr", name="Bob") in labels(mine)
    (held,) = await tg.reply_to(BOB, "/myoffers")
    assert tr.t("relay.button.write_giver_number", "en", number=1) in labels(held)
    (prompt,) = await tg.click(BOB, held, tr.t("relay.button.write_giver_number", "en", number=1))
    assert prompt.text.startswith("✍️")

    # --- a stranger's forged button finds nothing
    forged = RelayCb(action=RelayAction.WRITE, reservation_id=reservation_id).pack()
    answer_text, _ = await press(tg, CAROL, forged)
    assert answer_text == tr.t("relay.not_found", "en")

    await tg.wait_idle()
    assert leaks(tg, to=ALICE, about=BOB) == []
    assert leaks(tg, to=BOB, about=ALICE) == []
    async with app.sessionmaker() as session:
        stored = (await session.scalars(select(RelayMessage).order_by(RelayMessage.id))).all()
    assert [(m.sender_id, m.text, m.latitude) for m in stored] == [
        (BOB.id, "Hi! Is 6 <b>pm</b> fine?", None),
        (ALICE.id, "Oui, sonnez au portail", None),
        (ALICE.id, "", 44.838),
    ]


async def test_a_block_stops_the_blocked_side(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_offer(app, clock)
    _, confirmation, _ = await reserve(tg, app, offer_id)
    await tg.click(BOB, confirmation, tr.t("relay.button.write_giver", "en"))
    _, received = await write(tg, BOB, "Call me maybe", to=ALICE)
    assert received is not None
    (ask,) = await tg.click(ALICE, received, tr.t("relay.button.block", "fr"))
    assert ask.text == text("relay.block.ask", "fr", name="Bob")
    _, done = await tg.click(ALICE, ask, tr.t("relay.button.block_confirm", "fr"), count=2)
    assert done.text == text("relay.block.done", "fr", name="Bob")

    since = tg.mark()
    refused, _ = await write(tg, BOB, "Hello??", to=None)
    assert refused.text == text("relay.closed.blocked", "en")
    await tg.wait_idle()
    assert [c for c in tg.calls[since:] if c.chat_id == ALICE.id] == []
    # Bob cannot start again either, nor can Alice write to him after blocking.
    answer_text, _ = await press(tg, BOB, data_of(confirmation, 1, 0))
    assert answer_text == tr.t("relay.closed.blocked", "en")
    answer_text, _ = await press(tg, ALICE, data_of(received, 0, 0))
    assert answer_text == tr.t("relay.closed.you_blocked", "fr")
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(RelayMessage)) == 1


async def test_closed_once_the_reservation_is_cancelled(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_offer(app, clock)
    reservation_id, confirmation, _ = await reserve(tg, app, offer_id)
    await tg.click(BOB, confirmation, tr.t("relay.button.write_giver", "en"))
    await write(tg, BOB, "On my way", to=ALICE)
    cancel = ReservationCb(action=ReservationAction.CANCEL, reservation_id=reservation_id)
    since = tg.mark()
    await press(tg, ALICE, cancel.pack(), count=1)
    (told,) = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    assert told.text == text("offers.notice.cancelled_by_poster", "en", title="Yaourts <bio>")
    since = tg.mark()
    refused, _ = await write(tg, BOB, "Wait, why?", to=None)
    assert refused.text == text("relay.closed.cancelled", "en")
    await tg.wait_idle()
    assert [c for c in tg.calls[since:] if c.chat_id == ALICE.id] == []
    write_to_bob = RelayCb(action=RelayAction.WRITE, reservation_id=reservation_id).pack()
    answer_text, _ = await press(tg, ALICE, write_to_bob)
    assert answer_text == tr.t("relay.closed.cancelled", "fr")
    # /myoffers no longer offers to write about it.
    (mine,) = await tg.reply_to(ALICE, "/myoffers")
    assert tr.t("relay.button.write_to", "fr", name="Bob") not in labels(mine)


async def test_open_until_a_day_after_the_window_then_closed(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_offer(app, clock)
    _, confirmation, _ = await reserve(tg, app, offer_id)
    await tg.click(BOB, confirmation, tr.t("relay.button.write_giver", "en"))
    # The window (3 h) is over and the unconfirmed reservation released: still open.
    clock.advance(timedelta(hours=3, minutes=5))
    _, received = await write(tg, BOB, "Sorry, I missed it", to=ALICE)
    assert received is not None
    clock.advance(timedelta(hours=23, minutes=50))
    _, received = await write(tg, BOB, "Still there?", to=ALICE)
    assert received is not None
    # A day after the end of the window: closed.
    clock.advance(timedelta(minutes=10))
    since = tg.mark()
    refused, _ = await write(tg, BOB, "Hello?", to=None)
    assert refused.text == text("relay.closed.ended", "en")
    await tg.wait_idle()
    assert [c for c in tg.calls[since:] if c.chat_id == ALICE.id] == []


async def test_at_most_twenty_messages_an_hour(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_offer(app, clock)
    _, confirmation, _ = await reserve(tg, app, offer_id)
    await tg.click(BOB, confirmation, tr.t("relay.button.write_giver", "en"))
    for number in range(relay.RATE_LIMIT):
        answer, _ = await write(tg, BOB, f"Message {number}", to=None)
        assert answer.text == text("relay.sent", "en", name="Alice")
        clock.advance(timedelta(seconds=30))
    refused, _ = await write(tg, BOB, "One too many", to=None)
    assert refused.text == tr.tn("relay.rate_limited", 50, "en", limit=relay.RATE_LIMIT)
    # Queued for Alice (the sender paces them at one a second): the twenty, not the refused.
    assert await queued_for(app, ALICE) == [f"Message {number}" for number in range(20)]
    # Once the first message of the hour stops counting, one more goes.
    clock.advance(timedelta(minutes=51))
    answer, _ = await write(tg, BOB, "Back again", to=None)
    assert answer.text == text("relay.sent", "en", name="Alice")
    assert (await queued_for(app, ALICE))[-1] == "Back again"


async def queued_for(app: RunningBot, person: TgUser) -> list[str]:
    """The words of the relayed messages queued in the outbox for `person`."""
    async with app.sessionmaker() as session:
        texts = await session.scalars(
            select(OutboxMessage.text)
            .where(OutboxMessage.chat_id == person.id, OutboxMessage.kind == "relay.message")
            .order_by(OutboxMessage.id)
        )
        return [value.rsplit(" : ", 1)[-1] for value in texts]


async def test_a_report_reaches_the_moderators_who_close_the_conversation(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    offer_id = await post_offer(app, clock)
    _, confirmation, _ = await reserve(tg, app, offer_id)
    await tg.click(BOB, confirmation, tr.t("relay.button.write_giver", "en"))
    _, received = await write(tg, BOB, "Give me your phone number <now>", to=ALICE)
    assert received is not None
    since = tg.mark()
    query_id = tg.push_callback(ALICE, data_of(received, 1, 0))
    await tg.wait_for("answerCallbackQuery", since=since)
    answer = tg.callback_answer(query_id)
    assert answer is not None and answer.params["text"] == tr.t("relay.report.thanks", "fr")

    # Carol cannot settle it; the organiser reads it in /moderation.
    header, item = await tg.reply_to(ORGANISER, "/moderation", count=2)
    assert header.text == tr.tn("relay.moderation.header", 1, "fr")
    assert (
        text("relay.moderation.item", "fr", reporter="Alice", reported="Bob", title="Yaourts <bio>")
        in item.text
    )
    assert "Give me your phone number <now>" in item.text
    assert leaks(tg, to=ORGANISER, about=BOB) == []
    forged = data_of(item, 0, 0)
    answer_text, _ = await press(tg, CAROL, forged)
    assert answer_text == tr.t("moderation.refused", "en")
    _, closed = await tg.click(ORGANISER, item, tr.t("relay.moderation.close", "fr"), count=2)
    assert closed.text == text("relay.moderation.closed", "fr")

    since = tg.mark()
    refused, _ = await write(tg, BOB, "Hello?", to=None)
    assert refused.text == text("relay.closed.moderated", "en")
    await tg.wait_idle()
    assert [c for c in tg.calls[since:] if c.chat_id == ALICE.id] == []
    (empty,) = await tg.reply_to(ORGANISER, "/moderation")
    assert empty.text == text("moderation.empty", "fr")


async def test_old_relayed_messages_are_purged_with_the_outbox(
    app: RunningBot, clock: ManualClock
) -> None:
    """The hourly retention job forgets relayed messages (and the blocks of their
    conversations) at the age it forgets the outbox's copies."""
    offer_id = await post_offer(app, clock)
    async with app.sessionmaker() as session:
        now = clock.now()
        session.add(User(id=BOB.id, first_name="Bob", created_at=now, last_seen_at=now))
        await session.flush()
        reservation, _, _ = await offers.reserve(session, offer_id, BOB.id, now)
        await relay.send(session, reservation.id, BOB.id, now, text="Old words")
        await relay.block(session, reservation.id, ALICE.id, now)
        await relay.report(session, reservation.id, ALICE.id, now)
        await session.commit()

    async def left() -> tuple[int, list[str]]:
        async with app.sessionmaker() as session:
            messages = await session.scalar(select(func.count()).select_from(RelayMessage))
            flags = await session.scalars(select(RelayFlag.kind).order_by(RelayFlag.id))
            return int(messages or 0), list(flags)

    clock.advance(outbox.KEEP_FOR - timedelta(minutes=1))
    await jobs.purge_old_messages()
    assert await left() == (1, ["block", "report"])
    clock.advance(timedelta(minutes=2))
    await jobs.purge_old_messages()
    # The open report waits for a moderator.
    assert await left() == (0, ["report"])
