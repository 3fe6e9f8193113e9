"""aiogram's models, deferred by bot.core.lazy_models, still all build and validate."""

from __future__ import annotations

import subprocess
import sys

from bot.core.settings import PROJECT_ROOT

# In a fresh interpreter: this test process has long built the models it used.
CHECK = """
import bot  # installs the deferral before aiogram is imported
from bot.core import lazy_models
assert lazy_models._installed, "not installed"
import aiogram.methods as methods
import aiogram.types as types
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types.base import TelegramObject

assert not types.Update.__pydantic_complete__, "built at import"
models = [*lazy_models._subclasses(TelegramObject), *lazy_models._subclasses(TelegramMethod)]
for model in models:
    if model.__pydantic_generic_metadata__["parameters"]:
        continue  # the generic base itself
    assert model.model_rebuild(raise_errors=True) is not False, model
    assert model.__pydantic_complete__, model
answers = {m.__returning__ for m in map(methods.__dict__.get, methods.__all__)
           if isinstance(m, type) and issubclass(m, TelegramMethod) and m is not TelegramMethod}
for answer in answers:
    Response[answer].model_validate({"ok": True})
update = types.Update.model_validate({
    "update_id": 1,
    "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": False, "first_name": "A"}, "text": "hi",
                "reply_to_message": {"message_id": 0, "date": 0,
                                     "chat": {"id": 1, "type": "private"}}},
})
assert update.message.reply_to_message.chat.id == 1
print(len(models), len(answers))
"""


def test_every_deferred_model_builds_and_validates() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    models, answers = map(int, result.stdout.split())
    assert models > 400
    assert answers > 30


def test_the_deferral_can_be_turned_off() -> None:
    script = "import bot, sys; from bot.core import lazy_models; sys.exit(lazy_models._installed)"
    env = {"GREENHOOD_EAGER_MODELS": "1", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, timeout=120, check=False
    )
    assert result.returncode == 0
