"""Nudge policy (pure), its service, the notification settings and the snooze button."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import ManualClock
from bot.services import nudges
from bot.services.nudges import Decision, NudgeKind, Prefs, Refusal, decide
from bot.standin import BotApiStandIn, TgUser, buttons
from bot.ui.callbacks.settings import NotifKindCb, SnoozeCb
from bot.ui.keyboards import snooze_row
from models import OutboxMessage, User
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import tr

PARIS = ZoneInfo("Europe/Paris")


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (paris(5, 12), paris(5, 12)),  # daytime: at once
        (paris(5, 21, 59), paris(5, 21, 59)),
        (paris(5, 22), paris(6, 8)),  # quiet from 22:00…
        (paris(5, 23, 30), paris(6, 8)),
        (paris(6, 3), paris(6, 8)),  # …over midnight…
        (paris(6, 7, 59), paris(6, 8)),
        (paris(6, 8), paris(6, 8)),  # …until 08:00
    ],
)
def test_quiet_hours_defer_to_their_end(now: datetime, expected: datetime) -> None:
    decision = decide(Prefs(), NudgeKind.MIDWEEK, now, PARIS, nudges_that_day=0)
    assert decision == Decision(True, deliver_at=expected)


def test_quiet_hours_follow_the_persons_time_zone() -> None:
    # 23:00 in Paris is 17:00 in Montréal: not quiet there.
    now = paris(5, 23)
    montreal = ZoneInfo("America/Montreal")
    assert decide(Prefs(), NudgeKind.KICKOFF, now, montreal, nudges_that_day=0).deliver_at == now


def test_refusals() -> None:
    now = paris(5, 12)
    kind = NudgeKind.SUMMARY
    assert decide(Prefs(), kind, now, PARIS, nudges_that_day=1).refusal is Refusal.CAPPED
    assert decide(Prefs(daily_cap=2), kind, now, PARIS, nudges_that_day=1).allowed
    off = Prefs(opted_out=frozenset({"summary"}))
    assert decide(off, kind, now, PARIS, nudges_that_day=0).refusal is Refusal.OPTED_OUT
    assert decide(off, NudgeKind.KICKOFF, now, PARIS, nudges_that_day=0).allowed
    snoozed = Prefs(snoozed_until=now + timedelta(days=3))
    assert decide(snoozed, kind, now, PARIS, nudges_that_day=0).refusal is Refusal.SNOOZED
    assert (
        decide(Prefs(), kind, now, PARIS, nudges_that_day=0, is_active=False).refusal
        is Refusal.INACTIVE
    )
    assert decide(Prefs(quiet=None), kind, paris(5, 23), PARIS, nudges_that_day=0).deliver_at == (
        paris(5, 23)
    )


async def _person(session: AsyncSession, clock: ManualClock, user_id: int = 42) -> User:
    user = User(
        id=user_id,
        first_name="N",
        is_active=True,
        created_at=clock.now(),
        last_seen_at=clock.now(),
    )
    session.add(user)
    await session.flush()
    return user


async def test_service_applies_cap_per_local_day_and_keys(session: AsyncSession) -> None:
    clock = ManualClock(paris(5, 23))  # quiet: deferred to tomorrow 08:00
    user = await _person(session, clock)
    first = await nudges.enqueue_nudge(
        session,
        user,
        NudgeKind.MIDWEEK,
        text="Hi",
        key="mid:42:w2",
        now=clock.now(),
        default_timezone="Europe/Paris",
    )
    assert first == Decision(True, deliver_at=paris(6, 8))
    row = await session.get(OutboxMessage, 1)
    assert row is not None and row.not_before == paris(6, 8) and row.kind == "nudge.midweek"
    # The same key again: nothing more, whatever the policy.
    again = await nudges.enqueue_nudge(
        session,
        user,
        NudgeKind.MIDWEEK,
        text="Hi",
        key="mid:42:w2",
        now=clock.now(),
        default_timezone="Europe/Paris",
    )
    assert again.refusal is Refusal.ALREADY_QUEUED
    # Another nudge for the same local day (tomorrow) is over the cap of one a day…
    clock.set(paris(6, 9))
    capped = await nudges.may_nudge(session, user, NudgeKind.KICKOFF, clock.now(), "Europe/Paris")
    assert capped.refusal is Refusal.CAPPED
    # …the day after is fine.
    clock.set(paris(7, 9))
    assert (
        await nudges.may_nudge(session, user, NudgeKind.KICKOFF, clock.now(), "Europe/Paris")
    ).allowed


async def test_settings_services(session: AsyncSession) -> None:
    clock = ManualClock(paris(5, 12))
    user = await _person(session, clock)
    assert await nudges.toggle_kind(session, user.id, NudgeKind.SUMMARY) is False
    assert await nudges.toggle_kind(session, user.id, NudgeKind.SUMMARY) is True
    assert await nudges.next_quiet_preset(session, user.id) == (21 * 60, 7 * 60)
    assert await nudges.next_cap(session, user.id) == 2
    until = await nudges.snooze_week(session, user.id, clock.now())
    prefs = await nudges.load_prefs(session, user.id)
    assert prefs == Prefs(quiet=(21 * 60, 7 * 60), daily_cap=2, snoozed_until=until)


# --------------------------------------------------------------------------- end to end

ALICE = TgUser(id=1201, first_name="Alice", language_code="fr")


@pytest.fixture
async def app(tg: BotApiStandIn, tmp_path: Path, clock: ManualClock) -> AsyncIterator[RunningBot]:
    settings = make_settings(tmp_path, throttle_burst=1000)
    async with running_bot(settings, tg, clock=clock, background=True) as running:
        yield running


def labels(call: object) -> list[str]:
    return [label for row in buttons(call) for label, _ in row]  # type: ignore[arg-type]


def test_team_recaps_have_no_personal_switch() -> None:
    """Recaps go to team groups, not people: every other kind is a person's to switch."""
    assert NudgeKind.RECAP not in nudges.PERSON_KINDS
    assert set(nudges.PERSON_KINDS) == set(NudgeKind) - {NudgeKind.RECAP}
    # The enum keeps it: the Sunday recap's slot is one.
    assert NudgeKind("recap") is NudgeKind.RECAP


