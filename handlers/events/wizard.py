"""/newevent: title, description, category, start, end, place, capacity, linked eco-action,
(organisers:) the contest or team it is for, repetition, optional photo, preview, then
publish (organisers) or submit for moderation (everyone else). Every answer is checked;
a refused one gets a localized reason and the same question again."""

from __future__ import annotations

from enum import StrEnum

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import actions, contests, events, offers
from bot.services.catalogue import ActionCategory, default_catalogue
from bot.services.events import EventDraft, EventFieldError, StartPreset
from bot.services.geo.geocoding import Geocoder
from bot.services.nudges import user_zone
from bot.services.users import is_organiser
from bot.ui.callbacks.events import EventScopeCb, EventWizardAction, EventWizardCb
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_markup, message_of
from bot.ui.filters import Magic
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import Translator, current_translator, t, tn
from bot.ui.keyboards import main_menu
from bot.ui.notices import events as event_notices
from bot.ui.places import (
    LocationProblem,
    location_keyboard,
    location_prompt,
    problem_text,
    read_location,
)
from bot.ui.views import events as views
from bot.ui.views.actions import category_label as action_category_label
from models import Event, EventCategory, EventStatus, Recurrence, User

COMMANDS = [command("newevent", "commands.newevent", Scope.PRIVATE)]

SCOPE_CHOICES = 8


class EventWizard(StatesGroup):
    title = State()
    description = State()
    category = State()
    start = State()
    ends = State()
    location = State()
    capacity = State()
    action = State()
    scope = State()
    recurrence = State()
    photo = State()
    preview = State()


class Step(StrEnum):
    TITLE = "title"
    DESCRIPTION = "description"
    CATEGORY = "category"
    START = "start"
    ENDS = "ends"
    LOCATION = "location"
    CAPACITY = "capacity"
    ACTION = "action"
    SCOPE = "scope"
    RECURRENCE = "recurrence"
    PHOTO = "photo"
    PREVIEW = "preview"


STATES = {step: getattr(EventWizard, step.value) for step in Step}
ORDER = list(Step)
LIMITS = {Step.TITLE: events.TITLE_LIMIT, Step.DESCRIPTION: events.DESCRIPTION_LIMIT}
CAPACITY_PRESETS = (10, 20, 50)


# The conversation data's key for a typed street waiting for the pin of its entrance.
_PENDING_STREET = "event_pending_street"


