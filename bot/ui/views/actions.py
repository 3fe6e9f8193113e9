"""Texts and keyboards of eco-actions, challenges, teams and leaderboards: layout only.

Everything is rendered in the language of the update being handled (`t`), except the
few texts addressed to someone else, which take a translator and a locale. User-supplied
text (titles, names, pledges) is escaped here, at the one place it enters HTML.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, format_decimal, parse_pattern

from bot.services.actions import LogResult, MyFigures, Undone, index_of
from bot.services.catalogue import ActionCategory, Catalogue, EcoAction, default_catalogue
from bot.services.challenges import ChallengeView, Contributors, NotEligibleError
from bot.services.contests import Membership
from bot.services.deeplinks import DeepLink, DeepLinkKind
from bot.services.leaderboard import Leaderboard
from bot.ui.callbacks.actions import (
    ActCategoryCb,
    ActLogCb,
    ActNameCb,
    ActNav,
    ActNavCb,
    ActUndoCb,
    ChallengeAction,
    ChallengeCb,
    NameChoice,
    TeamJoinCb,
    TeamLeaveCb,
)
from bot.ui.formatting import babel_locale, escape, progress_bar, truncate
from bot.ui.i18n import Translator, current_translator, per_locale, t
from bot.ui.pictures import PictureTexts
from bot.ui.views.share import share_button
from models import Challenge, ChallengeScope

LIST_PLEDGE_LIMIT = 120
CAPTION_DESCRIPTION_LIMIT = 250
MEDALS = ("🥇", "🥈", "🥉")


@functools.cache
def _number_format(pattern: str, locale: str) -> tuple[NumberPattern, Locale]:
    """Babel's pattern and locale, parsed once: parsing them again at every number took
    two thirds of formatting it (26 µs against 9)."""
    return parse_pattern(pattern), Locale.parse(locale)


def kg(grams: int, locale: str) -> str:
    return number(Decimal(grams) / 1000, locale, "#,##0.###" if grams < 1000 else "#,##0.#")


def counted(
    key: str, count: int, locale: str | None = None, translator: Translator | None = None
) -> str:
    """ "3 éco-gestes": a number of things, in the plural form that fits (locales/*/plurals.po
    `count.*` keys), the number formatted for `locale` (the update's language if None)."""
    translator = translator or current_translator()
    locale = locale or translator.current_locale
    return translator.tn(key, count, locale, count=number(count, locale))


def number(value: float | Decimal, locale: str, pattern: str = "#,##0") -> str:
    parsed, babel = _number_format(pattern, locale)
    return format_decimal(value, format=parsed, locale=babel)


def long_date(day: date, locale: str) -> str:
    return format_date(day, format="long", locale=babel_locale(locale))


def category_label(category: ActionCategory) -> str:
    return t(f"act.category.{category.value}")


# ---------------------------------------------------------------- /act


# The /act keyboards are the same for everyone in a language: built once each (a keyboard
# costs more to build than the rest of a tap on it), never modified afterwards.
@per_locale
def categories_keyboard(catalogue: Catalogue | None = None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in (catalogue or default_catalogue()).categories():
        builder.button(
            text=category_label(category), callback_data=ActCategoryCb(category=category)
        )
    builder.adjust(2)
    return builder.as_markup()


@per_locale
def actions_keyboard(
    category: ActionCategory, locale: str, catalogue: Catalogue | None = None
) -> InlineKeyboardMarkup:
    catalogue = catalogue or default_catalogue()
    builder = InlineKeyboardBuilder()
    for action in catalogue.in_category(category):
        builder.button(
            text=action.title(locale), callback_data=ActLogCb(index=index_of(action, catalogue))
        )
    builder.button(text=t("act.back"), callback_data=ActNavCb(to=ActNav.CATEGORIES))
    builder.adjust(1)
    return builder.as_markup()


def after_log_keyboard(undo_log_id: int | None = None) -> InlineKeyboardMarkup:
    """`undo_log_id`: the log just made, which a mis-tap can take back."""
    builder = InlineKeyboardBuilder()
    if undo_log_id:
        builder.button(text=t("act.undo.button"), callback_data=ActUndoCb(log_id=undo_log_id))
    builder.button(text=t("act.again"), callback_data=ActNavCb(to=ActNav.AGAIN))
    builder.button(
        text=t("challenges.button.all"),
        callback_data=ChallengeCb(action=ChallengeAction.LIST, id=0),
    )
    builder.adjust(1)
    return builder.as_markup()


def challenge_line(view: ChallengeView, locale: str) -> str:
    challenge = view.challenge
    line = t(
        "challenges.progress_line",
        title=escape(challenge.title),
        bar=progress_bar(view.fraction),
        total=number(view.week_total, locale),
        target=number(challenge.weekly_target, locale),
    )
    if challenge.pledge and view.pledge_met:
        line += "\n" + t("challenges.pledge_met_short")
    return line


def log_text(result: LogResult, locale: str) -> str:
    action = result.action
    parts = [
        t(
            "act.logged",
            action=escape(action.title(locale)),
            co2=kg(result.co2e_g, locale),
            unit=escape(action.unit_label(locale)),
            source=escape(
                action.source.name if not action.source.is_estimate else t("act.source.estimate")
            ),
        ),
        t(
            "act.my_week",
            actions=counted("count.eco_actions", result.week_actions, locale),
            co2=kg(result.week_co2e_g, locale),
        ),
    ]
    if result.challenges:
        parts.append("\n\n".join(challenge_line(view, locale) for view in result.challenges))
    else:
        parts.append(t("act.no_challenge_hint"))
    parts.extend(
        t(
            "act.team_line",
            team=escape(team.membership.team.name),
            actions=counted("count.eco_actions", team.actions, locale),
        )
        for team in result.teams
    )
    return "\n\n".join(parts)


def group_log_text(name: str, result: LogResult, chat_team_ids: Sequence[int], locale: str) -> str:
    action = result.action
    in_chat = [tw for tw in result.teams if tw.membership.team.id in chat_team_ids]
    if in_chat:
        return t(
            "act.group_logged_team",
            name=escape(name),
            action=escape(action.title(locale)),
            co2=kg(result.co2e_g, locale),
            team=escape(in_chat[0].membership.team.name),
            actions=counted("count.eco_actions", in_chat[0].actions, locale),
        )
    key = "act.group_logged_join" if chat_team_ids else "act.group_logged"
    return t(
        key, name=escape(name), action=escape(action.title(locale)), co2=kg(result.co2e_g, locale)
    )


def group_undo_keyboard(log_id: int) -> InlineKeyboardMarkup:
    """Under a log told in a team group: only its author's tap takes it back."""
    builder = InlineKeyboardBuilder()
    builder.button(text=t("act.undo.button"), callback_data=ActUndoCb(log_id=log_id))
    return builder.as_markup()


def undone_text(undone: Undone, locale: str) -> str:
    title = undone.action.title(locale) if undone.action else ""
    return "\n\n".join(
        (
            t("act.undo.done", action=escape(title)),
            t(
                "act.my_week",
                actions=counted("count.eco_actions", undone.week_actions, locale),
                co2=kg(undone.week_co2e_g, locale),
            ),
        )
    )


def group_undone_text(name: str, undone: Undone, locale: str) -> str:
    title = undone.action.title(locale) if undone.action else ""
    return t("act.undo.done_group", name=escape(name), action=escape(title))


def too_late_text(minutes: int, locale: str) -> str:
    """Plain text: it is shown in a callback alert."""
    return t("act.undo.too_late", minutes=counted("count.minutes", minutes, locale))


def capped_text(action: EcoAction, count: int, locale: str, *, html: bool = True) -> str:
    """Plain text (html=False) for a callback alert, which shows no markup."""
    title = action.title(locale)
    return t(
        "act.capped",
        action=escape(title) if html else title,
        count=counted("count.times", count, locale),
    )


# ---------------------------------------------------------------- /me


def me_text(figures: MyFigures, locale: str) -> str:
    text = t(
        "me.text",
        week=counted("count.eco_actions", figures.week_actions, locale),
        week_co2=kg(figures.week_co2e_g, locale),
        streak=counted("count.weeks", figures.streak_weeks, locale),
        total_actions=counted("count.eco_actions", figures.total_actions, locale),
        co2=kg(figures.total_co2e_g, locale),
    )
    return text + "\n\n" + t("me.named" if figures.show_name else "me.anonymous")


def me_keyboard(figures: MyFigures) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if figures.show_name:
        builder.button(
            text=t("me.button.hide_name"), callback_data=ActNameCb(choice=NameChoice.HIDE)
        )
    else:
        builder.button(
            text=t("me.button.show_name"), callback_data=ActNameCb(choice=NameChoice.SHOW)
        )
    builder.button(text=t("act.again"), callback_data=ActNavCb(to=ActNav.AGAIN))
    builder.adjust(1)
    return builder.as_markup()


# ---------------------------------------------------------------- /challenges


def challenges_text(views: Sequence[ChallengeView], locale: str) -> str:
    if not views:
        return t("challenges.none")
    blocks = [t("challenges.title")]
    for view in views:
        block = challenge_line(view, locale)
        if view.joined:
            block = t("challenges.joined_mark") + " " + block
        if view.challenge.pledge:
            block += "\n" + t(
                "challenges.pledge_line",
                pledge=escape(truncate(view.challenge.pledge, LIST_PLEDGE_LIMIT)),
            )
        blocks.append(block)
    return "\n\n".join(blocks)


def challenges_keyboard(views: Sequence[ChallengeView]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for view in views:
        builder.button(
            text=t("challenges.button.view", title=truncate(view.challenge.title, 40)),
            callback_data=ChallengeCb(action=ChallengeAction.VIEW, id=view.challenge.id),
        )
    builder.adjust(1)
    return builder.as_markup()


def challenge_caption(
    view: ChallengeView,
    contributors: Contributors,
    end_day: date,
    locale: str,
    catalogue: Catalogue | None = None,
) -> str:
    challenge = view.challenge
    catalogue = catalogue or default_catalogue()
    categories = {
        action.category for action in catalogue if action.slug in set(challenge.action_slugs)
    }
    lines = [f"<b>{escape(challenge.title)}</b>"]
    if challenge.description:
        lines.append(escape(truncate(challenge.description, CAPTION_DESCRIPTION_LIMIT)))
    lines.append(
        t(
            "challenges.detail_progress",
            bar=progress_bar(view.fraction),
            total=number(view.week_total, locale),
            target=number(challenge.weekly_target, locale),
            end=long_date(end_day, locale),
        )
    )
    lines.append(
        t(
            "challenges.counts",
            categories=", ".join(category_label(c) for c in ActionCategory if c in categories),
        )
    )
    if challenge.pledge:
        lines.append(t("challenges.pledge_line", pledge=escape(challenge.pledge)))
    if contributors.named or contributors.anonymous_people:
        lines.append(t("challenges.top_title"))
        lines.extend(
            t("challenges.top_line", rank=rank, name=escape(name), actions=number(count, locale))
            for rank, (name, count) in enumerate(contributors.named, start=1)
        )
        if contributors.anonymous_people:
            lines.append(
                t(
                    "challenges.top_anonymous",
                    people=counted("count.anonymous_people", contributors.anonymous_people, locale),
                    actions=counted("count.eco_actions", contributors.anonymous_actions, locale),
                )
            )
    if view.joined:
        lines.append(t("challenges.you_are_in"))
    elif not view.eligible:
        lines.append(t("challenges.not_for_you"))
    return "\n".join(lines)


def not_eligible_text(error: NotEligibleError) -> str:
    """Why someone cannot join, and what would let them: their campus group registered
    as a team of the contest (/team CODE by the group's admin), then "join the team"."""
    if error.scope is ChallengeScope.TEAM and error.team:
        return t("challenges.not_eligible.team", team=escape(error.team))
    if error.contest:
        return t("challenges.not_eligible.contest", contest=escape(error.contest))
    return t("challenges.not_eligible.other")


def challenge_keyboard(view: ChallengeView, organiser: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    challenge_id = view.challenge.id
    if view.joined:
        builder.button(
            text=t("challenges.button.leave"),
            callback_data=ChallengeCb(action=ChallengeAction.LEAVE, id=challenge_id),
        )
    elif view.eligible:
        builder.button(
            text=t("challenges.button.join"),
            callback_data=ChallengeCb(action=ChallengeAction.JOIN, id=challenge_id),
        )
    builder.button(text=t("act.again"), callback_data=ActNavCb(to=ActNav.AGAIN))
    builder.button(
        text=t("challenges.button.all"),
        callback_data=ChallengeCb(action=ChallengeAction.LIST, id=0),
    )
    builder.button(
        text=t("challenges.button.card"),
        callback_data=ChallengeCb(action=ChallengeAction.CARD, id=challenge_id),
    )
    if organiser:
        builder.button(
            text=t("challenges.button.delete"),
            callback_data=ChallengeCb(action=ChallengeAction.DELETE, id=challenge_id),
        )
    builder.adjust(1)
    builder.row(share_button(DeepLink(DeepLinkKind.JOIN, challenge_id)))
    return builder.as_markup()


def confirm_delete_keyboard(challenge_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("challenges.button.confirm_delete"),
        callback_data=ChallengeCb(action=ChallengeAction.CONFIRM_DELETE, id=challenge_id),
    )
    builder.button(
        text=t("challenges.button.all"),
        callback_data=ChallengeCb(action=ChallengeAction.LIST, id=0),
    )
    builder.adjust(1)
    return builder.as_markup()


def picture_texts(view: ChallengeView, week: date, locale: str) -> PictureTexts:
    challenge = view.challenge
    percent = min(view.week_total * 100 // challenge.weekly_target, 999)
    status = None
    if view.pledge_met:
        status = t("picture.reached_pledge" if challenge.pledge else "picture.reached")
    return PictureTexts(
        brand=t("picture.brand"),
        title=challenge.title,
        week=t("picture.week", date=long_date(week, locale)),
        count=number(view.week_total, locale),
        unit=t("picture.unit", target=number(challenge.weekly_target, locale)),
        percent=t("picture.percent", percent=percent),
        pledge_label=t("picture.pledge") if challenge.pledge else None,
        pledge=challenge.pledge,
        status=status,
    )


def pledge_notice(translator: Translator, locale: str, challenge: Challenge, total: int) -> str:
    """For the organiser, in their own language."""
    return translator.t(
        "challenges.pledge_met_notice",
        locale,
        title=escape(challenge.title),
        total=number(total, locale),
        target=number(challenge.weekly_target, locale),
        pledge=escape(challenge.pledge or ""),
    )


# ---------------------------------------------------------------- teams and leaderboards


def team_join_keyboard(team_id: int, bot_username: str | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("team.button.join"), callback_data=TeamJoinCb(team_id=team_id))
    if bot_username:
        builder.button(
            text=t("team.button.private"), url=f"https://t.me/{bot_username}?start=team_{team_id}"
        )
    builder.adjust(1)
    return builder.as_markup()


def my_teams_text(memberships: list[Membership]) -> str:
    if not memberships:
        return t("team.none")
    lines = [t("team.mine")]
    lines += [
        t("team.mine_line", team=escape(m.team.name), contest=escape(m.contest.name))
        for m in memberships
    ]
    return "\n".join(lines)


def my_teams_keyboard(memberships: list[Membership]) -> InlineKeyboardMarkup | None:
    if not memberships:
        return None
    builder = InlineKeyboardBuilder()
    for membership in memberships:
        builder.button(
            text=t("team.button.leave", team=truncate(membership.team.name, 40)),
            callback_data=TeamLeaveCb(team_id=membership.team.id),
        )
    builder.adjust(1)
    return builder.as_markup()


def leaderboard_text(board: Leaderboard, locale: str) -> str:
    people = board.people
    lines = [
        t("leaderboard.title", week=long_date(board.week, locale)),
        "",
        t("leaderboard.people"),
    ]
    if not people.rows:
        lines.append(t("leaderboard.nobody"))
    for row in people.rows:
        medal = MEDALS[row.rank - 1] if row.rank <= len(MEDALS) else f"{row.rank}."
        name = escape(row.name) if row.name is not None else t("leaderboard.anonymous")
        lines.append(
            t(
                "leaderboard.person_line",
                medal=medal,
                name=name,
                actions=number(row.actions, locale),
            )
        )
    if people.my_rank is not None:
        lines.append(
            t(
                "leaderboard.my_rank",
                rank=number(people.my_rank, locale),
                people=number(people.people, locale),
                actions=counted("count.eco_actions", people.my_actions, locale),
            )
        )
    else:
        lines.append(t("leaderboard.not_yet"))
    for team_board in board.teams:
        lines += ["", t("leaderboard.teams", contest=escape(team_board.contest.name))]
        lines.append(t("leaderboard.per_member_note"))
        lines.extend(
            t(
                "leaderboard.team_line",
                rank=team.rank,
                team=escape(team.name),
                score=number(team.per_member, locale, "#,##0.0"),
                actions=counted("count.eco_actions", team.actions, locale),
                active=counted("count.active", team.active_members, locale),
            )
            for team in team_board.rows
        )
        if team_board.mine is not None:
            lines.append(
                t(
                    "leaderboard.my_team",
                    team=escape(team_board.mine.name),
                    rank=team_board.mine.rank,
                    teams=team_board.teams,
                )
            )
    return "\n".join(lines)
