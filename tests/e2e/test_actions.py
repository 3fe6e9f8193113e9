"""End to end over the test Bot API server: eco-actions, challenges, teams, contests,
leaderboards and the organisers' commands, as people would use them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.core.weeks import week_of
from bot.services import actions, challenges, contests
from bot.standin import BotApiStandIn, TgChat, TgUser, buttons
from bot.worker.background import BackgroundTiming
from models import (
    ActionLog,
    Challenge,
    ChallengeParticipant,
    ChallengeScope,
    ChallengeWeek,
    Contest,
    ContestStatus,
    OutboxMessage,
    Team,
    TeamMember,
    WeekTeamTotal,
)
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import counted, text, tr

ALICE = TgUser(id=2001, first_name="Alice", language_code="fr")
BOB = TgUser(id=2002, first_name="Bob", language_code="en")
CLARA = TgUser(id=2003, first_name="Clara", language_code="fr")
ORGANISER = TgUser(id=2900, first_name="Orga", language_code="fr")
CAMPUS = TgChat(id=-1001234, type="supergroup", title="IUT Talence")
OTHER_GROUP = TgChat(id=-1005678, type="supergroup", title="Fac de Pessac")

FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Long conversations here are not floods: the throttle has its own tests.
    return make_settings(tmp_path, organiser_ids=frozenset({ORGANISER.id}), throttle_burst=1000)


@pytest.fixture
async def app(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, tg, clock=clock) as running:
        yield running


@pytest.fixture
async def app_with_sender(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    """The bot with its background worker: what it sends on its own (through the outbox)
    arrives too."""
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        yield running


async def make_challenge(app: RunningBot, clock: ManualClock, **overrides: object) -> int:
    values: dict[str, object] = {
        "title": "Semaine végé",
        "description": "Moins de viande à la cafét'",
        "action_slugs": ("veggie_meal", "vegan_meal"),
        "weekly_target": 3,
        "scope": ChallengeScope.EVERYONE,
        "contest_id": None,
        "team_id": None,
        "pledge": "La cantine sert un menu végétarien de plus",
        "last_day": date(2026, 3, 1),
    }
    values.update(overrides)
    async with app.sessionmaker() as session:
        challenge = await challenges.create_challenge(
            session,
            challenges.ChallengeDraft(**values),  # type: ignore[arg-type]
            ORGANISER.id,
            app.settings.organiser_ids,
            clock.now(),
            app.settings.tz,
        )
        await session.commit()
        return challenge.id


async def count(app: RunningBot, model: type, *where: object) -> int:
    async with app.sessionmaker() as session:
        statement = select(func.count()).select_from(model)
        for condition in where:
            statement = statement.where(condition)  # type: ignore[arg-type]
        return int(await session.scalar(statement) or 0)


async def alert(tg: BotApiStandIn, user: TgUser, data: str, **kwargs: object) -> str:
    """Push a callback (as a forger could) and return the text of the bot's answer."""
    since = tg.mark()
    query_id = tg.push_callback(user, data, **kwargs)  # type: ignore[arg-type]
    await tg.wait_for("answerCallbackQuery", since=since)
    await tg.wait_idle()
    answer = tg.callback_answer(query_id)
    assert answer is not None
    return str(answer.params.get("text") or "")


# ---------------------------------------------------------------- /act


