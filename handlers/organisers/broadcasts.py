"""/broadcast: an organiser writes to an audience — text (HTML), optional photo and link
button, a preview exactly as recipients will see it, then send now or at a time; a live
progress message with a stop button follows (from the worker, see bot/worker/background.py).

Organiser rights are checked on every update (IsOrganiser here, and again in the service);
anyone else is refused, whatever state or button they come with.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.scheduling import Scheduler
from bot.core.settings import Settings
from bot.core.telegram_html import HtmlError
from bot.services import audiences, broadcasts
from bot.services.audiences import AudienceKind
from bot.services.broadcasts import Draft, DraftError, SendPreset
from bot.ui.callbacks.broadcasts import (
    BroadcastAction,
    BroadcastAudienceCb,
    BroadcastCb,
    BroadcastStep,
    BroadcastTargetCb,
    BroadcastWizardCb,
)
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_markup, edit_text, message_of
from bot.ui.filters import IsOrganiser, Magic
from bot.ui.formatting import escape, moment_text
from bot.ui.i18n import Translator, current_translator, t
from bot.ui.notices import broadcasts as broadcasting
from bot.ui.views.actions import counted
from models import User

COMMANDS = [command("broadcast", "commands.broadcast", Scope.ORGANISER)]

# Entities Telegram adds by itself (links, mentions…): a text with only these was typed
# as is, so its tags are the organiser's HTML. Formatting applied in the app (bold…) is
# converted to HTML instead.
AUTOMATIC_ENTITIES = frozenset(
    {"url", "mention", "hashtag", "cashtag", "bot_command", "email", "phone_number"}
)


# Challenges or contests offered as buttons (newest first).
TARGET_BUTTONS = 20
TARGET_TEXTS = {
    AudienceKind.CHALLENGE: ("broadcast.ask_challenge", "broadcast.target.challenge"),
    AudienceKind.CONTEST_TEAMS: ("broadcast.ask_contest", "broadcast.target.contest"),
}
AUDIENCE_OF = {
    AudienceKind.CHALLENGE: "broadcast.audience.challenge_of",
    AudienceKind.CONTEST_TEAMS: "broadcast.audience.teams_of",
}


class BroadcastForm(StatesGroup):
    audience = State()
    target = State()
    text = State()
    photo = State()
    button = State()
    review = State()
    when = State()


def _not_a_command() -> Magic:
    return Magic(~F.text.startswith("/"))


def _wizard_button(key: str, step: BroadcastStep, **params: object) -> tuple[str, str]:
    return t(key, **params), BroadcastWizardCb(step=step).pack()


def _keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for row in rows:
        builder.row(*[InlineKeyboardButton(text=text, callback_data=data) for text, data in row])
    return builder.as_markup()


def _abort_row() -> list[tuple[str, str]]:
    return [_wizard_button("broadcast.button.abort", BroadcastStep.ABORT)]


def _skip_row() -> list[tuple[str, str]]:
    return [
        _wizard_button("broadcast.button.skip", BroadcastStep.SKIP),
        _wizard_button("broadcast.button.abort", BroadcastStep.ABORT),
    ]


def _draft(data: dict[str, Any]) -> Draft:
    return Draft(
        audience=AudienceKind(data["audience"]),
        audience_target_id=data.get("target"),
        text=data["text"],
        photo_file_id=data.get("photo"),
        button_label=data.get("button_label"),
        button_url=data.get("button_url"),
    )


def _error_text(error: DraftError | HtmlError) -> str:
    if isinstance(error, HtmlError):
        return t("broadcast.error.html", reason=escape(error))
    return t(f"broadcast.error.{error.code}", **error.params)


def _organiser_text(message: Message) -> str | None:
    """The organiser's text as HTML (see AUTOMATIC_ENTITIES)."""
    if message.text is None:
        return None
    formatted = any(entity.type not in AUTOMATIC_ENTITIES for entity in message.entities or [])
    return message.html_text if formatted else message.text


# --------------------------------------------------------------------------- the wizard


async def start_wizard(message: Message, state: FSMContext, session: AsyncSession) -> None:
    await state.clear()
    await state.set_state(BroadcastForm.audience)
    rows = []
    for kind in audiences.available():
        count = await audiences.count(session, kind, None)
        rows.append(
            [
                (
                    t(f"broadcast.audience.{kind.value}", count=count),
                    BroadcastAudienceCb(audience=kind).pack(),
                )
            ]
        )
    await message.answer(t("broadcast.ask_audience"), reply_markup=_keyboard(*rows, _abort_row()))


