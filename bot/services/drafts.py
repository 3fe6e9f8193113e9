"""Wizard drafts to and from the conversation's state (aiogram FSM data).

A draft is a dataclass of plain fields, each with a default. The state holds JSON and
may come from an older version of the bot, or from another storage, so reading trusts
no value's type: a missing, empty or ill-typed value reads as the field's default.
Supported field types: str, int, float, bool, datetime (kept as ISO 8601), each possibly
optional."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import MISSING, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, Union, get_args, get_origin, get_type_hints

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    D = TypeVar("D", bound=DataclassInstance)


def to_state(draft: DataclassInstance) -> dict[str, object]:
    return {field.name: _encode(getattr(draft, field.name)) for field in fields(draft)}


def from_state(cls: type[D], data: Mapping[str, object]) -> D:
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in fields(cls):
        if field.default is MISSING:
            raise TypeError(f"{cls.__name__}.{field.name} needs a default to be a draft")
        values[field.name] = _decode(hints[field.name], data.get(field.name), field.default)
    return cls(**values)


def _encode(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _decode(kind: Any, value: object, default: object) -> object:
    if get_origin(kind) in (Union, types.UnionType):
        (kind,) = [arg for arg in get_args(kind) if arg is not type(None)]
    if kind is bool:
        return value if isinstance(value, bool) else default
    # bool is an int to Python, never to a draft.
    if isinstance(value, bool):
        return default
    if kind is str:
        return value if isinstance(value, str) and value else default
    if kind is int:
        return value if isinstance(value, int) else default
    if kind is float:
        return float(value) if isinstance(value, int | float) else default
    if kind is datetime:
        try:
            return datetime.fromisoformat(value) if isinstance(value, str) else default
        except ValueError:
            return default
    raise TypeError(f"a draft cannot hold a {kind}")
