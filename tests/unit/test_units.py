"""Service-level tests of the foundation: no Telegram involved."""

from __future__ import annotations

import ast
import enum
import typing
from datetime import timedelta

import pytest
from aiogram import F
from aiogram.filters.callback_data import CallbackData
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import ManualClock
from bot.core.settings import PROJECT_ROOT, Settings
from bot.services import users
from bot.services.deeplinks import DeepLink, DeepLinkKind, parse_payload
from bot.services.throttling import MemoryThrottle
from bot.ui.callbacks import ALL_CALLBACKS


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("join_12", DeepLink(DeepLinkKind.JOIN, 12)),
        ("team_3", DeepLink(DeepLinkKind.TEAM, 3)),
        ("maker_987654", DeepLink(DeepLinkKind.MAKER, 987654)),
        ("offer_1", DeepLink(DeepLinkKind.OFFER, 1)),
        ("offer_0", None),
        ("offer_-1", None),
        ("offer_01", None),
        ("party_1", None),
        ("join_", None),
        ("join_12_extra", None),
        ("JOIN_12", None),
        ("", None),
        (None, None),
        ("join_1234567890123456789", None),
        ("🌱_1", None),
    ],
)
def test_deep_link_parsing(payload: str | None, expected: DeepLink | None) -> None:
    assert parse_payload(payload) == expected


def test_deep_link_round_trip() -> None:
    link = DeepLink(DeepLinkKind.MAKER, 42)
    assert parse_payload(link.payload) == link


def _field_kinds(annotation: object) -> tuple[type, bool]:
    """(the field's type, whether None is allowed) for `T` or `T | None`."""
    args = typing.get_args(annotation)
    if type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return inner, True
    if typing.get_origin(annotation) is typing.Annotated:
        return args[0], False
    assert isinstance(annotation, type), annotation
    return annotation, False


def _largest_instance(cls: type[CallbackData]) -> CallbackData:
    """An instance with every field at its longest value."""
    values: dict[str, object] = {}
    for name, field in cls.model_fields.items():
        kind, _ = _field_kinds(field.annotation)
        if issubclass(kind, enum.Enum):
            values[name] = max(kind, key=lambda member: len(str(member.value)))
        elif kind is int:
            # The widest number callback data accepts (bot/ui/callbacks/fields.py DbInt).
            values[name] = -(2**31)
        elif kind is bool:
            values[name] = True
        else:
            raise AssertionError(f"{cls.__name__}.{name}: unexpected field type {kind}")
    return cls(**values)


@pytest.mark.parametrize("cls", ALL_CALLBACKS, ids=lambda cls: cls.__name__)
def test_callback_data_fits_in_64_bytes(cls: type[CallbackData]) -> None:
    packed = _largest_instance(cls).pack()
    assert len(packed.encode()) <= 64, packed


@pytest.mark.parametrize("cls", ALL_CALLBACKS, ids=lambda cls: cls.__name__)
def test_every_callback_enum_value_round_trips(cls: type[CallbackData]) -> None:
    """Each value of each choice a button can carry (and "no choice" where a field allows
    None) comes back from Telegram as the same value, every other field at its widest."""
    largest = _largest_instance(cls)
    for name, field in cls.model_fields.items():
        kind, optional = _field_kinds(field.annotation)
        choices: list[object] = list(kind) if issubclass(kind, enum.Enum) else []
        if optional:
            choices.append(None)
        for choice in choices:
            button = largest.model_copy(update={name: choice})
            assert cls.unpack(button.pack()) == button


def test_callback_choices_are_the_models_own_enums() -> None:
    """A field naming a category, a reason or a language uses the one enum the rest of the
    code uses, not a copy kept in the UI (they would drift apart unnoticed)."""
    from bot.core.settings import Language
    from bot.services.offers import PickupPreset
    from bot.ui.callbacks.makers import MakersListCb, MakerWizardCb
    from bot.ui.callbacks.offers import OfferWizardCb, ReportCb
    from bot.ui.callbacks.settings import LanguageCb
    from models import MakerCategory, OfferCategory, ReportReason

    def kind(cls: type[CallbackData], name: str) -> type:
        return _field_kinds(cls.model_fields[name].annotation)[0]

    assert kind(MakersListCb, "category") is MakerCategory
    assert kind(MakerWizardCb, "category") is MakerCategory
    assert kind(OfferWizardCb, "category") is OfferCategory
    assert kind(OfferWizardCb, "pickup") is PickupPreset
    assert kind(ReportCb, "reason") is ReportReason
    assert kind(LanguageCb, "code") is Language
    for cls in ALL_CALLBACKS:
        for field in cls.model_fields.values():
            enum_type = _field_kinds(field.annotation)[0]
            # UI-only enums (which button of a screen) live beside their callback data;
            # none of them may repeat every value of a model's enum (with an extra "all").
            if issubclass(enum_type, enum.Enum) and enum_type.__module__.startswith(
                "bot.ui.callbacks"
            ):
                values = {member.value for member in enum_type}
                for model_enum in (MakerCategory, OfferCategory, ReportReason, Language):
                    assert not {m.value for m in model_enum} <= values, enum_type


def test_callback_prefixes_are_unique() -> None:
    prefixes = [cls.__prefix__ for cls in ALL_CALLBACKS]
    assert len(prefixes) == len(set(prefixes))


