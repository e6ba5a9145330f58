"""The `loa` command: one entry point for every part of the system."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from api.cli_broadcast import register as register_broadcast_commands
from api.cli_common import LogLevel, err, fail, load_settings, log, out, setup_logging
from broadcast.core.db import make_engine, transaction, upgrade
from broadcast.core.settings import Environment, Settings
from broadcast.people.models import Role
from stations.errors import LoaError
from stations.timeutil import utcnow
from tts.cli import app as tts_app

__all__ = ["app", "err", "fail", "load_settings", "log", "main", "out", "setup_logging"]

app = typer.Typer(
    name="loa",
    help="Loa: grassroots loudspeaker broadcast scheduling and text-to-speech.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
user_app = typer.Typer(help="Users and sign-ins.", no_args_is_help=True)
areas_app = typer.Typer(help="The administrative area tree.", no_args_is_help=True)
stations_app = typer.Typer(help="Stations and their receivers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(areas_app, name="areas")
app.add_typer(stations_app, name="stations")
app.add_typer(tts_app, name="tts", help="Text to broadcast-ready speech.")

# --- db ------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision (default: the latest)")] = "head",
) -> None:
    """Apply migrations to LOA_DATABASE_URL (safe to run again)."""
    settings = load_settings()
    upgrade(settings.database_url, revision)
    out.print(f"database at {revision}: {_safe_url(settings.database_url)}", highlight=False)


def _safe_url(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- users ---------------------------------------------------------------------------


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Sign-in name (3-64 letters, digits, . _ -)")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="8+ chars")
    ],
    role: Annotated[Role, typer.Option(help="admin, editor, approver or operator")],
    area: Annotated[
        str | None, typer.Option("--area", help="Home area code (omit for a global admin)")
    ] = None,
    full_name: Annotated[str | None, typer.Option(help="Name shown on screen")] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Address for digests and alerts")
    ] = None,
) -> None:
    """Create a user; the first global admin is bootstrapped this way."""
    from broadcast.core import audit
    from broadcast.people.service import create_user
    from stations.areas import Scope

    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            user = create_user(
                session=session,
                username=username,
                password=password,
                role=role,
                area_code=area,
                full_name=full_name,
                email=email,
                scope=Scope.everything(),
            )
            audit.record(
                session=session,
                actor=None,
                action="user.create",
                object_type="user",
                object_id=user.id or 0,
                area_id=user.area_id,
                detail={"username": username, "role": role.value, "via": "cli"},
            )
    except LoaError as exc:
        fail(str(exc))
    out.print(f"created {role.value} '{username}'" + (f" in area {area}" if area else ""))


# --- areas ---------------------------------------------------------------------------


@areas_app.command("import")
def areas_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV with header code,name,level,parent_code, optionally border "
            "(1 for a border commune)",
        ),
    ],
) -> None:
    """Create or update areas from a CSV of official codes; all or nothing."""
    from stations.areas import import_areas, read_areas_csv

    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        rows = read_areas_csv(file)
        with transaction(engine) as session:
            report = import_areas(session=session, rows=rows)
    except LoaError as exc:
        fail(f"{file}: {exc} (nothing was imported)")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text (nothing was imported)")
    out.print(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged",
        highlight=False,
    )


# --- stations ------------------------------------------------------------------------


@stations_app.command("import")
def stations_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV with header area_code,station_name[,station_kind,languages,"
            "receiver_name,receiver_id,location,latitude,longitude] (docs/operations.md)",
        ),
    ],
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            help="Write the new receivers' MQTT logins (CSV) to this new file, readable by "
            "its owner only; default: standard output",
        ),
    ] = None,
) -> None:
    """Register a province's stations and receivers from a CSV file; all or nothing.

    Every line is checked first and every problem is listed with its line and column;
    a file with any problem imports nothing. The receivers' passwords are shown once.
    """
    from broadcast.core import audit
    from stations.areas import Scope
    from stations.fleet import credentials_csv, import_fleet, read_fleet_csv

    if credentials is not None and credentials.exists():
        fail(f"{credentials} exists already; name a new file (nothing was imported)")
    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    written = False
    try:
        rows = read_fleet_csv(file.read_bytes())
        with transaction(engine) as session:
            result = import_fleet(session=session, rows=rows, scope=Scope.everything())
            audit.record(
                session=session,
                actor=None,
                action="receiver.bulk_create",
                object_type="receiver",
                object_id="bulk",
                detail={
                    "stations_created": result.stations_created,
                    "stations_reused": result.stations_reused,
                    "receivers_created": len(result.receivers),
                    "via": "cli",
                },
            )
            text = credentials_csv(result.receivers)
            if credentials is not None:
                # Written before the commit: no receiver exists whose password was lost.
                _write_private(credentials, text, exclusive=True)
                written = True
    except BaseException as exc:
        if written and credentials is not None:
            credentials.unlink(missing_ok=True)  # not committed: those logins do not exist
        if isinstance(exc, LoaError):
            _import_failed(file, exc)
        if isinstance(exc, OSError):
            fail(f"cannot write {credentials}: {exc.strerror} (nothing was imported)")
        raise
    summary = (
        f"{result.stations_created} stations created, {result.stations_reused} existing, "
        f"{len(result.receivers)} receivers created"
    )
    if credentials is None:
        typer.echo(text, nl=False)
        err.print(summary + " (credentials on standard output: shown once)", highlight=False)
    else:
        out.print(f"{summary}; credentials in {credentials} (shown once)", highlight=False)


def _import_failed(file: Path, exc: LoaError) -> NoReturn:
    """Every problem of the file on its own line (file:line, column: message), then fail."""
    problems = exc.fields.get("errors") or []
    for problem in problems:
        column = f", {problem['column']}" if problem.get("column") else ""
        err.print(f"{file}:{problem['line']}{column}: {problem['message']}", highlight=False)
    if problems:
        fail(f"{file}: {exc.fields.get('count', len(problems))} problem(s), nothing was imported")
    fail(f"{file}: {exc} (nothing was imported)")


# --- demo and serve ------------------------------------------------------------------


def ensure_demo(settings: Settings) -> tuple[str, str]:
    """Seed the demo province once; returns the demo admin's username and password."""
    from broadcast.bulletins.media import synthesizer
    from broadcast.demo import (
        demo_receivers_file,
        seed_demo,
        seed_demo_campaign,
        seed_demo_templates,
    )

    cred_file = settings.demo_credentials_file
    if cred_file.is_file():
        saved = json.loads(cred_file.read_text(encoding="utf-8"))
        username, password = saved["username"], saved["password"]
    else:
        username, password = "admin", secrets.token_urlsafe(9)
    engine = make_engine(settings.database_url)
    with transaction(engine) as session:
        result = seed_demo(session=session, admin_username=username, admin_password=password)
        seed_demo_campaign(session=session, today=utcnow().astimezone(settings.zone).date())
    with transaction(engine) as session:
        # Offline speech: the demo's phrases are made by eSpeak NG, never on the network.
        offline = settings.model_copy(update={"tts_online": False})
        seed_demo_templates(session=session, settings=settings, synthesizer=synthesizer(offline))
    engine.dispose()
    receivers_file = demo_receivers_file(cred_file)
    if result.receivers:
        known = {}
        if receivers_file.is_file():
            known = json.loads(receivers_file.read_text(encoding="utf-8"))
        known.update(result.receivers)
        _write_private(receivers_file, json.dumps(known, indent=2))
    if not cred_file.is_file():
        _write_private(cred_file, json.dumps({"username": username, "password": password}))
    return username, password


