"""Build aiogram's pydantic models on first use instead of at import.

aiogram declares its ~300 Telegram types with pydantic's `defer_build=True`, then forces
every one of them to build at the end of `aiogram/types/__init__.py` (`model_rebuild()`
to resolve forward references), and its ~170 API methods build eagerly anyway. Each model
gets its own validator embedding the schemas of everything it refers to, so importing
aiogram costs about 165 MB and several seconds of CPU here (aiogram 3.31, pydantic 2.13),
although a bot only ever validates a few of them (Update, Message, the methods it calls).

`install()` (called from bot/__init__.py, before anything imports aiogram) makes both
families deferred and skips the forced rebuild; instead, each model is given the types'
namespace that rebuild would have used, so that the model builds itself, unchanged, the
first time it validates or serialises. tests/unit/test_lazy_models.py builds every model this
way to prove none is left unresolvable. GREENHOOD_EAGER_MODELS=1 turns this off.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_DEFERRED_BASES = {
    "aiogram.types.base": "TelegramObject",
    "aiogram.methods.base": "TelegramMethod",
}


class _DeferringLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, name: str) -> None:
        self._inner = inner
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        # Subclasses, defined after this module ran, inherit the setting.
        base = getattr(module, _DEFERRED_BASES[self._name])
        base.model_config["defer_build"] = True


class _DeferringFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _DEFERRED_BASES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _DeferringLoader(spec.loader, fullname)
        return spec


def _subclasses(root: type) -> list[Any]:
    found: list[Any] = []
    stack: list[Any] = [root]
    while stack:
        children: list[Any] = stack.pop().__subclasses__()
        found.extend(children)
        stack.extend(children)
    return found


_installed = False


def install() -> bool:
    """Defer aiogram's models; False when it is too late (aiogram already imported) or
    turned off. Idempotent."""
    global _installed
    if _installed:
        return True
    if os.environ.get("GREENHOOD_EAGER_MODELS") or "aiogram" in sys.modules:
        return False
    from pydantic import BaseModel

    finder = _DeferringFinder()
    sys.meta_path.insert(0, finder)
    model: Any = BaseModel  # patched for the duration of aiogram's import only
    rebuild = model.model_rebuild.__func__

    def skip_forced_rebuild(cls: Any, /, **kwargs: Any) -> bool | None:
        if kwargs.get("_types_namespace") is not None and cls.model_config.get("defer_build"):
            return None
        return rebuild(cls, **kwargs)  # type: ignore[no-any-return]

    model.model_rebuild = classmethod(skip_forced_rebuild)
    try:
        import aiogram  # noqa: F401 - imported here, under the deferral
        import aiogram.types as types
        from aiogram.methods.base import Response, TelegramMethod
        from aiogram.types.base import TelegramObject
    finally:
        model.model_rebuild = classmethod(rebuild)
        sys.meta_path.remove(finder)
    # What aiogram's rebuild loop passes: every type by name, and a few typing aliases.
    from typing import Literal, Optional, Union

    from aiogram.client.default import Default

    namespace: dict[str, Any] = {
        "List": list,
        "Optional": Optional,
        "Union": Union,
        "Literal": Literal,
        "Default": Default,
        **{name: getattr(types, name) for name in types.__all__},
    }
    # A model resolves the forward references of the models it contains with its own
    # namespace: every model that may contain a Telegram type needs it, including the
    # API answers (Response[list[Update]] and the like, made from Response on demand).
    response: Any = Response
    response.__pydantic_parent_namespace__ = namespace
    # aiogram asks for Response[<answer type>] on every API call, and pydantic keeps
    # parametrised models only while referenced: each call would build the class again
    # (with the deferred answer type's whole schema). Keep the few there are.
    parametrise = response.__class_getitem__
    kept: dict[Any, Any] = {}

    def keep_parametrised(cls: Any, parameters: Any) -> Any:
        model = kept.get(parameters)
        if model is None:
            model = kept[parameters] = parametrise(parameters)
        return model

    response.__class_getitem__ = classmethod(keep_parametrised)
    for cls in (*_subclasses(TelegramObject), *_subclasses(TelegramMethod)):
        if not cls.__dict__.get("__pydantic_complete__", False):
            cls.__pydantic_parent_namespace__ = namespace
    _installed = True
    return True
