"""The routes of the web side (the table is in bot/serving/web/__init__.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiogram.utils.web_app import WebAppUser
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from bot.core.metrics import Metrics, metrics_handler
from bot.core.settings import Settings
from bot.services import dashboard, inbox, reports, users
from bot.serving.metrics import count_webhook_updates
from bot.serving.web import auth, pages
from bot.ui.i18n import Translator
from bot.ui.views import dashboard as views
from models import Contest

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Scripts and styles from our own files only; the charts are inline SVG without style
# attributes; the dashboard talks to this server alone.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
HEALTH_TIMEOUT = 3.0
DOWNLOAD_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class WebContext:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    translator: Translator
    clock: Clock
    metrics: Metrics


def _secured(response: web.StreamResponse, *, cache: str = "no-store") -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A screen's address is its key: never sent on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = cache
    return response


def _error(status: int, reason: str) -> web.StreamResponse:
    return _secured(web.json_response({"error": reason}, status=status))


class _Handlers:
    def __init__(self, context: WebContext) -> None:
        self.context = context
        self.settings = context.settings

    # ------------------------------------------------------------ helpers

    def _locale(self, request: web.Request) -> str:
        """?lang= (the dashboard's button carries the organiser's), else the browser's."""
        accepted = [
            part.split(";")[0].strip()
            for part in request.headers.get("Accept-Language", "").split(",")[:5]
        ]
        return self.context.translator.resolve_locale(request.query.get("lang"), *accepted)

    def _public_base(self, request: web.Request) -> str:
        return self.settings.web_base_url or str(request.url.origin())

    def _deny(self, denied: auth.Denied) -> web.StreamResponse:
        self.context.metrics.web_denied.labels(denied.reason).inc()
        return _error(denied.status, "unauthorized" if denied.status == 401 else "forbidden")

    async def _organiser(self, request: web.Request) -> WebAppUser:
        """The organiser behind the init data of this request, or auth.Denied."""
        token = self.settings.token
        if token is None:
            raise auth.Denied(401, "invalid")
        init_data = auth.init_data_from_header(request.headers.get("Authorization"))
        user = auth.verify_init_data(
            token,
            init_data,
            self.context.clock.now(),
            timedelta(seconds=self.settings.webapp_max_age),
        )
        async with self.context.sessionmaker() as session:
            if not await users.is_organiser(session, user.id, self.settings.organiser_ids):
                raise auth.Denied(403, "not_organiser")
        return user

    async def _screen_contest(self, session: AsyncSession, request: web.Request) -> Contest | None:
        key = auth.signing_key(self.settings, "screens")
        return await dashboard.contest_for_screen(session, key, request.match_info["screen"])

    # ------------------------------------------------------------ the dashboard

    async def dashboard_page(self, request: web.Request) -> web.StreamResponse:
        locale = self._locale(request)
        texts = views.dashboard_texts(self.context.translator, locale)
        return _secured(
            web.Response(text=pages.dashboard_page(locale, texts), content_type="text/html"),
            cache="no-cache",
        )

    async def dashboard_data(self, request: web.Request) -> web.StreamResponse:
        try:
            user = await self._organiser(request)
        except auth.Denied as denied:
            return self._deny(denied)
        locale = self._locale(request)
        async with self.context.sessionmaker() as session:
            try:
                data = await dashboard.dashboard(
                    session,
                    user.id,
                    self.settings.organiser_ids,
                    self.context.clock.now(),
                    self.settings.tz,
                    auth.signing_key(self.settings, "screens"),
                )
            except users.NotOrganiserError:
                return self._deny(auth.Denied(403, "not_organiser"))
            # Reading may have archived last week's challenge totals (as /stats does).
            await session.commit()
        body = views.dashboard_json(
            data, self.context.translator, locale, self._public_base(request)
        )
        return _secured(web.json_response(body))

    async def export_link(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        if kind not in dashboard.EXPORT_KINDS:
            return _error(404, "not found")
        try:
            user = await self._organiser(request)
        except auth.Denied as denied:
            return self._deny(denied)
        token = auth.download_token(
            auth.signing_key(self.settings, "downloads"), user.id, kind, self.context.clock.now()
        )
        # Relative to the dashboard's page (.../app/).
        return _secured(web.json_response({"url": f"exports/{kind}?token={token}"}))

    async def export_download(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        if kind not in dashboard.EXPORT_KINDS:
            return _error(404, "not found")
        now = self.context.clock.now()
        try:
            user_id = auth.check_download_token(
                auth.signing_key(self.settings, "downloads"),
                request.query.get("token", ""),
                kind,
                now,
            )
        except auth.Denied as denied:
            return self._deny(denied)
        with tempfile.TemporaryDirectory(prefix="greenhood-export-") as folder:
            async with self.context.sessionmaker() as session:
                try:
                    file = await dashboard.export_file(
                        session,
                        kind,
                        user_id,
                        self.settings.organiser_ids,
                        now,
                        self.settings.tz,
                        Path(folder),
                        reports.csv_style(self.settings.default_language),
                    )
                except users.NotOrganiserError:
                    return self._deny(auth.Denied(403, "not_organiser"))
                await session.commit()
            gzipped = file.name.endswith(".gz")
            response = web.StreamResponse(
                headers={
                    "Content-Type": "application/gzip" if gzipped else "text/csv; charset=utf-8",
                    "Content-Disposition": f'attachment; filename="{file.name}"',
                }
            )
            response.content_length = file.path.stat().st_size
            _secured(response)
            # Sent now, while the temporary folder still holds the file; read in chunks
            # off the event loop (the action log can be tens of megabytes).
            await response.prepare(request)
            with file.path.open("rb") as handle:
                while chunk := await asyncio.to_thread(handle.read, DOWNLOAD_CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response

    # ------------------------------------------------------------ contest screens

    async def screen_page(self, request: web.Request) -> web.StreamResponse:
        async with self.context.sessionmaker() as session:
            contest = await self._screen_contest(session, request)
        if contest is None:
            return _error(404, "not found")
        locale = self._locale(request)
        html = pages.screen_page(
            locale,
            views.screen_texts(self.context.translator, locale),
            contest.name,
            self.settings.screen_refresh_seconds,
        )
        return _secured(web.Response(text=html, content_type="text/html"), cache="no-cache")

    async def screen_data(self, request: web.Request) -> web.StreamResponse:
        async with self.context.sessionmaker() as session:
            contest = await self._screen_contest(session, request)
            if contest is None:
                return _error(404, "not found")
            screen = await dashboard.contest_screen(
                session, contest, self.context.clock.now(), self.settings.tz
            )
        body = views.screen_json(screen, self.context.translator, self._locale(request))
        return _secured(web.json_response(body))

    # ------------------------------------------------------------ the rest

    async def static(self, request: web.Request) -> web.StreamResponse:
        found = pages.static_file(request.match_info["name"])
        if found is None:
            return _error(404, "not found")
        # Versioned addresses (?v=<hash>) never change content: cached for good.
        versioned = request.query.get("v") == found.version
        response = web.Response(body=found.body, content_type=found.content_type)
        return _secured(
            response, cache="public, max-age=31536000, immutable" if versioned else "no-cache"
        )

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), self.context.sessionmaker() as session:
                backlog = await inbox.backlog(session)
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            return web.json_response(
                {"status": "unhealthy", "database": f"error: {type(error).__name__}"}, status=503
            )
        return web.json_response({"status": "ok", "database": "ok", "inbox_backlog": backlog})


async def _to_app(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("app/")


def mount(app: web.Application, context: WebContext, *, webhook_path: str | None = None) -> None:
    """Add the dashboard, the contest screens, the static files and /metrics to `app`;
    with `webhook_path`, also count the updates its webhook accepts."""
    handlers = _Handlers(context)
    router = app.router
    router.add_get("/app", _to_app)
    router.add_get("/app/", handlers.dashboard_page)
    router.add_get("/app/api/dashboard", handlers.dashboard_data)
    router.add_post("/app/api/exports/{kind}", handlers.export_link)
    router.add_get("/app/exports/{kind}", handlers.export_download)
    router.add_get("/screen/{screen}", handlers.screen_page)
    router.add_get("/screen/{screen}/data", handlers.screen_data)
    router.add_get("/static/{name}", handlers.static)
    router.add_get("/metrics", metrics_handler(context.metrics))
    if webhook_path is not None:
        app.middlewares.append(count_webhook_updates(context.metrics, webhook_path))


def create_web_app(context: WebContext) -> web.Application:
    """The web side alone (`greenhood web`), with its own GET /healthz."""
    app = web.Application()
    mount(app, context)
    app.router.add_get("/healthz", _Handlers(context).healthz)
    return app


@contextlib.asynccontextmanager
async def serve_web(context: WebContext, host: str, port: int) -> AsyncIterator[int]:
    """`create_web_app` listening on host:port until the block ends; yields the port."""
    runner = web.AppRunner(create_web_app(context), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound = int(runner.addresses[0][1])
        logger.info("dashboard and contest screens on http://%s:%s/", host, bound)
        yield bound
    finally:
        await runner.cleanup()