async def audience_chosen(
    query: CallbackQuery,
    callback_data: BroadcastAudienceCb,
    state: FSMContext,
    session: AsyncSession,
    clock: Clock,
) -> None:
    kind = callback_data.audience
    if kind not in audiences.available():
        await query.answer(t("broadcast.error.audience"), show_alert=True)
        return
    if audiences.needs_target(kind):
        choices = (await audiences.targets(session, kind, clock.now()))[:TARGET_BUTTONS]
        if not choices:
            await query.answer(t("broadcast.error.no_targets"), show_alert=True)
            return
        ask_key, label_key = TARGET_TEXTS[kind]
        await state.update_data(audience=kind.value, target=None)
        await state.set_state(BroadcastForm.target)
        await query.answer()
        rows = [
            [
                (
                    t(label_key, title=choice.name, name=choice.name, count=choice.count),
                    BroadcastTargetCb(id=choice.id).pack(),
                )
            ]
            for choice in choices
        ]
        message = message_of(query)
        if message is not None:
            await edit_text(message, t(ask_key), reply_markup=_keyboard(*rows, _abort_row()))
        return
    await state.update_data(audience=kind.value, target=None)
    await _ask_text(query, state)


async def _ask_text(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(BroadcastForm.text)
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_text(message, t("broadcast.ask_text"), reply_markup=_keyboard(_abort_row()))


async def target_chosen(
    query: CallbackQuery,
    callback_data: BroadcastTargetCb,
    state: FSMContext,
    session: AsyncSession,
    clock: Clock,
) -> None:
    kind = AudienceKind((await state.get_data())["audience"])
    if await audiences.target(session, kind, callback_data.id, clock.now()) is None:
        await query.answer(t("broadcast.error.stale"), show_alert=True)
        return
    await state.update_data(target=callback_data.id)
    await _ask_text(query, state)


async def _audience_label(session: AsyncSession, draft: Draft, clock: Clock) -> str:
    count = await audiences.count(session, draft.audience, draft.audience_target_id)
    if draft.audience_target_id is not None and draft.audience in AUDIENCE_OF:
        choice = await audiences.target(
            session, draft.audience, draft.audience_target_id, clock.now()
        )
        if choice is not None:
            name = escape(choice.name)
            return t(AUDIENCE_OF[draft.audience], title=name, name=name, count=count)
    return t(f"broadcast.audience.{draft.audience.value}", count=count)


async def text_given(message: Message, state: FSMContext) -> None:
    text = _organiser_text(message)
    if text is None:
        await message.answer(t("broadcast.error.text_expected"))
        return
    try:
        broadcasts.check_text(text, with_photo=False)
    except (DraftError, HtmlError) as error:
        await message.answer(_error_text(error))
        return
    await state.update_data(text=text)
    await state.set_state(BroadcastForm.photo)
    await message.answer(t("broadcast.ask_photo"), reply_markup=_keyboard(_skip_row()))


async def photo_given(message: Message, state: FSMContext) -> None:
    assert message.photo is not None
    data = await state.get_data()
    try:
        broadcasts.check_text(data["text"], with_photo=True)
    except (DraftError, HtmlError) as error:
        await message.answer(_error_text(error))
        return
    await state.update_data(photo=message.photo[-1].file_id)
    await _ask_button(message, state)


async def photo_expected(message: Message) -> None:
    await message.answer(t("broadcast.error.photo_expected"), reply_markup=_keyboard(_skip_row()))


async def _ask_button(message: Message, state: FSMContext) -> None:
    await state.set_state(BroadcastForm.button)
    await message.answer(t("broadcast.ask_button"), reply_markup=_keyboard(_skip_row()))


async def button_given(
    message: Message, state: FSMContext, session: AsyncSession, clock: Clock
) -> None:
    try:
        label, url = broadcasts.parse_button(message.text or "")
    except DraftError as error:
        await message.answer(_error_text(error), reply_markup=_keyboard(_skip_row()))
        return
    await state.update_data(button_label=label, button_url=url)
    await _review(message, state, session, clock)


async def skipped(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, clock: Clock
) -> None:
    await query.answer()
    message = message_of(query)
    if message is None:
        return
    await edit_markup(message, reply_markup=None)
    if await state.get_state() == BroadcastForm.photo.state:
        await _ask_button(message, state)
    else:
        await _review(message, state, session, clock)


async def _review(message: Message, state: FSMContext, session: AsyncSession, clock: Clock) -> None:
    """The preview, exactly as recipients will see it, then the controls."""
    draft = _draft(await state.get_data())
    markup = broadcasts.button_markup(draft.button_label, draft.button_url)
    keyboard = None if markup is None else InlineKeyboardMarkup.model_validate(markup)
    await message.answer(t("broadcast.preview_intro"))
    if draft.photo_file_id is not None:
        await message.answer_photo(draft.photo_file_id, caption=draft.text, reply_markup=keyboard)
    else:
        await message.answer(draft.text, reply_markup=keyboard)
    audience = await _audience_label(session, draft, clock)
    await state.set_state(BroadcastForm.review)
    await message.answer(
        t("broadcast.review", audience=audience),
        reply_markup=_keyboard(
            [
                _wizard_button("broadcast.button.send_now", BroadcastStep.SEND_NOW),
                _wizard_button("broadcast.button.schedule", BroadcastStep.SCHEDULE),
            ],
            _abort_row(),
        ),
    )


async def send_now(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
    locale: str,
) -> None:
    now = clock.now()
    try:
        broadcast = await broadcasts.create(
            session,
            actor_id=user.id,
            configured_organisers=settings.organiser_ids,
            draft=_draft(await state.get_data()),
            locale=locale,
            send_at=now,
            now=now,
        )
    except DraftError as error:
        await query.answer(_error_text(error), show_alert=True)
        return
    started = await broadcasting.begin(
        session, broadcast.id, now, translator, settings.broadcast_rate
    )
    await state.clear()
    await query.answer()
    message = message_of(query)
    if message is not None:
        count = started.recipients if started is not None else 0
        await edit_text(
            message,
            t(
                "broadcast.started",
                id=broadcast.id,
                count=counted("count.people", count),
            ),
        )


async def ask_time(query: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await state.set_state(BroadcastForm.when)
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_text(
            message,
            t("broadcast.ask_time", zone=escape(settings.timezone)),
            reply_markup=_keyboard(
                [
                    _wizard_button("broadcast.button.in_one_hour", BroadcastStep.IN_ONE_HOUR),
                    _wizard_button("broadcast.button.tomorrow", BroadcastStep.TOMORROW_MORNING),
                ],
                _abort_row(),
            ),
        )


async def _schedule(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    scheduler: Scheduler | None,
    locale: str,
    when: str | SendPreset,
) -> None:
    """Schedule the draft at a typed time or a preset one."""
    now = clock.now()
    try:
        if isinstance(when, SendPreset):
            send_at = broadcasts.preset_send_time(when, now, settings.tz)
        else:
            send_at = broadcasts.parse_send_time(when, now, settings.tz)
        broadcast = await broadcasts.create(
            session,
            actor_id=user.id,
            configured_organisers=settings.organiser_ids,
            draft=_draft(await state.get_data()),
            locale=locale,
            send_at=send_at,
            now=now,
        )
    except DraftError as error:
        await message.answer(_error_text(error))
        return
    if scheduler is not None:
        # must_run: however late the worker gets to it, an announcement is not dropped.
        scheduler.at(
            broadcasting.job_id(broadcast.id),
            send_at,
            broadcasting.START_JOB,
            must_run=True,
            broadcast_id=broadcast.id,
        )
    await state.clear()
    translator = current_translator()
    await message.answer(
        t(
            "broadcast.scheduled",
            id=broadcast.id,
            when=moment_text(
                translator, translator.current_locale, send_at, settings.tz, clock.now()
            ),
            zone=escape(settings.timezone),
        ),
        reply_markup=_keyboard(
            [
                (
                    t("broadcast.button.stop"),
                    BroadcastCb(action=BroadcastAction.STOP, broadcast_id=broadcast.id).pack(),
                )
            ]
        ),
    )


async def time_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
    scheduler: Scheduler | None = None,
) -> None:
    await _schedule(
        message, state, session, user, settings, clock, scheduler, locale, message.text or ""
    )


async def time_picked(
    query: CallbackQuery,
    callback_data: BroadcastWizardCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
    scheduler: Scheduler | None = None,
) -> None:
    await query.answer()
    message = message_of(query)
    if message is None:
        return
    preset = (
        SendPreset.IN_ONE_HOUR
        if callback_data.step == BroadcastStep.IN_ONE_HOUR
        else SendPreset.TOMORROW_MORNING
    )
    await edit_markup(message, reply_markup=None)
    await _schedule(message, state, session, user, settings, clock, scheduler, locale, preset)


async def abort(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_text(message, t("broadcast.aborted"))


async def use_the_buttons(message: Message) -> None:
    await message.answer(t("broadcast.error.use_buttons"))


async def stale_wizard_button(query: CallbackQuery) -> None:
    await query.answer(t("broadcast.error.stale"), show_alert=True)


# --------------------------------------------------------------------------- stop


async def stop(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    scheduler: Scheduler | None = None,
) -> None:
    try:
        result = await broadcasts.cancel(
            session,
            broadcast_id=callback_data.broadcast_id,
            actor_id=user.id,
            configured_organisers=settings.organiser_ids,
            now=clock.now(),
        )
    except broadcasts.BroadcastNotFoundError:
        await query.answer(t("broadcast.error.stale"), show_alert=True)
        return
    if not result.stopped:
        await query.answer(t("broadcast.already_finished"), show_alert=True)
        return
    if result.broadcast.started_at is None:
        if scheduler is not None:
            scheduler.cancel(broadcasting.job_id(result.broadcast.id))
        await query.answer(t("broadcast.stopped"))
        message = message_of(query)
        if message is not None:
            await edit_text(message, t("broadcast.cancelled_scheduled", id=result.broadcast.id))
        return
    # Sending: the progress message turns into the final figures once in-flight ones land.
    await query.answer(
        t(
            "broadcast.stopping",
            count=counted("count.messages", result.cancelled_messages),
        ),
        show_alert=True,
    )


# --------------------------------------------------------------------------- refusals


async def refuse_message(message: Message, state: FSMContext) -> None:
    if await state.get_state() is not None:
        await state.clear()
    await message.answer(t("broadcast.refused"))


async def refuse_callback(query: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() in {s.state for s in BroadcastForm.__states__}:
        await state.clear()
    await query.answer(t("broadcast.refused"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        start_wizard, Command("broadcast"), Magic(F.chat.type == "private"), IsOrganiser()
    )
    router.callback_query.register(
        audience_chosen,
        BroadcastAudienceCb.filter(),
        StateFilter(BroadcastForm.audience),
        IsOrganiser(),
    )
    router.callback_query.register(
        target_chosen, BroadcastTargetCb.filter(), StateFilter(BroadcastForm.target), IsOrganiser()
    )
    router.message.register(
        text_given,
        StateFilter(BroadcastForm.text),
        Magic(F.chat.type == "private"),
        IsOrganiser(),
        _not_a_command(),
    )
    router.message.register(
        photo_given,
        StateFilter(BroadcastForm.photo),
        Magic(F.chat.type == "private"),
        IsOrganiser(),
        Magic(F.photo),
    )
    router.message.register(
        photo_expected,
        StateFilter(BroadcastForm.photo),
        Magic(F.chat.type == "private"),
        IsOrganiser(),
        _not_a_command(),
    )
    router.message.register(
        button_given,
        StateFilter(BroadcastForm.button),
        Magic(F.chat.type == "private"),
        IsOrganiser(),
        _not_a_command(),
    )
    router.callback_query.register(
        skipped,
        BroadcastWizardCb.filter(F.step == BroadcastStep.SKIP),
        StateFilter(BroadcastForm.photo, BroadcastForm.button),
        IsOrganiser(),
    )
    router.callback_query.register(
        send_now,
        BroadcastWizardCb.filter(F.step == BroadcastStep.SEND_NOW),
        StateFilter(BroadcastForm.review),
        IsOrganiser(),
    )
    router.callback_query.register(
        ask_time,
        BroadcastWizardCb.filter(F.step == BroadcastStep.SCHEDULE),
        StateFilter(BroadcastForm.review),
        IsOrganiser(),
    )
    router.message.register(
        time_typed,
        StateFilter(BroadcastForm.when),
        Magic(F.chat.type == "private"),
        IsOrganiser(),
        _not_a_command(),
    )
    router.callback_query.register(
        time_picked,
        BroadcastWizardCb.filter(
            F.step.in_({BroadcastStep.IN_ONE_HOUR, BroadcastStep.TOMORROW_MORNING})
        ),
        StateFilter(BroadcastForm.when),
        IsOrganiser(),
    )
    router.callback_query.register(
        abort,
        BroadcastWizardCb.filter(F.step == BroadcastStep.ABORT),
        StateFilter(BroadcastForm),
        IsOrganiser(),
    )
    router.message.register(
        use_the_buttons,
        StateFilter(
            BroadcastForm.audience,
            BroadcastForm.target,
            BroadcastForm.review,
        ),
        Magic(F.chat.type == "private"),
        IsOrganiser(),
        _not_a_command(),
    )
    router.callback_query.register(stale_wizard_button, BroadcastTargetCb.filter(), IsOrganiser())
    router.callback_query.register(stale_wizard_button, BroadcastAudienceCb.filter(), IsOrganiser())
    router.callback_query.register(stale_wizard_button, BroadcastWizardCb.filter(), IsOrganiser())
    router.callback_query.register(
        stop, BroadcastCb.filter(F.action == BroadcastAction.STOP), IsOrganiser()
    )
    router.message.register(refuse_message, StateFilter(BroadcastForm), _not_a_command())
    router.message.register(refuse_message, Command("broadcast"))
    router.callback_query.register(refuse_callback, BroadcastCb.filter())
    router.callback_query.register(refuse_callback, BroadcastTargetCb.filter())
    router.callback_query.register(refuse_callback, BroadcastAudienceCb.filter())
    router.callback_query.register(refuse_callback, BroadcastWizardCb.filter())
    return router
