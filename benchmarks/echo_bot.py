"""A bare aiogram echo bot, the yardstick of the throughput benchmark: the same framework,
transport and concurrency as Greenhood, none of its work (no database, no inbox, no
middlewares, no translations).

    python -m benchmarks.echo_bot polling API_BASE TOKEN
    python -m benchmarks.echo_bot webhook API_BASE TOKEN URL PORT SECRET
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

CONCURRENCY = 64  # Greenhood's MAX_CONCURRENT_UPDATES default


def dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(F.text)
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
    mode, api, token, *rest = argv
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    if mode == "polling":
        asyncio.run(polling(bot))
    else:
        url, port, secret = rest
        asyncio.run(webhook(bot, url, int(port), secret))


if __name__ == "__main__":
    main(sys.argv[1:])