def _write_private(path: Path, content: str, *, exclusive: bool = False) -> None:
    """Write a file only its owner can read, atomically (`exclusive`: never over another)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


@app.command()
def demo() -> None:
    """Create the demo border province (areas, stations, receivers, users) if missing."""
    settings = load_settings()
    if settings.env == Environment.production:
        fail("demo data is refused when LOA_ENV=production")
    upgrade(settings.database_url)
    username, password = ensure_demo(settings)
    out.print(f"demo admin: {username} / {password}", highlight=False)
    out.print(
        f"demo users (same password): {', '.join(u for u, *_ in _demo_users())}", highlight=False
    )


def _demo_users() -> tuple[tuple[str, Role, str | None], ...]:
    from broadcast.demo import DEMO_USERS

    return DEMO_USERS


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
    with_demo: Annotated[
        bool, typer.Option("--demo", help="Seed the demo province and print its admin login")
    ] = False,
    log_level: LogLevel = "info",
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            max=64,
            help="Serve the web face alone in N processes; dispatch, ingest and rendering "
            "then run in `loa worker` (0: the whole service in this one process)",
        ),
    ] = 0,
) -> None:
    """Run the whole service: migrations, REST API, web console and background work.

    With `--workers N` it serves the REST API, media and console only, in N processes,
    and `loa worker` does the rest (docs/operations.md, "Scaling out").
    """
    import uvicorn

    from api.main import create_app, settle_heap
    from broadcast.bulletins.rendering import RenderWorker
    from broadcast.core.settings import served_at
    from broadcast.runtime.background import start_background

    setup_logging(log_level)
    settings = served_at(load_settings(), host=host, port=port)
    upgrade(settings.database_url)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    if with_demo:
        if settings.env == Environment.production:
            fail("--demo is refused when LOA_ENV=production")
        username, password = ensure_demo(settings)
        out.print(
            f"[bold]Loa[/] demo admin login: [bold]{username}[/] / [bold]{password}[/]",
            highlight=False,
        )
    if workers:
        _serve_web_only(settings, host=host, port=port, workers=workers, log_level=log_level)
        return
    engine = make_engine(settings.database_url)
    application = create_app(settings, engine=engine)
    try:
        # One set of metrics: the app serves what its worker counts.
        background = start_background(settings, engine, metrics=application.state.metrics)
    except (ValueError, ConnectionError, RuntimeError, OSError) as exc:
        fail(f"cannot start the background services: {exc}")
    renderer = RenderWorker(engine, settings)
    renderer.start()
    application.state.renderer = renderer
    application.state.background = background
    where = settings.mqtt_url or f"embedded, 127.0.0.1:{settings.mqtt_embedded_port}"
    out.print(f"MQTT broker: {_safe_url(where) if settings.mqtt_url else where}", highlight=False)
    out.print(f"Loa listening on http://{host}:{port} (API docs at /docs)", highlight=False)
    out.print(f"Receivers download media from {settings.public_base_url}", highlight=False)
    settle_heap()
    try:
        uvicorn.run(application, host=host, port=port, log_level=log_level.lower())
    finally:
        renderer.stop()
        background.stop()
        engine.dispose()


def _serve_web_only(
    settings: Settings, *, host: str, port: int, workers: int, log_level: str
) -> None:
    """`loa serve --workers N`: N uvicorn processes of the web face, no background work."""
    import uvicorn

    # Each process builds its app from the environment (api.main:web_app): hand it the
    # address receivers download from, derived here from the address served.
    os.environ["LOA_PUBLIC_BASE_URL"] = settings.public_base_url
    out.print(
        f"Loa web face listening on http://{host}:{port} in {workers} processes "
        "(API docs at /docs)",
        highlight=False,
    )
    out.print(
        "Dispatch, acknowledgements and speech rendering run in `loa worker`: start it "
        "beside this command",
        highlight=False,
    )
    out.print(f"Receivers download media from {settings.public_base_url}", highlight=False)
    uvicorn.run(
        "api.main:web_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.lower(),
    )


register_broadcast_commands(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
