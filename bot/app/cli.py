"""The `greenhood` command line (Typer)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app.malloc import cap_arenas
from bot.core.clock import SystemClock
from bot.core.settings import Settings

if TYPE_CHECKING:
    from bot.services.imports.makers import ParsedMakers

app = typer.Typer(
    help="Greenhood: a Telegram bot for local ecological action.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
organisers_app = typer.Typer(
    help="Who may run challenges, broadcasts and moderation.", no_args_is_help=True
)
import_app = typer.Typer(help="Import makers from files.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(organisers_app, name="organisers")
app.add_typer(import_app, name="import")

console = Console()
T = TypeVar("T")
# Set by --verbose: Alembic's step-by-step notes are shown (otherwise only its warnings).
_verbose = False


@app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show the migrations' step-by-step log.")
    ] = False,
) -> None:
    global _verbose
    _verbose = verbose


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic says eight lines of INFO on every start ("Context impl SQLiteImpl"…): what
    # matters is already in our own log (the revision, the demo data).
    logging.getLogger("alembic").setLevel(logging.DEBUG if _verbose else logging.WARNING)
    return settings


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    # Before the database threads start (bot/app/malloc.py).
    cap_arenas()

    try:
        import uvloop
    except ImportError:  # Windows: no uvloop, the standard loop
        return asyncio.run(main())
    # uvloop's event loop: about 12 % less CPU per update handled (benchmarks throughput),
    # most of it in aiohttp's client and the database driver's thread hand-offs.
    return uvloop.run(main())


@app.command()
def run(
    webhook: Annotated[
        bool, typer.Option(help="Serve a webhook (WEBHOOK_*) instead of long polling.")
    ] = False,
    no_scheduler: Annotated[
        bool,
        typer.Option(help="Serve updates only; scheduled jobs and sending run in `worker`."),
    ] = False,
) -> None:
    """Run the bot: long polling with BOT_TOKEN, the terminal chat without it."""
    settings = _settings()
    if settings.token is None:
        if webhook:
            console.print("[red]Webhook mode needs BOT_TOKEN.[/red]")
            raise typer.Exit(2)
        console.print("[yellow]No BOT_TOKEN: starting the terminal chat instead.[/yellow]")
        _console(settings)
        return
    if webhook:
        from bot.app.process import run_webhook
        from bot.serving.runtime import ConfigurationError, check_webhook_settings

        try:
            check_webhook_settings(settings)
        except ConfigurationError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from error
        _run(lambda: run_webhook(settings, run_jobs=not no_scheduler))
        return
    from bot.app.process import run_polling

    _run(lambda: run_polling(settings, run_jobs=not no_scheduler))


@app.command()
def worker() -> None:
    """Run only the scheduler and the outbox sender (next to `run --no-scheduler` replicas)."""
    settings = _settings()
    if settings.token is None:
        console.print("[red]The worker sends messages: it needs BOT_TOKEN.[/red]")
        raise typer.Exit(2)
    from bot.app.process import run_worker

    _run(lambda: run_worker(settings))


@app.command()
def web() -> None:
    """Serve the organisers' dashboard, the contest screens and /metrics on WEB_PORT (next
    to a long-polling bot; a webhook server serves them itself)."""
    settings = _settings()
    if settings.token is None:
        console.print("[red]The dashboard checks Telegram's signatures: it needs BOT_TOKEN.[/red]")
        raise typer.Exit(2)
    from bot.app.process import run_web

    _run(lambda: run_web(settings))


def _console(settings: Settings, language: str | None = None) -> None:
    from bot.app.console import run_console

    _run(lambda: run_console(settings, language=language))


@app.command("console")
def console_command(
    language: Annotated[
        str | None, typer.Option("--lang", help="fr or en (default: DEFAULT_LANGUAGE).")
    ] = None,
) -> None:
    """Chat with the bot in this terminal: no Telegram, no token."""
    _console(_settings(), language)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the latest schema (or REVISION)."""
    from models.database import create_engine, current_revision, upgrade

    settings = _settings()

    async def go() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine, revision)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    console.print(f"Database at revision [bold]{_run(go)}[/bold].")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ('base' empties it)."""
    from models.database import create_engine, current_revision, downgrade

    settings = _settings()

    async def go() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await downgrade(engine, revision)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    console.print(f"Database at revision [bold]{_run(go)}[/bold].")


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Option("--from", help="SQLAlchemy URL to copy from.")],
    target: Annotated[str, typer.Option("--to", help="SQLAlchemy URL to copy into (empty).")],
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per insert.")] = 1000,
) -> None:
    """Copy every table into another database (e.g. SQLite to PostgreSQL), checking the
    row counts. The target is migrated first and must hold no data; the source is only
    read (stop the bot first so that nothing changes meanwhile)."""
    from models.copy import CopyError, copy_database

    _settings()  # logging
    try:
        copies = _run(lambda: copy_database(source, target, batch_size=batch_size))
    except CopyError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    table = Table("table", "rows copied")
    for copy in copies:
        table.add_row(copy.table, str(copy.rows))
    console.print(table)
    console.print(f"[green]{sum(c.rows for c in copies)} rows copied; counts match.[/green]")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration does.")],
    rev_id: Annotated[str, typer.Option(help="Revision id, e.g. 0002.")],
) -> None:
    """(Developers) autogenerate a migration from the models' difference to head."""
    import tempfile

    from alembic import command
    from sqlalchemy.engine import Connection

    from models.database import alembic_config, create_engine, upgrade

    async def go() -> None:
        with tempfile.TemporaryDirectory() as folder:
            engine = create_engine(f"sqlite+aiosqlite:///{folder}/revision.db")
            try:
                await upgrade(engine)

                def generate(connection: Connection) -> None:
                    config = alembic_config(connection)
                    command.revision(config, message=message, autogenerate=True, rev_id=rev_id)

                async with engine.begin() as connection:
                    await connection.run_sync(generate)
            finally:
                await engine.dispose()

    _run(go)


