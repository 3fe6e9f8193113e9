"""The scheduled nudges and the Sunday team recap: rendered in each recipient's language
and queued in the outbox (the sender delivers them). What is due, to whom, and the
catch-up rules are in bot/services/weekly_nudges.py; the jobs calling these are in
bot/worker/jobs.py.

Every person-directed nudge goes through `nudges.enqueue_nudge` (time zone, quiet hours,
daily cap, opt-out, snooze, blocked people) and carries the snooze button. A team group
is not a person: its recap only goes through the outbox (20 a minute per group pacing).

Each queued nudge is committed on its own, so a tick interrupted half-way keeps what it
queued, and the next tick queues the rest (keys already in the outbox are skipped).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.settings import Settings
from bot.core.weeks import week_of
from bot.services import nudges, outbox
from bot.services import weekly_nudges as plan
from bot.services.actions import index_of
from bot.services.catalogue import default_catalogue
from bot.services.nudges import NudgeKind
from bot.services.outbox import Priority
from bot.ui.callbacks.actions import ActLogCb, ChallengeAction, ChallengeCb
from bot.ui.formatting import escape, progress_bar
from bot.ui.i18n import Translator
from bot.ui.keyboards import snooze_row
from bot.ui.notices.recipients import locale_of
from bot.ui.pictures import PictureTexts, progress_picture
from bot.ui.views.actions import counted, kg, long_date, number
from models import User

logger = logging.getLogger(__name__)

RECAP_KIND = "team.recap"


@dataclass(frozen=True, slots=True)
class Env:
    sessionmaker: async_sessionmaker[AsyncSession]
    translator: Translator
    settings: Settings


# --------------------------------------------------------------------------- rendering


def _lines(
    translator: Translator, locale: str, lines: list[plan.ChallengeLine], key: str
) -> list[str]:
    return [
        translator.t(
            key,
            locale,
            title=escape(line.title),
            bar=progress_bar(line.total / line.target),
            total=number(line.total, locale),
            target=number(line.target, locale),
        )
        for line in lines
    ]


def _action_buttons(translator: Translator, locale: str, slugs: list[str]) -> list[dict[str, Any]]:
    catalogue = default_catalogue()
    buttons = []
    for slug in slugs:
        action = catalogue.by_slug(slug)
        if action is None:
            continue
        buttons.append(
            {
                "text": action.title(locale),
                "callback_data": ActLogCb(index=index_of(action, catalogue)).pack(),
            }
        )
    return buttons


def _pairs(buttons: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _challenges_button(translator: Translator, locale: str) -> dict[str, Any]:
    return {
        "text": translator.t("nudges.button.challenges", locale),
        "callback_data": ChallengeCb(action=ChallengeAction.LIST, id=0).pack(),
    }


def _challenges_and_snooze(translator: Translator, locale: str) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [_challenges_button(translator, locale)],
            snooze_row(translator, locale),
        ]
    }


def render_kickoff(
    translator: Translator, locale: str, user: User, kickoff: plan.KickoffPlan
) -> tuple[str, dict[str, Any]]:
    parts = [translator.t("nudges.kickoff.text", locale, name=escape(user.first_name))]
    if kickoff.joined:
        parts.append(translator.t("nudges.kickoff.joined", locale))
        parts.extend(_lines(translator, locale, kickoff.joined, "nudges.challenge_line"))
    if kickoff.joinable:
        parts.append(translator.t("nudges.kickoff.joinable", locale))
        parts.extend(_lines(translator, locale, kickoff.joinable, "nudges.challenge_line"))
    return "\n".join(parts), _challenges_and_snooze(translator, locale)


def render_midweek(
    translator: Translator, locale: str, user: User, midweek: plan.MidweekPlan
) -> tuple[str, dict[str, Any]]:
    parts = [translator.t("nudges.midweek.text", locale, name=escape(user.first_name))]
    parts.extend(_lines(translator, locale, midweek.challenges, "nudges.challenge_line"))
    parts.append(translator.t("nudges.midweek.tap", locale))
    rows = _pairs(_action_buttons(translator, locale, midweek.action_slugs))
    return "\n".join(parts), {"inline_keyboard": [*rows, snooze_row(translator, locale)]}


def render_summary(
    translator: Translator, locale: str, user: User, summary: plan.SummaryPlan
) -> tuple[str, dict[str, Any]]:
    if summary.actions:
        head = translator.t(
            "nudges.summary.text",
            locale,
            name=escape(user.first_name),
            actions=counted("count.eco_actions", summary.actions, locale, translator),
            co2=kg(summary.co2e_g, locale),
        )
    else:
        head = translator.t("nudges.summary.nothing", locale, name=escape(user.first_name))
    parts = [head]
    if summary.challenges:
        parts.append(translator.t("nudges.summary.challenges", locale))
        parts.extend(_lines(translator, locale, summary.challenges, "nudges.challenge_line"))
    return "\n".join(parts), _challenges_and_snooze(translator, locale)


def render_milestone(
    translator: Translator, locale: str, milestone: plan.Milestone
) -> tuple[str, dict[str, Any]]:
    line = milestone.challenge
    key = "nudges.milestone.done" if milestone.threshold >= 100 else "nudges.milestone.text"
    text = translator.t(
        key,
        locale,
        title=escape(line.title),
        percent=milestone.threshold,
        total=number(line.total, locale),
        target=number(line.target, locale),
    )
    view = {
        "text": translator.t("nudges.button.view", locale),
        "callback_data": ChallengeCb(action=ChallengeAction.VIEW, id=line.id).pack(),
    }
    return text, {"inline_keyboard": [[view], snooze_row(translator, locale)]}


def render_recap(translator: Translator, locale: str, recap: plan.TeamRecap) -> str:
    return translator.t(
        "nudges.recap.text",
        locale,
        team=escape(recap.team_name),
        contest=escape(recap.contest_name),
        actions=counted("count.eco_actions", recap.actions, locale, translator),
        co2=kg(recap.co2e_g, locale),
        active=counted("count.active", recap.active_members, locale, translator),
        members=counted("count.members", recap.members, locale, translator),
    )


def recap_picture(translator: Translator, locale: str, recap: plan.TeamRecap) -> bytes:
    """The team's week drawn by the challenges' progress-picture renderer: the bar is the
    share of members who logged something this week."""
    fraction = recap.active_members / recap.members if recap.members else 0.0
    texts = PictureTexts(
        brand=translator.t("nudges.recap.picture_brand", locale),
        title=recap.team_name,
        week=translator.t("picture.week", locale, date=long_date(recap.week, locale)),
        count=number(recap.actions, locale),
        unit=translator.t("nudges.recap.picture_unit", locale, co2=kg(recap.co2e_g, locale)),
        percent=translator.t(
            "nudges.recap.picture_active",
            locale,
            active=recap.active_members,
            members=recap.members,
        ),
    )
    return progress_picture(texts, fraction)


# --------------------------------------------------------------------------- queuing


async def _enqueue(
    session: AsyncSession,
    env: Env,
    user: User,
    kind: NudgeKind,
    key: str,
    now: datetime,
    rendered: tuple[str, dict[str, Any]],
    *,
    same_day: bool = False,
) -> bool:
    text, markup = rendered
    if same_day:
        # A weekly kind is for its day: one that quiet hours would push to the next
        # morning (a tick late in the evening) is not sent at all.
        zone = nudges.user_zone(user, env.settings.timezone)
        prefs = await nudges.load_prefs(session, user.id)
        deliver_at = nudges.delivery_time(prefs, now, zone)
        if deliver_at.astimezone(zone).date() != now.astimezone(zone).date():
            return False
    decision = await nudges.enqueue_nudge(
        session,
        user,
        kind,
        text=text,
        key=key,
        now=now,
        default_timezone=env.settings.timezone,
        reply_markup=markup,
    )
    # One commit per nudge: an interrupted tick keeps what it queued.
    await session.commit()
    return decision.allowed


async def queue_weekly(env: Env, now: datetime) -> int:
    """Queue the kick-offs, mid-week nudges and summaries due now; returns how many."""
    queued = 0
    async with env.sessionmaker() as session:
        groups = await plan.due_zone_groups(session, now, env.settings.timezone)
    for group in groups:
        for kind in group.kinds:
            queued += await _queue_kind(env, now, group, kind)
    return queued


async def _queue_kind(env: Env, now: datetime, group: plan.ZoneGroup, kind: NudgeKind) -> int:
    translator = env.translator
    # The person's local week names the nudge; it is also the challenges' week here (a
    # weekday evening or morning falls in the same Monday-to-Sunday week in any zone
    # close enough to the configured one to share its challenges).
    week = week_of(now, group.zone)
    async with env.sessionmaker() as session:
        people = await plan.people_in(session, group.names)
        keys = {p.id: plan.nudge_key(kind, p.id, week) for p in people}
        done = await plan.existing_keys(session, list(keys.values()))
        todo = [p for p in people if keys[p.id] not in done]
        if not todo:
            return 0
        ids = [p.id for p in todo]
        queued = 0
        if kind is NudgeKind.KICKOFF:
            kickoffs = await plan.kickoff_plans(session, ids, now, env.settings.tz)
            for person in todo:
                if (kickoff := kickoffs.get(person.id)) is not None:
                    locale = locale_of(translator, person)
                    rendered = render_kickoff(translator, locale, person, kickoff)
                    queued += await _enqueue(
                        session, env, person, kind, keys[person.id], now, rendered, same_day=True
                    )
        elif kind is NudgeKind.MIDWEEK:
            midweeks = await plan.midweek_plans(session, ids, now, env.settings.tz)
            for person in todo:
                if (midweek := midweeks.get(person.id)) is not None:
                    locale = locale_of(translator, person)
                    rendered = render_midweek(translator, locale, person, midweek)
                    queued += await _enqueue(
                        session, env, person, kind, keys[person.id], now, rendered, same_day=True
                    )
        elif kind is NudgeKind.SUMMARY:
            summaries = await plan.summary_plans(session, ids, week)
            for person in todo:
                if (summary := summaries.get(person.id)) is not None:
                    locale = locale_of(translator, person)
                    rendered = render_summary(translator, locale, person, summary)
                    queued += await _enqueue(
                        session, env, person, kind, keys[person.id], now, rendered, same_day=True
                    )
    return queued


async def queue_milestones(env: Env, now: datetime) -> int:
    queued = 0
    async with env.sessionmaker() as session:
        found = await plan.milestones(session, now, env.settings.tz)
        for milestone in found:
            keys = {p.id: plan.milestone_key(p.id, milestone) for p in milestone.participants}
            done = await plan.existing_keys(session, list(keys.values()))
            for person in milestone.participants:
                if keys[person.id] in done:
                    continue
                locale = locale_of(env.translator, person)
                rendered = render_milestone(env.translator, locale, milestone)
                queued += await _enqueue(
                    session, env, person, NudgeKind.MILESTONE, keys[person.id], now, rendered
                )
    return queued


async def queue_team_recaps(env: Env, now: datetime) -> int:
    """Sunday evening (configured time zone): each team group of an open contest gets its
    week's recap with a picture, once per week."""
    settings = env.settings
    if not plan.is_due(plan.RECAP_SLOT, now, settings.tz):
        return 0
    locale = settings.default_language
    queued = 0
    async with env.sessionmaker() as session:
        recaps = await plan.team_recaps(session, now, settings.tz)
        keys = {r.team_id: plan.recap_key(r.team_id, r.week) for r in recaps}
        done = await plan.existing_keys(session, list(keys.values()))
        for recap in recaps:
            key = keys[recap.team_id]
            if key in done:
                continue
            # Drawing takes ~100 ms of CPU: off the event loop.
            picture = await asyncio.to_thread(recap_picture, env.translator, locale, recap)
            blob_id = await outbox.create_blob(session, picture, now, f"recap-{recap.team_id}.png")
            rows = _pairs(_action_buttons(env.translator, locale, recap.action_slugs))
            queued += await outbox.enqueue(
                session,
                chat_id=recap.chat_id,
                kind=RECAP_KIND,
                text=render_recap(env.translator, locale, recap),
                key=key,
                now=now,
                photo_blob_id=blob_id,
                reply_markup={"inline_keyboard": rows},
                priority=Priority.NUDGE,
            )
            await session.commit()
    return queued
