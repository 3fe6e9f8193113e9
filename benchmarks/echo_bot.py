"""A bare aiogram echo bot, the yardstick of the throughput benchmark: the same framework,
transport and concurrency as Greenhood, none of its work (no database, no inbox, no
middlewares, no translations).

It gets every speed-up Greenhood has that is not Greenhood's domain, so that "a share of
the echo bot" measures the domain's cost and nothing else (GENERIC_SPEEDUPS, also printed
by the throughput benchmark):

- uvloop's event loop (as `greenhood run`, bot/app/cli.py);
- the JSON transport of bot/serving/transport.py (JSON request bodies, responses
  validated from JSON text), and aiogram's pydantic models built on first use
  (bot/core/lazy_models.py, installed by importing `bot`);
- filters resolved on the event loop: an asynchronous filter, where aiogram would run a
  bare `F.text` in a worker thread (bot/ui/filters.py `Magic`);
- logging at WARNING, as the benchmark runs Greenhood (LOG_LEVEL=WARNING): aiogram's
  per-update INFO line is never formatted.

    python -m benchmarks.echo_bot polling API_BASE TOKEN
    python -m benchmarks.echo_bot webhook API_BASE TOKEN URL PORT SECRET
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any

import uvloop
from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.serving.transport import JsonAiohttpSession

CONCURRENCY = 64  # Greenhood's MAX_CONCURRENT_UPDATES default

GENERIC_SPEEDUPS = (
    "uvloop",
    "JSON transport (bot/serving/transport.py)",
    "lazy aiogram models (bot/core/lazy_models.py)",
    "async filters on the event loop",
    "logging at WARNING",
)


class HasText(Filter):
    """`F.text`, resolved on the event loop (aiogram runs a synchronous filter, a bare
    magic filter included, in a worker thread)."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None


def dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(HasText())
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @dp.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()
        if query.message is not None and not isinstance(query.message, InaccessibleMessage):
            # A different text each press: an edit that changes nothing is refused (400).
            await query.message.edit_text(f"pressed {query.data} ({query.id})")

    return dp


async def polling(bot: Bot) -> None:
    await bot.delete_webhook()
    await dispatcher().start_polling(
        bot, handle_as_tasks=True, tasks_concurrency_limit=CONCURRENCY, polling_timeout=10
    )


async def webhook(bot: Bot, url: str, port: int, secret: str) -> None:
    dp = dispatcher()
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token=secret).register(app, path="/hook")
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await bot.set_webhook(url, secret_token=secret)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    mode, api, token, *rest = argv
    bot = Bot(token, session=JsonAiohttpSession(api=TelegramAPIServer.from_base(api)))
    job: Coroutine[Any, Any, None]
    if mode == "polling":
        job = polling(bot)
    else:
        url, port, secret = rest
        job = webhook(bot, url, int(port), secret)
    uvloop.run(job)


if __name__ == "__main__":
    main(sys.argv[1:])