async def test_log_by_taps_then_by_slug(tg: BotApiStandIn, app: RunningBot) -> None:
    (menu,) = await tg.reply_to(ALICE, tr.t("menu.act", "fr"))
    assert menu.text == text("act.choose_category", "fr")
    (actions_list,) = await tg.click(ALICE, menu, "Alimentation")
    assert actions_list.method == "editMessageText"
    labels = [label for row in buttons(actions_list) for label, _ in row]
    assert "Repas végétarien au lieu de viande" in labels
    since = tg.mark()
    (logged,) = await tg.click(ALICE, actions_list, "Repas végétarien")
    assert logged.method == "editMessageText"
    assert "Repas végétarien au lieu de viande" in logged.text
    # The message, then the toast: the log, the inbox mark and the message went in one
    # commit (a toast first commits the log alone, then the message again).
    await tg.wait_for("answerCallbackQuery", since=since)
    said = [
        c.method for c in tg.calls[since:] if c.method in ("editMessageText", "answerCallbackQuery")
    ]
    assert said == ["editMessageText", "answerCallbackQuery"]
    assert "≈ 3,9 kg CO2e" in logged.text
    assert "ADEME Impact CO2 – repas (Base Carbone)" in logged.text
    assert (
        text("act.my_week", "fr", actions=counted("count.eco_actions", 1), co2="3,9") in logged.text
    )

    (reply,) = await tg.reply_to(ALICE, "/act bike_trip")
    assert text("act.my_week", "fr", actions=counted("count.eco_actions", 2), co2="5") in reply.text
    (reply,) = await tg.reply_to(BOB, "/act train_not_plane")
    assert "≈ 128 kg CO2e" in reply.text
    assert text("act.no_challenge_hint", "en") in reply.text
    assert await count(app, ActionLog) == 3

    (reply,) = await tg.reply_to(ALICE, "/act teleportation")
    assert reply.text == text("act.unknown", "fr", slug="teleportation")
    (me,) = await tg.reply_to(ALICE, "/me")
    assert (
        text(
            "me.text",
            "fr",
            week=counted("count.eco_actions", 2),
            week_co2="5",
            streak=counted("count.weeks", 1),
            total_actions=counted("count.eco_actions", 2),
            co2="5",
        )
        in me.text
    )


async def test_daily_caps_reject_the_absurd(tg: BotApiStandIn, app: RunningBot) -> None:
    await tg.reply_to(ALICE, "/act remote_work")
    (reply,) = await tg.reply_to(ALICE, "/act remote_work")
    assert reply.text == text(
        "act.capped",
        "fr",
        action="Télétravail au lieu du trajet en voiture",
        count=counted("count.times", 1),
    )
    # By taps: an alert, and the message stays as it was.
    (menu,) = await tg.reply_to(ALICE, "/act")
    (listing,) = await tg.click(ALICE, menu, "Transports")
    since = tg.mark()
    await tg.click(ALICE, listing, "Télétravail", count=0)
    answer = next(c for c in tg.calls[since:] if c.method == "answerCallbackQuery")
    assert answer.params.get("show_alert") is True
    assert str(answer.params["text"]).startswith("Vous avez déjà noté")
    await tg.wait_idle()
    assert not [c for c in tg.calls[since:] if c.method == "editMessageText"]
    assert await count(app, ActionLog) == 1


