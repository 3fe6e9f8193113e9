"""Greenhood's bot package.

Importing it first defers the build of aiogram's pydantic models to their first use (see
bot/core/lazy_models.py): about 120 MB less resident memory per process."""

from bot.core.lazy_models import install as _defer_aiogram_models

_defer_aiogram_models()
