"""Organisers: /contest, /newchallenge, /stats, /export (PRODUCT.md §2.7).

Every handler of `_organisers` is behind IsOrganiser, checked on each update, and the
services check again; `_refusals`, after it, answers anyone else clearly.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter, or_f
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, FSInputFile, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import challenges, contests, reports
from bot.services.catalogue import ActionCategory, default_catalogue
from bot.services.deeplinks import DeepLink, DeepLinkKind, deep_link_url
from bot.ui.callbacks.organisers import (
    ChallengeWizardAction,
    ContestAction,
    ContestCb,
    WizardCategoryCb,
    WizardCb,
)
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_markup, edit_text
from bot.ui.filters import IsOrganiser, Magic
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import t
from bot.ui.views import actions as views
from bot.ui.views.dashboard import dashboard_keyboard
from models import ChallengeScope, ContestStatus, User

ORGANISER_COMMANDS = ("contest", "newchallenge", "stats", "export")
COMMANDS = [command(name, f"commands.{name}", Scope.ORGANISER) for name in ORGANISER_COMMANDS]
TEAMS_OFFERED = 40


class ContestForm(StatesGroup):
    name = State()


class Wizard(StatesGroup):
    title = State()
    description = State()
    categories = State()
    target = State()
    scope = State()
    pledge = State()
    end = State()
    preview = State()


# Whether the sender is an organiser is asked (a database read) only of the updates one of
# these handlers could take: not of every message that no earlier router wanted.


# ---------------------------------------------------------------- /contest


def _contest_keyboard(summaries: list[contests.ContestSummary]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("contest.button.new"), callback_data=ContestCb(action=ContestAction.NEW, id=0)
    )
    for summary in summaries:
        if summary.contest.status is ContestStatus.OPEN:
            builder.button(
                text=t("contest.button.close", name=truncate(summary.contest.name, 40)),
                callback_data=ContestCb(action=ContestAction.CLOSE, id=summary.contest.id),
            )
    builder.adjust(1)
    return builder.as_markup()


async def _send_contests(
    message: Message, session: AsyncSession, user: User, settings: Settings
) -> None:
    summaries = await contests.list_contests(session, user.id, settings.organiser_ids)
    lines = [t("contest.list_title")]
    if not summaries:
        lines.append(t("contest.none"))
    for summary in summaries:
        lines.append(
            t(
                "contest.line",
                name=escape(summary.contest.name),
                code=summary.contest.join_code,
                status=t(f"contest.status.{summary.contest.status.value}"),
                teams=views.counted("count.teams", summary.teams),
                members=views.counted("count.members", summary.members),
            )
        )
    await message.answer("\n\n".join(lines), reply_markup=_contest_keyboard(summaries))


async def contest_command(
    message: Message, session: AsyncSession, user: User, settings: Settings, state: FSMContext
) -> None:
    await state.clear()
    await _send_contests(message, session, user, settings)


async def contest_button(
    query: CallbackQuery,
    callback_data: ContestCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    state: FSMContext,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    action = callback_data.action
    if action is ContestAction.LIST:
        await query.answer()
        await _send_contests(message, session, user, settings)
    elif action is ContestAction.NEW:
        await query.answer()
        await state.set_state(ContestForm.name)
        await message.answer(t("contest.ask_name"))
    elif action is ContestAction.CLOSE:
        await query.answer()
        builder = InlineKeyboardBuilder()
        builder.button(
            text=t("contest.button.confirm_close"),
            callback_data=ContestCb(action=ContestAction.CONFIRM_CLOSE, id=callback_data.id),
        )
        builder.button(
            text=t("contest.button.keep"), callback_data=ContestCb(action=ContestAction.LIST, id=0)
        )
        builder.adjust(1)
        await message.answer(t("contest.confirm_close"), reply_markup=builder.as_markup())
    else:
        try:
            closed = await contests.close_contest(
                session, callback_data.id, user.id, settings.organiser_ids, clock.now()
            )
        except (contests.ContestNotFoundError, contests.ContestClosedError):
            await query.answer(t("contest.already_closed"), show_alert=True)
            return
        await query.answer()
        await edit_text(message, t("contest.closed", name=escape(closed.name)))


async def contest_name(
    message: Message,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    state: FSMContext,
) -> None:
    try:
        created = await contests.create_contest(
            session, message.text or "", user.id, settings.organiser_ids, clock.now()
        )
    except contests.InvalidNameError:
        await message.answer(t("contest.bad_name", limit=contests.CONTEST_NAME_LIMIT))
        return
    await state.clear()
    await message.answer(t("contest.created", name=escape(created.name), code=created.join_code))


async def contest_name_not_text(message: Message) -> None:
    await message.answer(t("contest.bad_name", limit=contests.CONTEST_NAME_LIMIT))


# ---------------------------------------------------------------- /newchallenge


def _step(key: str, number: int, **params: object) -> str:
    return t("newchallenge.step", number=number, total=7) + "\n" + t(key, **params)


def _one_button(text: str, action: ChallengeWizardAction, value: int = 0) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text, callback_data=WizardCb(action=action, value=value))
    return builder.as_markup()


def _categories_keyboard(chosen: list[str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in default_catalogue().categories():
        mark = "✅ " if category.value in chosen else "▫️ "
        builder.button(
            text=mark + views.category_label(category),
            callback_data=WizardCategoryCb(category=category),
        )
    builder.button(
        text=t("newchallenge.button.done"),
        callback_data=WizardCb(action=ChallengeWizardAction.CATEGORIES_DONE, value=0),
    )
    builder.adjust(2, 2, 2, 1)
    return builder.as_markup()


def _scope_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for key, action in (
        ("newchallenge.scope.everyone", ChallengeWizardAction.SCOPE_EVERYONE),
        ("newchallenge.scope.contest", ChallengeWizardAction.SCOPE_CONTEST),
        ("newchallenge.scope.team", ChallengeWizardAction.SCOPE_TEAM),
    ):
        builder.button(text=t(key), callback_data=WizardCb(action=action, value=0))
    builder.adjust(1)
    return builder.as_markup()


def _end_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for weeks in challenges.WEEK_PRESETS:
        builder.button(
            text=t("newchallenge.end.weeks", weeks=weeks),
            callback_data=WizardCb(action=ChallengeWizardAction.WEEKS, value=weeks),
        )
    builder.adjust(3)
    return builder.as_markup()


async def new_challenge(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(Wizard.title)
    await message.answer(_step("newchallenge.ask_title", 1, limit=challenges.TITLE_LIMIT))


async def wizard_title(message: Message, state: FSMContext) -> None:
    try:
        title = challenges.validate_title(message.text or "")
    except challenges.InvalidDraftError:
        await message.answer(t("newchallenge.bad_title", limit=challenges.TITLE_LIMIT))
        return
    await state.update_data(title=title)
    await state.set_state(Wizard.description)
    await message.answer(
        _step("newchallenge.ask_description", 2, limit=challenges.DESCRIPTION_LIMIT),
        reply_markup=_one_button(
            t("newchallenge.button.skip"), ChallengeWizardAction.SKIP_DESCRIPTION
        ),
    )


async def _ask_categories(message: Message, state: FSMContext) -> None:
    await state.set_state(Wizard.categories)
    data = await state.get_data()
    await message.answer(
        _step("newchallenge.ask_categories", 3),
        reply_markup=_categories_keyboard(data.get("categories", [])),
    )


async def wizard_description(message: Message, state: FSMContext) -> None:
    try:
        description = challenges.validate_description(message.text or "")
    except challenges.InvalidDraftError:
        await message.answer(t("newchallenge.bad_description", limit=challenges.DESCRIPTION_LIMIT))
        return
    await state.update_data(description=description)
    await _ask_categories(message, state)


async def wizard_skip_description(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.update_data(description="")
    if isinstance(query.message, Message):
        await _ask_categories(query.message, state)


async def wizard_toggle(
    query: CallbackQuery, callback_data: WizardCategoryCb, state: FSMContext
) -> None:
    chosen: list[str] = list((await state.get_data()).get("categories", []))
    value = callback_data.category.value
    if value in chosen:
        chosen.remove(value)
    else:
        chosen.append(value)
    await state.update_data(categories=chosen)
    await query.answer()
    if isinstance(query.message, Message):
        await edit_markup(query.message, reply_markup=_categories_keyboard(chosen))


async def wizard_categories_done(query: CallbackQuery, state: FSMContext) -> None:
    if not (await state.get_data()).get("categories"):
        await query.answer(t("newchallenge.no_category"), show_alert=True)
        return
    await query.answer()
    await state.set_state(Wizard.target)
    if isinstance(query.message, Message):
        await query.message.answer(_step("newchallenge.ask_target", 4))


async def wizard_target(message: Message, state: FSMContext) -> None:
    try:
        target = challenges.parse_target(message.text or "")
    except challenges.InvalidDraftError:
        await message.answer(t("newchallenge.bad_target", limit=challenges.TARGET_LIMIT))
        return
    await state.update_data(target=target)
    await state.set_state(Wizard.scope)
    await message.answer(_step("newchallenge.ask_scope", 5), reply_markup=_scope_keyboard())


async def _ask_pledge(message: Message, state: FSMContext) -> None:
    await state.set_state(Wizard.pledge)
    await message.answer(
        _step("newchallenge.ask_pledge", 6, limit=challenges.PLEDGE_LIMIT),
        reply_markup=_one_button(
            t("newchallenge.button.no_pledge"), ChallengeWizardAction.NO_PLEDGE
        ),
    )


async def wizard_scope(
    query: CallbackQuery,
    callback_data: WizardCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
    state: FSMContext,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    action = callback_data.action
    if action is ChallengeWizardAction.SCOPE_EVERYONE:
        await state.update_data(scope=ChallengeScope.EVERYONE.value, contest_id=None, team_id=None)
        await query.answer()
        await _ask_pledge(message, state)
        return
    if action in (ChallengeWizardAction.PICK_CONTEST, ChallengeWizardAction.PICK_TEAM):
        scope = (
            ChallengeScope.CONTEST
            if action is ChallengeWizardAction.PICK_CONTEST
            else ChallengeScope.TEAM
        )
        contest_id = callback_data.value if scope is ChallengeScope.CONTEST else None
        team_id = callback_data.value if scope is ChallengeScope.TEAM else None
        try:
            contest_id, team_id = await challenges.check_scope(session, scope, contest_id, team_id)
        except (
            contests.ContestNotFoundError,
            contests.ContestClosedError,
            contests.TeamNotFoundError,
        ):
            await query.answer(t("newchallenge.scope_gone"), show_alert=True)
            return
        await state.update_data(scope=scope.value, contest_id=contest_id, team_id=team_id)
        await query.answer()
        await _ask_pledge(message, state)
        return
    summaries = [
        s
        for s in await contests.list_contests(session, user.id, settings.organiser_ids)
        if s.contest.status is ContestStatus.OPEN
    ]
    builder = InlineKeyboardBuilder()
    if action is ChallengeWizardAction.SCOPE_CONTEST:
        for summary in summaries:
            builder.button(
                text=truncate(summary.contest.name, 40),
                callback_data=WizardCb(
                    action=ChallengeWizardAction.PICK_CONTEST, value=summary.contest.id
                ),
            )
    else:
        offered = 0
        for summary in summaries:
            for team in await contests.teams_of_contest(session, summary.contest.id):
                if offered < TEAMS_OFFERED:
                    builder.button(
                        text=truncate(f"{team.name} · {summary.contest.name}", 48),
                        callback_data=WizardCb(
                            action=ChallengeWizardAction.PICK_TEAM, value=team.id
                        ),
                    )
                    offered += 1
    builder.adjust(1)
    markup = builder.as_markup()
    if not markup.inline_keyboard:
        await query.answer(t("newchallenge.no_contest"), show_alert=True)
        return
    await query.answer()
    await message.answer(t("newchallenge.pick"), reply_markup=markup)


async def wizard_pledge(message: Message, state: FSMContext) -> None:
    try:
        pledge = challenges.validate_pledge(message.text or "")
    except challenges.InvalidDraftError:
        await message.answer(t("newchallenge.bad_pledge", limit=challenges.PLEDGE_LIMIT))
        return
    await state.update_data(pledge=pledge)
    await _ask_end(message, state)


async def wizard_no_pledge(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.update_data(pledge=None)
    if isinstance(query.message, Message):
        await _ask_end(query.message, state)


async def _ask_end(message: Message, state: FSMContext) -> None:
    await state.set_state(Wizard.end)
    await message.answer(_step("newchallenge.ask_end", 7), reply_markup=_end_keyboard())


def _draft(data: dict[str, Any]) -> challenges.ChallengeDraft:
    categories = {ActionCategory(value) for value in data["categories"]}
    slugs = tuple(a.slug for a in default_catalogue() if a.category in categories)
    return challenges.ChallengeDraft(
        title=data["title"],
        description=data.get("description", ""),
        action_slugs=slugs,
        weekly_target=int(data["target"]),
        scope=ChallengeScope(data["scope"]),
        contest_id=data.get("contest_id"),
        team_id=data.get("team_id"),
        pledge=data.get("pledge"),
        last_day=date.fromisoformat(data["last_day"]),
    )


async def _preview(message: Message, state: FSMContext, session: AsyncSession, locale: str) -> None:
    await state.set_state(Wizard.preview)
    data = await state.get_data()
    draft = _draft(data)
    scope = t(f"newchallenge.scope.{draft.scope.value}")
    if draft.scope is ChallengeScope.TEAM and draft.team_id is not None:
        team, _ = await contests.team_with_contest(session, draft.team_id)
        scope = f"{scope} — {escape(team.name)}"
    elif draft.scope is ChallengeScope.CONTEST and draft.contest_id is not None:
        contest = await contests.contest_by_id(session, draft.contest_id)
        scope = f"{scope} — {escape(contest.name)}"
    text = t(
        "newchallenge.preview",
        title=escape(draft.title),
        description=escape(draft.description) or "—",
        categories=", ".join(views.category_label(ActionCategory(c)) for c in data["categories"]),
        target=views.number(draft.weekly_target, locale),
        scope=scope,
        pledge=escape(draft.pledge) if draft.pledge else t("newchallenge.no_pledge_text"),
        end=views.long_date(draft.last_day, locale),
    )
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("newchallenge.button.create"),
        callback_data=WizardCb(action=ChallengeWizardAction.CREATE, value=0),
    )
    builder.button(
        text=t("newchallenge.button.cancel"),
        callback_data=WizardCb(action=ChallengeWizardAction.CANCEL, value=0),
    )
    builder.adjust(2)
    await message.answer(text, reply_markup=builder.as_markup())


async def wizard_end_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    today = clock.now().astimezone(settings.tz).date()
    try:
        last = challenges.parse_last_day(message.text or "", today)
    except challenges.InvalidDraftError:
        await message.answer(t("newchallenge.bad_end"))
        return
    await state.update_data(last_day=last.isoformat())
    await _preview(message, state, session, locale)


async def wizard_end_weeks(
    query: CallbackQuery,
    callback_data: WizardCb,
    state: FSMContext,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    today = clock.now().astimezone(settings.tz).date()
    try:
        last = challenges.last_day_of_weeks(callback_data.value, today)
    except challenges.InvalidDraftError:
        last = None
    if last is None or not isinstance(query.message, Message):
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    await query.answer()
    await state.update_data(last_day=last.isoformat())
    await _preview(query.message, state, session, locale)


async def wizard_create(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    bot: Bot,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    try:
        created = await challenges.create_challenge(
            session,
            _draft(await state.get_data()),
            user.id,
            settings.organiser_ids,
            clock.now(),
            settings.tz,
        )
    except (
        challenges.InvalidDraftError,
        contests.ContestNotFoundError,
        contests.ContestClosedError,
        contests.TeamNotFoundError,
    ):
        await query.answer(t("newchallenge.cannot_create"), show_alert=True)
        return
    await state.clear()
    await query.answer()
    username = (await bot.me()).username or ""
    link = deep_link_url(username, DeepLink(DeepLinkKind.JOIN, created.id))
    await edit_text(
        query.message, t("newchallenge.created", title=escape(created.title), link=link)
    )


async def wizard_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await edit_text(query.message, t("newchallenge.cancelled"))


async def wizard_wrong_input(message: Message, state: FSMContext) -> None:
    """Anything the current step cannot use: say what it expects, stay on the step."""
    current = await state.get_state()
    key = {
        Wizard.categories.state: "newchallenge.use_buttons",
        Wizard.scope.state: "newchallenge.use_buttons",
        Wizard.preview.state: "newchallenge.use_buttons",
    }.get(current or "", "newchallenge.text_expected")
    await message.answer(t(key))


async def wizard_stale_button(query: CallbackQuery) -> None:
    """A wizard button from an earlier or abandoned wizard."""
    await query.answer(t("fallback.stale_button"), show_alert=True)


# ---------------------------------------------------------------- /stats and /export


async def stats(
    message: Message,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    figures = await reports.stats(
        session, user.id, settings.organiser_ids, clock.now(), settings.tz
    )
    lines = [
        t(
            "stats.text",
            week=views.long_date(figures.week, locale),
            users=views.number(figures.users, locale),
            active=views.number(figures.active_this_week, locale),
            actions=views.number(figures.actions, locale),
            week_actions=views.number(figures.week_actions, locale),
            co2=views.kg(figures.co2e_g, locale),
        )
    ]
    if figures.challenges:
        lines.append(t("stats.challenges"))
    lines.extend(
        t(
            "stats.challenge_line",
            title=escape(item.challenge.title),
            total=views.number(item.week_total, locale),
            target=views.number(item.challenge.weekly_target, locale),
            participants=views.counted("count.participants", item.participants),
            met=views.counted("count.weeks", item.pledge_met_weeks),
            weeks=item.weeks,
        )
        for item in figures.challenges
    )
    markup = None
    if settings.web_base_url:
        markup = dashboard_keyboard(settings.web_base_url, locale, t("stats.dashboard_button"))
    await message.answer("\n".join(lines), reply_markup=markup)


async def export(
    message: Message,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    with tempfile.TemporaryDirectory(prefix="greenhood-export-") as folder:
        files = await reports.export_all(
            session,
            user.id,
            settings.organiser_ids,
            clock.now(),
            settings.tz,
            Path(folder),
            reports.csv_style(locale),
        )
        for file in files:
            kind = file.name.split(".")[0]
            await message.answer_document(
                FSInputFile(file.path, filename=file.name),
                caption=t(f"export.caption.{kind}", rows=file.rows),
            )


# ---------------------------------------------------------------- everyone else


async def refuse_command(message: Message) -> None:
    # Never in a group, even for an organiser: exports and figures are not for everyone.
    in_group = message.chat.type != "private"
    await message.answer(t("organisers.private_only" if in_group else "organisers.only"))


async def refuse_button(query: CallbackQuery) -> None:
    await query.answer(t("organisers.only"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    _organisers = Router(name=f"{__name__}.organisers")
    _refusals = Router(name=f"{__name__}.refusals")
    router.include_routers(_organisers, _refusals)
    _organisers.message.filter(
        Magic(F.chat.type == "private"),
        or_f(Command(*ORGANISER_COMMANDS), StateFilter(ContestForm, Wizard)),
        IsOrganiser(),
    )
    _organisers.callback_query.filter(
        or_f(ContestCb.filter(), WizardCb.filter(), WizardCategoryCb.filter()), IsOrganiser()
    )
    _organisers.message.register(contest_command, Command("contest"))
    _organisers.callback_query.register(contest_button, ContestCb.filter())
    _organisers.message.register(contest_name, StateFilter(ContestForm.name), Magic(F.text))
    _organisers.message.register(contest_name_not_text, StateFilter(ContestForm.name))
    _organisers.message.register(new_challenge, Command("newchallenge"))
    _organisers.message.register(wizard_title, StateFilter(Wizard.title), Magic(F.text))
    _organisers.message.register(wizard_description, StateFilter(Wizard.description), Magic(F.text))
    _organisers.callback_query.register(
        wizard_skip_description,
        StateFilter(Wizard.description),
        WizardCb.filter(F.action == ChallengeWizardAction.SKIP_DESCRIPTION),
    )
    _organisers.callback_query.register(
        wizard_toggle, StateFilter(Wizard.categories), WizardCategoryCb.filter()
    )
    _organisers.callback_query.register(
        wizard_categories_done,
        StateFilter(Wizard.categories),
        WizardCb.filter(F.action == ChallengeWizardAction.CATEGORIES_DONE),
    )
    _organisers.message.register(wizard_target, StateFilter(Wizard.target), Magic(F.text))
    _organisers.callback_query.register(
        wizard_scope,
        StateFilter(Wizard.scope),
        WizardCb.filter(
            F.action.in_(
                {
                    ChallengeWizardAction.SCOPE_EVERYONE,
                    ChallengeWizardAction.SCOPE_CONTEST,
                    ChallengeWizardAction.SCOPE_TEAM,
                    ChallengeWizardAction.PICK_CONTEST,
                    ChallengeWizardAction.PICK_TEAM,
                }
            )
        ),
    )
    _organisers.message.register(wizard_pledge, StateFilter(Wizard.pledge), Magic(F.text))
    _organisers.callback_query.register(
        wizard_no_pledge,
        StateFilter(Wizard.pledge),
        WizardCb.filter(F.action == ChallengeWizardAction.NO_PLEDGE),
    )
    _organisers.message.register(wizard_end_typed, StateFilter(Wizard.end), Magic(F.text))
    _organisers.callback_query.register(
        wizard_end_weeks,
        StateFilter(Wizard.end),
        WizardCb.filter(F.action == ChallengeWizardAction.WEEKS),
    )
    _organisers.callback_query.register(
        wizard_create,
        StateFilter(Wizard.preview),
        WizardCb.filter(F.action == ChallengeWizardAction.CREATE),
    )
    _organisers.callback_query.register(
        wizard_cancel,
        StateFilter(Wizard),
        WizardCb.filter(F.action == ChallengeWizardAction.CANCEL),
    )
    _organisers.message.register(wizard_wrong_input, StateFilter(Wizard))
    _organisers.callback_query.register(wizard_stale_button, WizardCategoryCb.filter())
    _organisers.callback_query.register(wizard_stale_button, WizardCb.filter())
    _organisers.message.register(stats, Command("stats"))
    _organisers.message.register(export, Command("export"))
    _refusals.message.register(refuse_command, Command(*ORGANISER_COMMANDS))
    _refusals.callback_query.register(refuse_button, WizardCategoryCb.filter())
    _refusals.callback_query.register(refuse_button, WizardCb.filter())
    _refusals.callback_query.register(refuse_button, ContestCb.filter())
    return router