async def test_act_in_a_team_group_answers_briefly(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    code = await _contest_with_team(tg, app)
    del code
    (keyboard,) = await tg.reply_to(ALICE, "/act", chat=CAMPUS)
    assert keyboard.text == text("act.choose_category_group", "fr")
    (listing,) = await tg.click(ALICE, keyboard, "Transports")
    sent = await tg.click(ALICE, listing, "Vélo ou marche")
    assert sent[0].method == "sendMessage"
    assert sent[0].text.startswith("✅ Alice : Vélo ou marche au lieu de la voiture")
    assert "équipe IUT Talence : 1 éco-geste cette semaine" in sent[0].text
    (reply,) = await tg.reply_to(ALICE, "/act public_transport", chat=CAMPUS)
    assert "équipe IUT Talence : 2 éco-gestes cette semaine" in reply.text
    async with app.sessionmaker() as session:
        chats = set(await session.scalars(select(ActionLog.chat_id)))
    assert chats == {CAMPUS.id}


async def test_a_mis_tap_is_undone_everywhere_it_counted(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    challenge_id = await make_challenge(app, clock)
    (menu,) = await tg.reply_to(ALICE, "/act")
    async with app.sessionmaker() as session:
        await challenges.join_challenge(session, challenge_id, ALICE.id, clock.now())
        await session.commit()
    (listing,) = await tg.click(ALICE, menu, "Alimentation")
    (logged,) = await tg.click(ALICE, listing, "Repas végétarien")
    assert "1/3" in logged.text
    clock.advance(timedelta(minutes=5))
    (undone,) = await tg.click(ALICE, logged, tr.t("act.undo.button", "fr"))
    assert undone.method == "editMessageText"
    assert text("act.undo.done", "fr", action="Repas végétarien au lieu de viande") in undone.text
    assert text("act.my_week", "fr", actions=counted("count.eco_actions", 0), co2="0") in (
        undone.text
    )
    # No undo left on the message; what it counted is gone from /me and the challenge.
    assert tr.t("act.undo.button", "fr") not in str(buttons(undone))
    (me,) = await tg.reply_to(ALICE, "/me")
    assert (
        text(
            "me.text",
            "fr",
            week=counted("count.eco_actions", 0),
            week_co2="0",
            streak=counted("count.weeks", 0),
            total_actions=counted("count.eco_actions", 0),
            co2="0",
        )
        in me.text
    )
    assert await count(app, ActionLog) == 0
    assert await count(app, ChallengeWeek, ChallengeWeek.total > 0) == 0

    # Too late: a localized alert, the log stays, and the button goes.
    (reply,) = await tg.reply_to(ALICE, "/act veggie_meal")
    clock.advance(actions.UNDO_WINDOW + timedelta(seconds=1))
    since = tg.mark()
    (edited,) = await tg.click(ALICE, reply, tr.t("act.undo.button", "fr"))
    answer = next(c for c in tg.calls[since:] if c.method == "answerCallbackQuery")
    assert answer.params.get("show_alert") is True
    assert answer.params["text"] == text(
        "act.undo.too_late", "fr", minutes=counted("count.minutes", 15)
    )
    assert edited.method == "editMessageReplyMarkup"
    assert tr.t("act.undo.button", "fr") not in str(edited.params.get("reply_markup"))
    assert await count(app, ActionLog) == 1


async def test_in_a_group_only_the_author_undoes_a_log(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await _contest_with_team(tg, app)
    (told,) = await tg.reply_to(ALICE, "/act bike_trip", chat=CAMPUS)
    assert "équipe IUT Talence : 1 éco-geste cette semaine" in told.text
    # Bob's tap on Alice's line: refused, nothing moves.
    since = tg.mark()
    await tg.click(BOB, told, tr.t("act.undo.button", "fr"), count=0)
    await tg.wait_idle()
    answer = next(c for c in tg.calls[since:] if c.method == "answerCallbackQuery")
    assert answer.params["text"] == text("act.undo.gone", "en")
    assert await count(app, ActionLog) == 1
    (undone,) = await tg.click(ALICE, told, tr.t("act.undo.button", "fr"))
    assert undone.text == text(
        "act.undo.done_group", "fr", name="Alice", action="Vélo ou marche au lieu de la voiture"
    )
    assert await count(app, ActionLog) == 0
    assert await count(app, WeekTeamTotal) == 0


# ---------------------------------------------------------------- challenges


async def test_join_by_deep_link_and_see_progress_move(
    tg: BotApiStandIn, app_with_sender: RunningBot, clock: ManualClock
) -> None:
    app = app_with_sender
    challenge_id = await make_challenge(app, clock)
    _greeting, joined, detail = await tg.reply_to(ALICE, f"/start join_{challenge_id}", count=3)
    assert joined.text == text("challenges.joined", "fr")
    assert detail.method == "sendPhoto"
    assert "0/3 cette semaine" in detail.text
    assert await count(app, ChallengeParticipant) == 1

    (reply,) = await tg.reply_to(ALICE, "/act veggie_meal")
    assert "Semaine végé" in reply.text and "1/3 cette semaine" in reply.text
    (listing,) = await tg.reply_to(ALICE, "/challenges")
    assert "1/3 cette semaine" in listing.text
    assert "✅" in listing.text

    # Bob joins with the button of the detail view, and his log meets the pledge.
    (listing,) = await tg.reply_to(BOB, "/challenges")
    (detail,) = await tg.click(BOB, listing, "Semaine végé")
    (edited,) = await tg.click(BOB, detail, tr.t("challenges.button.join", "en"))
    assert edited.method == "editMessageCaption"
    assert text("challenges.you_are_in", "en") in edited.text
    await tg.reply_to(BOB, "/act vegan_meal")
    since = tg.mark()
    (reply,) = await tg.reply_to(ALICE, "/act vegan_meal")
    assert "3/3 cette semaine" in reply.text
    assert text("challenges.pledge_met_short", "fr") in reply.text
    # The organiser is told through the outbox, in their language, by the sender.
    (notice,) = await tg.wait_for("sendMessage", chat_id=ORGANISER.id, since=since)
    assert notice.text.startswith("🎉 Le défi « Semaine végé » a atteint son objectif")
    # Once a week: the next log does not tell the organiser again.
    await tg.reply_to(BOB, "/act veggie_meal")
    key = f"pledge:{challenge_id}:{week_of(clock.now(), app.settings.tz).isoformat()}"
    async with app.sessionmaker() as session:
        queued = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == ORGANISER.id)
            )
        )
    assert [(m.idempotency_key, m.kind) for m in queued] == [(key, "pledge.met")]
    await tg.wait_idle()
    assert [c for c in tg.calls if c.method == "sendMessage" and c.chat_id == ORGANISER.id] == [
        notice
    ]
    # Leaving keeps what was logged.
    (listing,) = await tg.reply_to(ALICE, "/challenges")
    (detail,) = await tg.click(ALICE, listing, "Semaine végé")
    assert "Meilleurs contributeurs" in detail.text
    assert "2 personnes anonymes : 4 éco-gestes" in detail.text
    (edited,) = await tg.click(ALICE, detail, tr.t("challenges.button.leave", "fr"))
    assert text("challenges.button.join", "fr") in str(buttons(edited))
    assert await count(app, ChallengeParticipant) == 1