def _pin_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t("location.button.share"), request_location=True)],
            [KeyboardButton(text=t("events.wizard.button.town_only"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=t("location.placeholder"),
    )


def _step_of(state_name: str | None) -> Step | None:
    for step, state in STATES.items():
        if state.state == state_name:
            return step
    return None


async def _draft(state: FSMContext) -> EventDraft:
    raw = (await state.get_data()).get("event_draft")
    return EventDraft.from_state(raw if isinstance(raw, dict) else {})


async def _save(state: FSMContext, draft: EventDraft) -> None:
    await state.update_data(event_draft=draft.to_state())


def _cb(action: EventWizardAction, **values: object) -> EventWizardCb:
    return EventWizardCb(action=action, **values)


def _actions_keyboard(group: ActionCategory | None) -> InlineKeyboardMarkup:
    """The eco-action a check-in logs: first its category, then the action."""
    builder = InlineKeyboardBuilder()
    catalogue = default_catalogue()
    locale = current_translator().current_locale
    if group is None:
        for category in catalogue.categories():
            builder.button(
                text=action_category_label(category),
                callback_data=_cb(EventWizardAction.ACTION_CATEGORY, group=category),
            )
        builder.button(
            text=t("events.wizard.no_action"), callback_data=_cb(EventWizardAction.NO_ACTION)
        )
        builder.adjust(2)
        return builder.as_markup()
    for action in catalogue.in_category(group):
        builder.button(
            text=truncate(action.title(locale), 60),
            callback_data=_cb(EventWizardAction.ACTION, value=actions.index_of(action, catalogue)),
        )
    builder.button(
        text=t("events.wizard.back"), callback_data=_cb(EventWizardAction.ACTION_CATEGORY)
    )
    builder.adjust(1)
    return builder.as_markup()


async def _scope_keyboard(session: AsyncSession, contest_id: int | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if contest_id is None:
        builder.button(
            text=t("events.wizard.scope.everyone"), callback_data=EventScopeCb(contest=0)
        )
        rows = await events.open_contests(session, limit=SCOPE_CHOICES)
        for contest in rows:
            builder.button(
                text=truncate(contest.name, 60), callback_data=EventScopeCb(contest=contest.id)
            )
    else:
        contest = await contests.contest_by_id(session, contest_id)
        builder.button(
            text=t("events.wizard.scope.whole_contest", contest=truncate(contest.name, 40)),
            callback_data=EventScopeCb(contest=contest_id, team=0),
        )
        for team in (await contests.teams_of_contest(session, contest_id))[:SCOPE_CHOICES]:
            builder.button(
                text=truncate(team.name, 60),
                callback_data=EventScopeCb(contest=contest_id, team=team.id),
            )
    builder.adjust(1)
    return builder.as_markup()


def _buttons(step: Step, has_maker: bool) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    if step is Step.CATEGORY:
        for category in EventCategory:
            builder.button(
                text=views.category_label(category.value),
                callback_data=_cb(EventWizardAction.CATEGORY, category=category),
            )
        builder.adjust(2)
    elif step is Step.START:
        for preset in StartPreset:
            builder.button(
                text=t(f"events.wizard.preset.{preset.value}"),
                callback_data=_cb(EventWizardAction.START, preset=preset),
            )
        builder.adjust(1)
    elif step is Step.ENDS:
        for hours in events.DURATIONS_HOURS:
            builder.button(
                text=tn("events.wizard.duration", hours, hours=hours),
                callback_data=_cb(EventWizardAction.DURATION, value=hours),
            )
        builder.adjust(4)
    elif step is Step.LOCATION and has_maker:
        builder.button(
            text=t("events.wizard.use_maker"), callback_data=_cb(EventWizardAction.MAKER)
        )
    elif step is Step.CAPACITY:
        builder.button(
            text=t("events.wizard.no_limit"), callback_data=_cb(EventWizardAction.CAPACITY, value=0)
        )
        for capacity in CAPACITY_PRESETS:
            builder.button(
                text=tn("events.wizard.places", capacity, count=capacity),
                callback_data=_cb(EventWizardAction.CAPACITY, value=capacity),
            )
        builder.adjust(1, len(CAPACITY_PRESETS))
    elif step is Step.RECURRENCE:
        for recurrence in Recurrence:
            builder.button(
                text=t(f"events.wizard.recurrence.{recurrence.value}"),
                callback_data=_cb(EventWizardAction.RECURRENCE, recurrence=recurrence),
            )
        builder.adjust(1)
    elif step is Step.PHOTO:
        builder.button(text=t("events.wizard.skip"), callback_data=_cb(EventWizardAction.SKIP))
    else:
        return None
    return builder.as_markup()


def _draft_event(draft: EventDraft, user_id: int, zone: str) -> Event:
    """An unsaved Event, only to draw the preview with the events' own card."""
    starts = draft.starts_at
    return Event(
        id=0,
        title=draft.title,
        description=draft.description,
        category=draft.category,
        starts_at=starts,
        ends_at=draft.ends_at,
        timezone=zone,
        latitude=draft.latitude or 0.0,
        longitude=draft.longitude or 0.0,
        address=draft.address,
        capacity=draft.capacity,
        seats_taken=0,
        photo_file_id=draft.photo_file_id,
        action_slug=draft.action_slug,
        contest_id=draft.contest_id,
        team_id=draft.team_id,
        recurrence=draft.recurrence,
        organiser_id=user_id,
        status=EventStatus.PUBLISHED.value,
        revision=0,
    )


class Context:
    """What every step needs, from the handler's arguments."""

    def __init__(
        self,
        session: AsyncSession,
        user: User,
        settings: Settings,
        clock: Clock,
        locale: str,
    ) -> None:
        self.session, self.user, self.settings, self.clock, self.locale = (
            session,
            user,
            settings,
            clock,
            locale,
        )

    @property
    def zone_name(self) -> str:
        return str(user_zone(self.user, self.settings.timezone))

    async def organiser(self) -> bool:
        return await is_organiser(self.session, self.user.id, self.settings.organiser_ids)


async def ask(
    message: Message, state: FSMContext, step: Step, ctx: Context, error: str | None = None
) -> None:
    """Put the conversation at `step` and ask its question (after `error`, if any)."""
    if step is Step.SCOPE and not await ctx.organiser():
        step = Step.RECURRENCE
    await state.set_state(STATES[step])
    draft = await _draft(state)
    if step is Step.PREVIEW:
        organiser = await ctx.organiser()
        builder = InlineKeyboardBuilder()
        builder.button(
            text=t("events.wizard.publish" if organiser else "events.wizard.submit"),
            callback_data=_cb(EventWizardAction.PUBLISH),
        )
        builder.button(
            text=t("events.wizard.restart"), callback_data=_cb(EventWizardAction.RESTART)
        )
        if draft.starts_at is None or draft.ends_at is None:
            await ask(message, state, Step.START, ctx, t("events.wizard.error.bad_time"))
            return
        preview = _draft_event(draft, ctx.user.id, ctx.zone_name)
        scope = await views.scope_text(ctx.session, preview)
        text = (
            t("events.wizard.preview")
            + "\n\n"
            + views.card_text(preview, events.Counts(), ctx.clock.now(), ctx.locale, scope=scope)
        )
        if draft.photo_file_id:
            await message.answer_photo(draft.photo_file_id)
        await message.answer(text, reply_markup=builder.as_markup())
        return
    lines = [error] if error else []
    lines.append(t(f"events.wizard.ask.{step.value}", max=events.CAPACITY_MAX))
    if step is Step.LOCATION:
        maker = await offers.own_approved_maker(ctx.session, ctx.user.id)
        lines.append(location_prompt())
        await message.answer("\n\n".join(lines), reply_markup=location_keyboard())
        if maker is not None:
            await message.answer(
                t("events.wizard.maker_hint", name=escape(maker.name)),
                reply_markup=_buttons(step, True),
            )
        return
    if step is Step.ACTION:
        await message.answer("\n\n".join(lines), reply_markup=_actions_keyboard(None))
        return
    if step is Step.SCOPE:
        await message.answer(
            "\n\n".join(lines), reply_markup=await _scope_keyboard(ctx.session, None)
        )
        return
    await message.answer("\n\n".join(lines), reply_markup=_buttons(step, False))


async def _next(message: Message, state: FSMContext, step: Step, ctx: Context) -> None:
    await ask(message, state, ORDER[ORDER.index(step) + 1], ctx)


def _error(step: Step, error: EventFieldError) -> str:
    return t(
        f"events.wizard.error.{error.code}",
        limit=LIMITS.get(step, 0),
        max=events.CAPACITY_MAX,
        days=events.MAX_AHEAD.days,
    )


# ----------------------------------------------------------------------------- handlers


async def newevent_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    ctx = Context(session, user, settings, clock, locale)
    await state.update_data(event_draft=EventDraft().to_state())
    intro = "events.wizard.intro" if await ctx.organiser() else "events.wizard.intro_proposal"
    await message.answer(t(intro))
    await ask(message, state, Step.TITLE, ctx)


_TEXT_STEPS = StateFilter(
    EventWizard.title,
    EventWizard.description,
    EventWizard.start,
    EventWizard.ends,
    EventWizard.capacity,
)


async def text_answer(
    message: Message,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    step = _step_of(raw_state)
    if step is None:  # pragma: no cover - the filter only lets wizard states through
        return
    ctx = Context(session, user, settings, clock, locale)
    draft = await _draft(state)
    text = message.text or ""
    zone = user_zone(user, settings.timezone)
    try:
        if step is Step.TITLE:
            draft.title = events.clean_title(text)
        elif step is Step.DESCRIPTION:
            draft.description = events.clean_description(text)
        elif step is Step.START:
            draft.starts_at = events.parse_start(text, clock.now(), zone)
        elif step is Step.ENDS:
            if draft.starts_at is None:
                raise EventFieldError("bad_time")
            draft.ends_at = events.parse_end(text, draft.starts_at, zone)
        elif step is Step.CAPACITY:
            draft.capacity = events.parse_capacity(text)
    except EventFieldError as error:
        restart = Step.START if step is Step.ENDS and draft.starts_at is None else step
        await ask(message, state, restart, ctx, _error(step, error))
        return
    await _save(state, draft)
    await _next(message, state, step, ctx)


async def not_text(
    message: Message,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    step = _step_of(raw_state)
    if step is not None:
        ctx = Context(session, user, settings, clock, locale)
        await ask(message, state, step, ctx, t("events.wizard.error.not_text"))


async def use_the_buttons(
    message: Message,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    step = _step_of(raw_state) or Step.CATEGORY
    ctx = Context(session, user, settings, clock, locale)
    await ask(message, state, step, ctx, t("events.wizard.error.use_buttons"))


async def location_answer(
    message: Message,
    state: FSMContext,
    geocoder: Geocoder,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
    i18n: Translator,
) -> None:
    ctx = Context(session, user, settings, clock, locale)
    draft = await _draft(state)
    # A street typed earlier that the geocoder placed only at its town's centre.
    pending = (await state.get_data()).get(_PENDING_STREET)
    await state.update_data({_PENDING_STREET: None})
    if (
        isinstance(pending, str)
        and message.text is not None
        and message.text in i18n.every_translation("events.wizard.button.town_only")
    ):
        # The event keeps its town's centre and says the town only: no street over a
        # pin that does not stand on it.
        await _location_noted(message, state, draft, ctx)
        return
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await ask(message, state, Step.LOCATION, ctx, problem_text(where, message))
        return
    draft.latitude, draft.longitude, draft.maker_id = where.latitude, where.longitude, None
    draft.address = where.label or ""
    if message.venue is not None and message.venue.address:
        draft.address = ", ".join(p for p in (message.venue.title, message.venue.address) if p)
    elif where.street and not where.precise:
        # "12 rue X, Bordeaux": the town is found, not the street. Ask for the pin of the
        # entrance rather than send people to the town's centre with a street name.
        await state.update_data({_PENDING_STREET: f"{where.street}, {where.label or ''}"})
        draft.address = (where.label or "")[: events.ADDRESS_LIMIT]
        await _save(state, draft)
        await message.answer(
            t(
                "events.wizard.ask.pin",
                address=escape(where.street),
                town=escape(where.label or ""),
            ),
            reply_markup=_pin_keyboard(),
        )
        return
    elif isinstance(pending, str) and where.precise and where.label is None:
        # The pin of the entrance, sent after the street: the street goes with it.
        draft.address = pending.strip(", ")
    await _location_noted(message, state, draft, ctx)


async def _location_noted(
    message: Message, state: FSMContext, draft: EventDraft, ctx: Context
) -> None:
    draft.address = draft.address[: events.ADDRESS_LIMIT]
    await _save(state, draft)
    place = escape(draft.address) if draft.address else t("events.card.on_map")
    await message.answer(t("events.wizard.location_noted", place=place), reply_markup=main_menu())
    await _next(message, state, Step.LOCATION, ctx)


async def photo_answer(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    draft = await _draft(state)
    # The largest size Telegram made of it.
    draft.photo_file_id = message.photo[-1].file_id if message.photo else None
    await _save(state, draft)
    await ask(message, state, Step.PREVIEW, Context(session, user, settings, clock, locale))


async def not_a_photo(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    ctx = Context(session, user, settings, clock, locale)
    await ask(message, state, Step.PHOTO, ctx, t("events.wizard.error.not_photo"))


async def scope_button(
    query: CallbackQuery,
    callback_data: EventScopeCb,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    message = message_of(query)
    ctx = Context(session, user, settings, clock, locale)
    if _step_of(raw_state) is not Step.SCOPE or message is None or not await ctx.organiser():
        await query.answer(t("events.wizard.expired"), show_alert=True)
        return
    draft = await _draft(state)
    contest_id = callback_data.contest or None
    team_id = callback_data.team or None
    try:
        contest_id, team_id = await events.check_scope(session, contest_id, team_id)
    except EventFieldError:
        await query.answer(t("events.wizard.error.bad_scope"), show_alert=True)
        return
    if (
        contest_id is not None
        and team_id is None
        and callback_data.team == 0
        and (draft.contest_id != contest_id)
    ):
        # A contest picked: now the whole contest or one of its teams.
        draft.contest_id, draft.team_id = contest_id, None
        await _save(state, draft)
        await query.answer()
        await edit_markup(message, await _scope_keyboard(session, contest_id))
        return
    draft.contest_id, draft.team_id = contest_id, team_id
    await _save(state, draft)
    await query.answer()
    await edit_markup(message, reply_markup=None)
    await _next(message, state, Step.SCOPE, ctx)


async def wizard_button(
    query: CallbackQuery,
    callback_data: EventWizardCb,
    state: FSMContext,
    raw_state: str | None,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
    locale: str,
) -> None:
    step = _step_of(raw_state)
    message = message_of(query)
    if step is None or message is None:
        await query.answer(t("events.wizard.expired"), show_alert=True)
        return
    ctx = Context(session, user, settings, clock, locale)
    draft = await _draft(state)
    action = callback_data.action
    now = clock.now()
    zone = user_zone(user, settings.timezone)
    try:
        if action is EventWizardAction.CATEGORY and step is Step.CATEGORY:
            if callback_data.category is None:
                raise EventFieldError("bad_category")
            draft.category = callback_data.category.value
        elif action is EventWizardAction.START and step is Step.START:
            if callback_data.preset is None:
                raise EventFieldError("bad_time")
            draft.starts_at = events.preset_start(callback_data.preset, now, zone)
        elif action is EventWizardAction.DURATION and step is Step.ENDS:
            if draft.starts_at is None:
                raise EventFieldError("bad_time")
            draft.ends_at = events.duration_end(draft.starts_at, callback_data.value)
        elif action is EventWizardAction.MAKER and step is Step.LOCATION:
            maker = await offers.own_approved_maker(session, user.id)
            if maker is None:
                await query.answer(t("events.wizard.no_maker"), show_alert=True)
                return
            draft.maker_id = maker.id
            draft.latitude, draft.longitude = maker.latitude, maker.longitude
            draft.address = offers.maker_address(maker)
        elif action is EventWizardAction.CAPACITY and step is Step.CAPACITY:
            value = callback_data.value
            if value and value not in CAPACITY_PRESETS:
                raise EventFieldError("bad_capacity")
            draft.capacity = value or None
        elif action is EventWizardAction.ACTION_CATEGORY and step is Step.ACTION:
            await query.answer()
            await edit_markup(message, _actions_keyboard(callback_data.group))
            return
        elif action is EventWizardAction.ACTION and step is Step.ACTION:
            try:
                chosen = actions.action_at(callback_data.value)
            except actions.UnknownActionError:
                raise EventFieldError("bad_action") from None
            draft.action_slug = chosen.slug
        elif action is EventWizardAction.NO_ACTION and step is Step.ACTION:
            draft.action_slug = None
        elif action is EventWizardAction.RECURRENCE and step is Step.RECURRENCE:
            if callback_data.recurrence is None:
                raise EventFieldError("bad_recurrence")
            draft.recurrence = callback_data.recurrence.value
        elif action is EventWizardAction.SKIP and step is Step.PHOTO:
            draft.photo_file_id = None
        elif action is EventWizardAction.RESTART and step is Step.PREVIEW:
            await query.answer()
            await state.update_data(event_draft=EventDraft().to_state())
            await ask(message, state, Step.TITLE, ctx)
            return
        elif action is EventWizardAction.PUBLISH and step is Step.PREVIEW:
            await _publish(query, message, state, bot, draft, ctx, translator)
            return
        else:
            await query.answer(t("events.wizard.expired"), show_alert=True)
            return
    except EventFieldError as error:
        await query.answer()
        await ask(message, state, step, ctx, _error(step, error))
        return
    await _save(state, draft)
    await query.answer()
    await edit_markup(message, reply_markup=None)
    if step is Step.ENDS:
        noted = _draft_event(draft, user.id, ctx.zone_name)
        await message.answer(
            t("events.wizard.time_noted", when=views.when_text(translator, locale, noted))
        )
    if step is Step.LOCATION:
        place = escape(draft.address) if draft.address else t("events.card.on_map")
        await message.answer(
            t("events.wizard.location_noted", place=place), reply_markup=main_menu()
        )
    await _next(message, state, step, ctx)


async def _publish(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    bot: Bot,
    draft: EventDraft,
    ctx: Context,
    translator: Translator,
) -> None:
    now = ctx.clock.now()
    try:
        event, notices = await events.create_event(
            ctx.session, ctx.user.id, draft, now, ctx.settings.organiser_ids, ctx.zone_name
        )
    except EventFieldError as error:
        await query.answer()
        timing = error.code in ("past", "too_soon", "too_far", "bad_time", "end_before_start")
        restart = Step.START if timing else Step.TITLE
        if error.code == "too_many_pending":
            await state.set_state(None)
            await message.answer(_error(Step.PREVIEW, error), reply_markup=main_menu())
            return
        await ask(message, state, restart, ctx, _error(restart, error))
        return
    # In the publication's transaction: the team groups hear of it once it commits.
    await event_notices.enqueue(ctx.session, translator, notices, now, ctx.settings)
    await query.answer()
    await state.set_state(None)
    await state.update_data(event_draft=None)
    await edit_markup(message, reply_markup=None)
    if event.status == EventStatus.PENDING.value:
        await message.answer(t("events.wizard.submitted", id=event.id), reply_markup=main_menu())
        return
    await message.answer(t("events.wizard.published", id=event.id), reply_markup=main_menu())
    await views.send_card(
        bot, message.chat.id, ctx.session, event, ctx.user, ctx.settings, now, ctx.locale
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Magic(F.chat.type == "private"))
    router.message.register(newevent_command, Command("newevent"))
    router.message.register(text_answer, _TEXT_STEPS, Magic(F.text), Magic(~F.text.startswith("/")))
    router.message.register(not_text, _TEXT_STEPS, Magic(~F.text))
    router.message.register(
        use_the_buttons,
        StateFilter(
            EventWizard.category,
            EventWizard.action,
            EventWizard.scope,
            EventWizard.recurrence,
            EventWizard.preview,
        ),
        Magic(~F.text.startswith("/")),
    )
    router.message.register(
        location_answer, StateFilter(EventWizard.location), Magic(~F.text.startswith("/"))
    )
    router.message.register(photo_answer, StateFilter(EventWizard.photo), Magic(F.photo))
    router.message.register(
        not_a_photo, StateFilter(EventWizard.photo), Magic(~F.text.startswith("/"))
    )
    router.callback_query.register(wizard_button, EventWizardCb.filter())
    router.callback_query.register(scope_button, EventScopeCb.filter())
    return router