@app.command()
def demo() -> None:
    """Load the demo data (idempotent)."""
    from bot.app.demo import load_demo

    settings = _settings()
    report = _run(lambda: load_demo(settings))
    for line in report:
        console.print(line)


def _call_service(settings: Settings, service: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one service call in one committed session on a migrated database."""
    from models.database import create_engine, create_sessionmaker, upgrade

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            async with create_sessionmaker(engine)() as session:
                result = await service(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return _run(go)


@organisers_app.command("add")
def organisers_add(
    user_id: int, note: Annotated[str, typer.Option(help="Who this is.")] = ""
) -> None:
    """Make a Telegram user id an organiser."""
    from bot.services import users

    if user_id <= 0:
        console.print("[red]A Telegram user id is a positive number.[/red]")
        raise typer.Exit(2)
    now = SystemClock().now()
    added = _call_service(_settings(), lambda s: users.add_organiser(s, user_id, now, note))
    console.print(f"{user_id} is {'now' if added else 'already'} an organiser.")


@organisers_app.command("remove")
def organisers_remove(user_id: int) -> None:
    """Remove an organiser added with `organisers add` (ORGANISER_IDS stays as configured)."""
    from bot.services import users

    removed = _call_service(_settings(), lambda s: users.remove_organiser(s, user_id))
    console.print(f"{user_id} {'removed' if removed else 'was not an organiser added here'}.")


@organisers_app.command("list")
def organisers_list() -> None:
    """Organisers from ORGANISER_IDS and from the database."""
    from bot.services import users

    settings = _settings()
    stored = _call_service(settings, users.list_organisers)
    table = Table("Telegram id", "source", "note")
    for organiser in stored:
        table.add_row(str(organiser.user_id), "database", organiser.note)
    for user_id in sorted(settings.organiser_ids):
        table.add_row(str(user_id), "ORGANISER_IDS", "")
    console.print(table)


MAX_PROBLEMS_SHOWN = 50


def _import(parse: Callable[[], ParsedMakers]) -> None:
    """Parse a file, then upsert its makers in one transaction, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from bot.services.imports.makers import UnreadableFileError, upsert_makers

    settings = _settings()
    try:
        with console.status("Reading the file…"):
            parsed = parse()
    except UnreadableFileError as error:
        console.print(f"[red]Nothing imported: {escape(str(error))}[/red]")
        raise typer.Exit(1) from None
    now = SystemClock().now()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("Importing makers", total=len(parsed.records))
        summary = _call_service(
            settings,
            lambda s: upsert_makers(s, parsed, now, progress=lambda n: progress.advance(task, n)),
        )
    for label, style, problems in (
        ("skipped", "red", summary.problems),
        ("warning", "yellow", summary.warnings),
    ):
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            console.print(f"[{style}]{label}[/{style}] {escape(str(problem))}")
        if len(problems) > MAX_PROBLEMS_SHOWN:
            console.print(f"[{style}]… and {len(problems) - MAX_PROBLEMS_SHOWN} more[/{style}]")
    console.print(summary.line(), markup=False)


@import_app.command("makers")
def import_makers(
    file: Annotated[Path, typer.Argument(help="A CSV or GeoJSON file (PRODUCT.md §5).")],
) -> None:
    """Import makers from a CSV or GeoJSON file (idempotent; imported makers are approved)."""
    from bot.services.imports.makers import read_makers_file

    _import(lambda: read_makers_file(file))


@import_app.command("osm")
def import_osm(
    file: Annotated[Path, typer.Argument(help="An OpenStreetMap extract, e.g. FILE.osm.pbf.")],
) -> None:
    """Import craft and local-production shops from an OpenStreetMap extract (idempotent)."""
    from bot.services.imports.osm import read_osm_file

    _import(lambda: read_osm_file(file))


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