async def test_progress_picture_is_a_small_localized_png(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock, tmp_path: Path
) -> None:
    challenge_id = await make_challenge(app, clock)
    pictures: dict[str, bytes] = {}
    for user, locale in ((ALICE, "fr"), (BOB, "en")):
        await tg.reply_to(user, "/act veggie_meal")
        (*_, detail) = await tg.reply_to(user, f"/start join_{challenge_id}", count=3)
        assert detail.method == "sendPhoto"
        pictures[locale] = detail.files["photo"]
    for locale, content in pictures.items():
        assert content.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(content) < 200_000
        with Image.open(io.BytesIO(content)) as image:
            assert image.format == "PNG"
            assert image.width == 1080
        (tmp_path / f"challenge-{locale}.png").write_bytes(content)
    assert pictures["fr"] != pictures["en"]


async def test_week_rollover_archives_and_starts_at_zero(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    challenge_id = await make_challenge(app, clock, pledge=None)
    await tg.reply_to(ALICE, f"/start join_{challenge_id}", count=3)
    await tg.reply_to(ALICE, "/act veggie_meal")
    await tg.reply_to(ALICE, "/act vegan_meal")
    # Sunday 23:59 in Paris: still this week.
    clock.set(datetime(2026, 1, 11, 22, 59, tzinfo=UTC))
    (listing,) = await tg.reply_to(ALICE, "/challenges")
    assert "2/3 cette semaine" in listing.text
    # Monday 00:00 in Paris: the new week starts at 0, last week is archived.
    clock.advance(timedelta(minutes=1))
    (listing,) = await tg.reply_to(ALICE, "/challenges")
    assert "0/3 cette semaine" in listing.text
    async with app.sessionmaker() as session:
        weeks = list(
            await session.scalars(select(ChallengeWeek).order_by(ChallengeWeek.week_start))
        )
    assert [(w.week_start, w.total, w.archived_at is not None) for w in weeks] == [
        (date(2026, 1, 5), 2, True),
        (date(2026, 1, 12), 0, False),
    ]
    (me,) = await tg.reply_to(ALICE, "/me")
    assert text(
        "me.text",
        "fr",
        week=counted("count.eco_actions", 0),
        week_co2="0",
        streak=counted("count.weeks", 1),
        total_actions=counted("count.eco_actions", 2),
        co2="7,9",
    ) in (me.text)


# ---------------------------------------------------------------- contests and teams


async def _contest_with_team(tg: BotApiStandIn, app: RunningBot) -> str:
    """The organiser creates a contest by /contest; ALICE, admin of CAMPUS, registers it."""
    (listing,) = await tg.reply_to(ORGANISER, "/contest")
    assert text("contest.none", "fr") in listing.text
    (ask,) = await tg.click(ORGANISER, listing, tr.t("contest.button.new", "fr"))
    assert ask.text == text("contest.ask_name", "fr")
    (created,) = await tg.reply_to(ORGANISER, "Mets ton campus à l'an vert")
    code = re.search(r"/team ([A-Z0-9]{6})", created.text)
    assert code is not None
    tg.set_chat_member(CAMPUS.id, ALICE.id, "administrator")
    (registered,) = await tg.reply_to(ALICE, f"/team {code.group(1).lower()}", chat=CAMPUS)
    assert registered.text.startswith("✅ Ce groupe est maintenant l'équipe IUT Talence")
    await tg.click(ALICE, registered, tr.t("team.button.join", "fr"), count=0)
    return code.group(1)


async def test_team_registration_and_private_logs_count_for_the_team(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    code = await _contest_with_team(tg, app)
    # A plain member cannot register another group.
    tg.set_chat_member(OTHER_GROUP.id, BOB.id, "member")
    (refused,) = await tg.reply_to(BOB, f"/team {code}", chat=OTHER_GROUP)
    assert refused.text == text("team.admin_only", "en")
    assert await count(app, Team) == 1
    # Bob joins the team with the group's button; his private logs count for it.
    (status,) = await tg.reply_to(BOB, "/team", chat=CAMPUS)
    assert "IUT Talence" in status.text
    since = tg.mark()
    await tg.click(BOB, status, tr.t("team.button.join", "en"), count=0)
    answer = next(c for c in tg.calls[since:] if c.method == "answerCallbackQuery")
    assert answer.params["text"] == text("team.joined", "en", team="IUT Talence")
    (reply,) = await tg.reply_to(BOB, "/act bike_trip")
    assert (
        text(
            "act.team_line", "en", team="IUT Talence", actions=counted("count.eco_actions", 1, "en")
        )
        in reply.text
    )
    # Joining again is harmless; the deep link shows the team card.
    _greeting, card = await tg.reply_to(BOB, "/start team_1", count=2)
    assert "IUT Talence" in card.text and "2 members" in card.text
    (board,) = await tg.reply_to(BOB, "/leaderboard", chat=CAMPUS)
    assert "1. IUT Talence — 1.0 per active member (1 eco-action, 1 active)" in board.text
    assert await count(app, TeamMember) == 2


async def test_one_team_per_contest_by_buttons(tg: BotApiStandIn, app: RunningBot) -> None:
    code = await _contest_with_team(tg, app)
    tg.set_chat_member(OTHER_GROUP.id, BOB.id, "creator")
    (registered,) = await tg.reply_to(BOB, f"/team {code}", chat=OTHER_GROUP)
    since = tg.mark()
    # The group message speaks Bob's language; Alice's answer speaks hers.
    await tg.click(ALICE, registered, tr.t("team.button.join", "en"), count=0)
    answer = next(c for c in tg.calls[since:] if c.method == "answerCallbackQuery")
    assert answer.params["text"] == text("team.other_team", "fr", team="IUT Talence")
    assert await count(app, TeamMember, TeamMember.user_id == ALICE.id) == 1


async def test_leave_a_team_from_private_then_join_another(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    code = await _contest_with_team(tg, app)
    tg.set_chat_member(OTHER_GROUP.id, BOB.id, "creator")
    (registered,) = await tg.reply_to(BOB, f"/team {code}", chat=OTHER_GROUP)
    (reply,) = await tg.reply_to(ALICE, "/act bike_trip")
    assert "IUT Talence" in reply.text
    # A forged leave for a team Bob is not in changes nothing.
    answer = await alert(tg, BOB, "tx:1")
    assert answer == text("team.not_member", "en", team="IUT Talence")
    assert await count(app, TeamMember, TeamMember.user_id == ALICE.id) == 1
    answer = await alert(tg, BOB, "tx:999")
    assert answer == text("team.gone", "en")
    # In private, /team lists Alice's team with a leave button.
    (mine,) = await tg.reply_to(ALICE, "/team")
    assert text("team.mine", "fr") in mine.text and "IUT Talence" in mine.text
    since = tg.mark()
    (edited,) = await tg.click(ALICE, mine, tr.t("team.button.leave", "fr", team="IUT Talence"))
    toast = next(c for c in tg.calls[since:] if c.method == "answerCallbackQuery")
    assert toast.params["text"] == text("team.left", "fr", team="IUT Talence")
    assert edited.text == text("team.none", "fr")
    assert await count(app, TeamMember, TeamMember.user_id == ALICE.id) == 0
    # What she logged stays in the team's week; she can now join the other team.
    assert await count(app, WeekTeamTotal, WeekTeamTotal.actions == 1) == 1
    since = tg.mark()
    await tg.click(ALICE, registered, tr.t("team.button.join", "en"), count=0)
    joined = next(c for c in tg.calls[since:] if c.method == "answerCallbackQuery")
    assert joined.params["text"] == text("team.joined", "fr", team="Fac de Pessac")
    assert await count(app, TeamMember, TeamMember.user_id == ALICE.id) == 1


async def test_leaderboard_ranks_teams_per_active_member(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    now = clock.now()
    tz = app.settings.tz
    async with app.sessionmaker() as session:
        contest = await contests.create_contest(
            session, "Campus", ORGANISER.id, app.settings.organiser_ids, now
        )
        big, _, _ = await contests.register_team(session, contest.join_code, -1, "Big", 1, now)
        small, _, _ = await contests.register_team(session, contest.join_code, -2, "Small", 1, now)
        await session.commit()
    # Big: three members, two actions each; Small: Clara alone, three actions.
    for user in (ALICE, BOB, TgUser(id=2010, first_name="Dan")):
        await tg.reply_to(user, "/start")
        async with app.sessionmaker() as session:
            await contests.join_team(session, big.id, user.id, now)
            for slug in ("bike_trip", "public_transport"):
                await actions.log_action(
                    session, user_id=user.id, slug=slug, chat_id=user.id, now=now, tz=tz
                )
            await session.commit()
    await tg.reply_to(CLARA, "/start")
    async with app.sessionmaker() as session:
        await contests.join_team(session, small.id, CLARA.id, now)
        for slug in ("bike_trip", "public_transport", "veggie_meal"):
            await actions.log_action(
                session, user_id=CLARA.id, slug=slug, chat_id=CLARA.id, now=now, tz=tz
            )
        await actions.set_show_name(session, CLARA.id, True)
        await session.commit()
    (board,) = await tg.reply_to(ALICE, "/leaderboard")
    lines = board.text.splitlines()
    assert text("leaderboard.per_member_note", "fr") in lines
    small_line = lines.index("1. Small — 3,0 par membre actif (3 éco-gestes, 1 actif)")
    big_line = lines.index("2. Big — 2,0 par membre actif (6 éco-gestes, 3 actifs)")
    assert small_line < big_line
    assert "Votre équipe Big : rang 2 sur 2" in lines
    # People: Clara agreed to be named, the others are anonymous.
    assert "🥇 Clara — 3" in lines
    assert lines.count("🥈 Personne anonyme — 2") == 3
    assert (
        text("leaderboard.my_rank", "fr", rank=2, people=4, actions=counted("count.eco_actions", 2))
        in lines
    )


# ---------------------------------------------------------------- organisers


async def test_organiser_commands_refuse_others(tg: BotApiStandIn, app: RunningBot) -> None:
    for command in ("/stats", "/export", "/contest", "/newchallenge"):
        (reply,) = await tg.reply_to(BOB, command)
        assert reply.text == text("organisers.only", "en")
        # Not in a group either, not even for an organiser.
        (reply,) = await tg.reply_to(ORGANISER, command, chat=CAMPUS)
        assert reply.text == text("organisers.private_only", "fr")


async def test_newchallenge_wizard(tg: BotApiStandIn, app: RunningBot) -> None:
    (ask,) = await tg.reply_to(ORGANISER, "/newchallenge")
    assert "(1/7)" in ask.text
    (reply,) = await tg.reply_to(ORGANISER, "x" * 200)
    assert reply.text == text("newchallenge.bad_title", "fr", limit=80)
    (ask,) = await tg.reply_to(ORGANISER, "Vélo <b>au</b> campus")
    (categories,) = await tg.click(ORGANISER, ask, tr.t("newchallenge.button.skip", "fr"))
    # Done without a category: refused, the step stays.
    since = tg.mark()
    await tg.click(ORGANISER, categories, tr.t("newchallenge.button.done", "fr"), count=0)
    answer = next(c for c in tg.calls[since:] if c.method == "answerCallbackQuery")
    assert answer.params["text"] == text("newchallenge.no_category", "fr")
    (ticked,) = await tg.click(ORGANISER, categories, "Transports")
    assert "✅ 🚲 Transports" in str(buttons(ticked))
    (ask_target,) = await tg.click(ORGANISER, categories, tr.t("newchallenge.button.done", "fr"))
    assert "(4/7)" in ask_target.text
    (reply,) = await tg.reply_to(ORGANISER, "beaucoup")
    assert reply.text == text("newchallenge.bad_target", "fr", limit=1_000_000)
    (scope,) = await tg.reply_to(ORGANISER, "150")
    (pledge,) = await tg.click(ORGANISER, scope, tr.t("newchallenge.scope.everyone", "fr"))
    assert "(6/7)" in pledge.text
    (end,) = await tg.reply_to(ORGANISER, "Un parking vélo de plus")
    (reply,) = await tg.reply_to(ORGANISER, "31/02/2026")
    assert reply.text == text("newchallenge.bad_end", "fr")
    (preview,) = await tg.click(ORGANISER, end, "4 sem.")
    assert "Vélo <b>au</b> campus" in preview.text
    assert "Objectif : 150 éco-gestes par semaine" in preview.text
    assert "Jusqu'au : 1 février 2026" in preview.text
    (created,) = await tg.click(ORGANISER, preview, tr.t("newchallenge.button.create", "fr"))
    assert "https://t.me/greenhood_test_bot?start=join_1" in created.text
    async with app.sessionmaker() as session:
        challenge = await session.get(Challenge, 1)
    assert challenge is not None
    assert challenge.title == "Vélo <b>au</b> campus"
    assert challenge.pledge == "Un parking vélo de plus"
    assert "bike_trip" in challenge.action_slugs and "veggie_meal" not in challenge.action_slugs
    (reply,) = await tg.reply_to(ORGANISER, "/act bike_trip")
    assert "Vélo <b>au</b> campus" not in reply.text  # the organiser has not joined it


async def test_export_rows_add_up_to_stats(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await _contest_with_team(tg, app)
    challenge_id = await make_challenge(app, clock)
    await tg.reply_to(BOB, f"/start join_{challenge_id}", count=3)
    await tg.reply_to(ALICE, "/act bike_trip")
    await tg.reply_to(BOB, "/act veggie_meal")
    clock.advance(timedelta(days=7))
    await tg.reply_to(ALICE, "/act train_not_car", chat=CAMPUS)
    await tg.reply_to(BOB, "/act veggie_meal")
    (stats,) = await tg.reply_to(ORGANISER, "/stats")
    assert "Éco-gestes notés : 4 (dont 2 cette semaine)" in stats.text
    assert "CO2e évité (estimation) : 27,9 kg" in stats.text
    assert "• Semaine végé : 1/3 cette semaine · 1 participant" in stats.text
    documents = await tg.reply_to(ORGANISER, "/export", count=3)
    files = {
        call.result["document"]["file_name"]: call.files["document"].decode("utf-8-sig")
        for call in documents
    }
    # The organiser reads French: columns split on ";" and decimal commas, which is what
    # French spreadsheet programs read (with "," the whole file sat in one column).
    assert files["action_log.csv"].splitlines()[0].count(";") == 7
    log = list(csv.DictReader(io.StringIO(files["action_log.csv"]), delimiter=";"))
    assert len(log) == 4
    assert sum(float(row["co2e_kg"].replace(",", ".")) for row in log) == pytest.approx(27.9)
    assert any("," in row["co2e_kg"] for row in log)
    assert {row["logged_in"] for row in log} == {"private", "group"}
    assert len({row["person"] for row in log}) == 2
    assert not any(
        str(ALICE.id) in line or str(BOB.id) in line
        for line in files["action_log.csv"].splitlines()
    )
    progress = list(csv.DictReader(io.StringIO(files["challenge_progress.csv"]), delimiter=";"))
    assert [(row["week_start"], row["total"], row["week_status"]) for row in progress] == [
        ("2026-01-05", "1", "archived"),
        ("2026-01-12", "1", "in progress"),
    ]
    standings = list(csv.DictReader(io.StringIO(files["contest_standings.csv"]), delimiter=";"))
    assert [(row["week_start"], row["actions"]) for row in standings] == [
        ("2026-01-05", "1"),
        ("2026-01-12", "1"),
    ]
    assert sum(int(row["actions"]) for row in standings) == sum(1 for row in log if row["team_ids"])


# ---------------------------------------------------------------- forged callbacks


async def test_forged_callbacks_change_nothing(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await _contest_with_team(tg, app)
    async with app.sessionmaker() as session:
        contest = await session.scalar(select(Contest))
        team = await session.scalar(select(Team))
    assert contest is not None and team is not None
    challenge_id = await make_challenge(app, clock)
    await tg.reply_to(ALICE, f"/start join_{challenge_id}", count=3)
    await tg.reply_to(BOB, "/start")

    # A non-organiser closing a contest.
    assert await alert(tg, BOB, f"co:ccl:{contest.id}") == text("organisers.only", "en")
    # Another person's "leave" button acts on the presser only.
    assert await alert(tg, BOB, f"ch:l:{challenge_id}") == text("challenges.not_in", "en")
    assert await count(app, ChallengeParticipant, ChallengeParticipant.user_id == ALICE.id) == 1
    # An action that does not exist, a challenge that does not exist.
    assert await alert(tg, BOB, "al:999") == text("fallback.stale_button", "en")
    assert await alert(tg, BOB, "ch:j:424242") == text("challenges.gone", "en")
    # A wizard button without a wizard, even from an organiser.
    assert await alert(tg, ORGANISER, "cw:ok:0") == text("fallback.stale_button", "fr")
    assert await alert(tg, BOB, "cw:ok:0") == text("organisers.only", "en")
    # A non-organiser deleting a challenge.
    assert await alert(tg, BOB, f"ch:dd:{challenge_id}") == text("organisers.only", "en")
    assert await count(app, Challenge, Challenge.deleted_at.is_(None)) == 1

    # A deleted challenge.
    async with app.sessionmaker() as session:
        await challenges.delete_challenge(
            session, challenge_id, ORGANISER.id, app.settings.organiser_ids, clock.now()
        )
        await session.commit()
    assert await alert(tg, BOB, f"ch:j:{challenge_id}") == text("challenges.gone", "en")
    assert await count(app, ChallengeParticipant, ChallengeParticipant.user_id == BOB.id) == 0
    # A closed contest.
    async with app.sessionmaker() as session:
        await contests.close_contest(
            session, contest.id, ORGANISER.id, app.settings.organiser_ids, clock.now()
        )
        await session.commit()
    assert await alert(tg, BOB, f"tj:{team.id}") == text("team.contest_closed", "en")
    assert await alert(tg, ORGANISER, f"co:ccl:{contest.id}") == text(
        "contest.already_closed", "fr"
    )
    assert await count(app, TeamMember) == 1
    async with app.sessionmaker() as session:
        status = await session.scalar(select(Contest.status))
    assert status is ContestStatus.CLOSED
    # Nothing Telegram would refuse was sent.
    assert all(c.ok for c in tg.calls if c.method != "getUpdates"), [
        c for c in tg.calls if not c.ok
    ]


async def test_a_contest_challenge_leads_outsiders_to_their_team_and_counts_the_week(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    """Issue 17: a contest challenge was a dead end for everyone outside a team (the
    organiser included). Outsiders are told what would let them in; the organiser's view
    offers no join that would refuse; a person who joins mid-week keeps their week."""
    await _contest_with_team(tg, app)
    async with app.sessionmaker() as session:
        contest = (await session.scalars(select(Contest))).one()
    challenge_id = await make_challenge(
        app, clock, scope=ChallengeScope.CONTEST, contest_id=contest.id, pledge=None
    )
    # Bob, in no team, opens the link: told how to get in, not just "no".
    _greeting, why = await tg.reply_to(BOB, f"/start join_{challenge_id}", count=2)
    assert why.text == text(
        "challenges.not_eligible.contest", "en", contest="Mets ton campus à l'an vert"
    )
    # The organiser sees it among all challenges, without a join button.
    (listing,) = await tg.reply_to(ORGANISER, "/challenges")
    (detail,) = await tg.click(ORGANISER, listing, "Semaine végé")
    labels = [label for row in buttons(detail) for label, _ in row]
    assert tr.t("challenges.button.join", "fr") not in labels
    assert text("challenges.not_for_you", "fr") in detail.text
    # Bob logs twice, then joins the team, then the challenge: his week counts.
    await tg.reply_to(BOB, "/act veggie_meal")
    await tg.reply_to(BOB, "/act veggie_meal")
    (status,) = await tg.reply_to(BOB, "/team", chat=CAMPUS)
    await tg.click(BOB, status, tr.t("team.button.join", "en"), count=0)
    _greeting, joined, _detail = await tg.reply_to(BOB, f"/start join_{challenge_id}", count=3)
    assert text("challenges.joined", "en") in joined.text
    assert (
        text("challenges.earlier_counted", "en", actions=counted("count.eco_actions", 2, "en"))
        in joined.text
    )
    async with app.sessionmaker() as session:
        total = await session.scalar(
            select(ChallengeWeek.total).where(ChallengeWeek.challenge_id == challenge_id)
        )
    assert total == 2
    # Leaving and joining again adds nothing twice.
    async with app.sessionmaker() as session:
        assert await challenges.leave_challenge(session, challenge_id, BOB.id, clock.now())
        assert await challenges.join_challenge(session, challenge_id, BOB.id, clock.now())
        again = await challenges.count_earlier_logs(
            session, challenge_id, BOB.id, clock.now(), app.settings.tz
        )
        await session.commit()
    assert again.counted == 0