async def test_throttle_allows_a_burst_then_slows_down() -> None:
    clock = ManualClock()
    throttle = MemoryThrottle(clock, rate=2.0, burst=3)
    verdicts = [await throttle.hit(1) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    # Only the first dropped update of a flood is announced.
    assert [v.notify for v in verdicts] == [False, False, False, True, False]
    # Another person is not affected.
    assert (await throttle.hit(2)).allowed
    clock.advance(timedelta(seconds=0.5))
    assert (await throttle.hit(1)).allowed
    assert not (await throttle.hit(1)).allowed


async def test_upsert_user_creates_then_refreshes(session: AsyncSession) -> None:
    clock = ManualClock()
    profile = users.TelegramProfile(id=2**40, first_name="Zoé", username="zoe", language_code="fr")
    created = await users.upsert_user(session, profile, clock.now())
    assert created.id == 2**40
    clock.advance(60)
    renamed = users.TelegramProfile(
        id=2**40, first_name="Zoé L.", username=None, language_code="en"
    )
    again = await users.upsert_user(session, renamed, clock.now())
    assert again is created
    assert again.first_name == "Zoé L." and again.telegram_language == "en"
    assert again.last_seen_at == clock.now()
    await users.set_language(session, again.id, "en")
    with pytest.raises(users.UnsupportedLanguageError):
        await users.set_language(session, again.id, "de")


async def test_upsert_clips_oversized_profile_fields(session: AsyncSession) -> None:
    profile = users.TelegramProfile(
        id=5, first_name="x" * 500, username="u" * 100, language_code="y" * 40
    )
    user = await users.upsert_user(session, profile, ManualClock().now())
    await session.commit()
    assert len(user.first_name) == users.FIRST_NAME_LIMIT


async def test_organisers(session: AsyncSession) -> None:
    now = ManualClock().now()
    assert await users.add_organiser(session, 77, now, "mairie")
    assert not await users.add_organiser(session, 77, now)
    assert await users.is_organiser(session, 77, [])
    assert await users.is_organiser(session, 5, [5])
    assert not await users.is_organiser(session, 6, [5])
    assert await users.all_organiser_ids(session, [5]) == {5, 77}
    assert await users.remove_organiser(session, 77)
    assert not await users.remove_organiser(session, 77)
    with pytest.raises(ValueError, match="positive"):
        await users.add_organiser(session, 0, now)


def test_settings_parse_organiser_ids_and_reject_bad_timezone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORGANISER_IDS", " 12, 34;56 ,")
    settings = Settings(_env_file=None)
    assert settings.organiser_ids == frozenset({12, 34, 56})
    assert settings.database_url == "sqlite+aiosqlite:///greenhood.db"
    assert settings.default_language == "fr"
    assert settings.broadcast_rate == 25
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="time zone"):
        Settings(_env_file=None)


async def test_magic_filters_run_on_the_event_loop(settings: Settings, engine: object) -> None:
    """aiogram would hand every synchronous `F.…` filter to a worker thread: the handlers
    wrap theirs in `Magic`, which decides the same on the event loop."""
    from aiogram.types import Chat

    from bot.app.wiring import create_dispatcher
    from bot.ui.filters import Magic
    from models.database import create_sessionmaker

    dispatcher = create_dispatcher(settings, create_sessionmaker(engine))  # type: ignore[arg-type]
    filters = [
        item
        for router in dispatcher.chain_tail
        for observer in router.observers.values()
        for handler in observer.handlers
        for item in handler.filters or ()
    ]
    assert any(isinstance(item.callback, Magic) for item in filters)
    assert [item for item in filters if item.magic is not None] == []
    assert all(item.awaitable for item in filters)

    class Event:
        def __init__(self, chat: Chat) -> None:
            self.chat = chat

    private = Magic(F.chat.type == "private")
    assert await private(Event(Chat(id=1, type="private"))) is True  # type: ignore[arg-type]
    assert not await private(Event(Chat(id=-1, type="group")))  # type: ignore[arg-type]


def _is_magic(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "F"
    if isinstance(node, ast.Attribute | ast.Subscript):
        return _is_magic(node.value)
    if isinstance(node, ast.Call):
        return _is_magic(node.func)
    if isinstance(node, ast.Compare):
        return _is_magic(node.left)
    if isinstance(node, ast.UnaryOp):
        return _is_magic(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_magic(node.left) or _is_magic(node.right)
    return False


def test_every_magic_filter_in_the_handlers_is_wrapped() -> None:
    """The same rule for the filters a router's observer applies to all its handlers
    (`router.message.filter(...)`), which aiogram keeps out of its public attributes: no
    bare `F.…` is handed to aiogram; a CallbackData's own rule (`XCb.filter(F.…)`) is
    resolved by that filter, on the loop."""
    bare = []
    for path in sorted((PROJECT_ROOT / "handlers").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            wrapper = isinstance(func, ast.Name) and func.id == "Magic"
            own_rule = (
                isinstance(func, ast.Attribute)
                and func.attr == "filter"
                and isinstance(func.value, ast.Name)
                and func.value.id.endswith("Cb")
            )
            if wrapper or own_rule or _is_magic(call):
                continue
            for arg in call.args:
                if _is_magic(arg):
                    bare.append(f"{path.name}:{arg.lineno}")
    assert bare == []