async def test_notification_settings_from_settings(tg: BotApiStandIn, app: RunningBot) -> None:
    (menu,) = await tg.reply_to(ALICE, "/settings")
    assert tr.t("settings.button.notifications", "fr") in labels(menu)
    (view,) = await tg.click(ALICE, menu, "Notifications")
    assert "22:00–08:00" in view.text
    assert "✅ Lancement de la semaine" in labels(view)
    # One switch per kind sent to a person (no team recap), two by two, then the
    # quiet hours, the daily cap, the snooze and back, one per row.
    switches = [
        tr.t("notif.kind.on", "fr", label=tr.t(f"nudges.kind.{k}", "fr"))
        for k in nudges.PERSON_KINDS
    ]
    rows = [[label for label, _ in row] for row in buttons(view)]
    assert [label for row in rows[:-4] for label in row] == switches
    kinds = len(nudges.PERSON_KINDS)
    assert [len(row) for row in rows] == [2] * (kinds // 2) + [1] * (kinds % 2) + [1, 1, 1, 1]
    assert all(NudgeKind.RECAP.value not in str(data) for row in buttons(view) for _, data in row)
    (view,) = await tg.click(ALICE, view, "Lancement de la semaine")
    assert "🔕 Lancement de la semaine" in labels(view)
    (view,) = await tg.click(ALICE, view, "Heures calmes")
    assert "21:00–07:00" in view.text
    (view,) = await tg.click(ALICE, view, "Par jour")
    assert "Au plus 2 rappels" in view.text
    (view,) = await tg.click(ALICE, view, "Pause d'une semaine")
    assert "En pause, reprise : lun. 12 janv. 10:00" in view.text
    (view,) = await tg.click(ALICE, view, "Reprendre")
    assert "En pause" not in view.text
    (back,) = await tg.click(ALICE, view, "Retour")
    assert tr.t("settings.button.notifications", "fr") in labels(back)
    async with app.sessionmaker() as session:
        prefs = await nudges.load_prefs(session, ALICE.id)
    assert prefs.opted_out == frozenset({"kickoff"})
    assert prefs.daily_cap == 2


async def test_a_team_recap_switch_from_an_older_view_is_stale(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    """A settings view shown before recaps lost their switch (or a forged press) toggles
    nothing: the person is told the button is stale."""
    (menu,) = await tg.reply_to(ALICE, "/settings")
    await tg.click(ALICE, menu, "Notifications")
    since = tg.mark()
    query_id = tg.push_callback(ALICE, NotifKindCb(kind=NudgeKind.RECAP).pack())
    await tg.wait_for("answerCallbackQuery", since=since)
    await tg.wait_idle()
    answer = tg.callback_answer(query_id)
    assert answer is not None
    assert answer.params.get("text") == tr.t("fallback.stale_button", "fr")
    assert answer.params.get("show_alert") is True
    assert not [c for c in tg.calls[since:] if c.method == "editMessageText"]
    async with app.sessionmaker() as session:
        prefs = await nudges.load_prefs(session, ALICE.id)
    assert prefs.opted_out == frozenset()


async def test_a_nudge_carries_a_snooze_button_that_works(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await tg.reply_to(ALICE, "/start")
    async with app.sessionmaker() as session:
        user = await session.get(User, ALICE.id)
        assert user is not None
        decision = await nudges.enqueue_nudge(
            session,
            user,
            NudgeKind.MIDWEEK,
            text="Un petit geste cette semaine ? 🌱",
            key="test:midweek",
            now=clock.now(),
            default_timezone="Europe/Paris",
            reply_markup={"inline_keyboard": [snooze_row(tr, "fr")]},
        )
        await session.commit()
    assert decision.allowed
    (nudge,) = await tg.wait_for(
        "sendMessage", chat_id=ALICE.id, predicate=lambda c: "petit geste" in c.text
    )
    assert buttons(nudge) == [[(tr.t("nudges.button.snooze", "fr"), SnoozeCb().pack())]]
    since = tg.mark()
    query = tg.push_callback(ALICE, SnoozeCb().pack(), nudge.result["message_id"])
    (answer,) = await tg.wait_for(
        "answerCallbackQuery",
        since=since,
        predicate=lambda c: str(c.params.get("callback_query_id")) == query,
    )
    assert "lun. 12 janv. 10:00" in answer.params["text"]
    async with app.sessionmaker() as session:
        user = await session.get(User, ALICE.id)
        assert user is not None
        later = clock.now() + timedelta(days=2)
        refused = await nudges.may_nudge(session, user, NudgeKind.KICKOFF, later, "Europe/Paris")
    assert refused.refusal is Refusal.SNOOZED
