"""`loa worker`, `loa receiver`, `loa simulate` and `loa mqtt sync` (registered by api/cli.py)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import LogLevel, err, fail, load_settings, out, setup_logging

mqtt_app = typer.Typer(help="The MQTT broker: mosquitto files for receivers.", no_args_is_help=True)

# Where a receiver agent reads its MQTT password when neither flag gives it.
RECEIVER_PASSWORD_ENV = "LOA_RECEIVER_PASSWORD"


def receiver_codecs(text: str) -> list[str]:
    """The codecs of `--codecs` ("mp3,opus"); ValueError naming an unknown one."""
    from stations.agent import PLAYABLE_CODECS

    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PLAYABLE_CODECS]
    if unknown or not names:
        raise ValueError(
            f"Unknown codec {', '.join(unknown) or repr(text)}: use mp3, opus or mp3,opus"
        )
    return sorted(set(names))


def receiver_features(*, relay: bool, filler: bool) -> tuple[str, ...]:
    """What `loa receiver` declares it airs beyond files (`--relay`, `--filler`)."""
    from stations.agent import FILLER_FEATURE, RELAY_FEATURE, RELAY_VOLUME_FEATURE

    wanted = ((RELAY_FEATURE, relay), (RELAY_VOLUME_FEATURE, relay), (FILLER_FEATURE, filler))
    return tuple(name for name, on in wanted if on)


def receiver_password(
    *, flag: str | None, password_file: Path | None, environ: dict[str, str]
) -> tuple[str, str | None]:
    """The receiver's password and a warning to show, from a file, the environment or the flag.

    A password on the command line is visible to every user of the machine (`ps`), so
    the flag is kept for compatibility only and warned about.
    """
    if password_file is not None:
        try:
            secret = password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(
                f"cannot read --password-file {password_file}: {exc.strerror}"
            ) from None
        if not secret:
            raise ValueError(f"--password-file {password_file} is empty")
        return secret, None
    if environ.get(RECEIVER_PASSWORD_ENV):
        return environ[RECEIVER_PASSWORD_ENV], None
    if flag:
        return flag, (
            "warning: --password shows the secret to every user of this machine (ps); "
            f"set {RECEIVER_PASSWORD_ENV} or use --password-file instead"
        )
    raise ValueError(
        f"no password given. Probable cause: set {RECEIVER_PASSWORD_ENV} or pass --password-file"
    )


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_a: stop.set())
    while not stop.wait(1.0):
        pass


def register(app: typer.Typer) -> None:
    """Add the broadcast commands to the `loa` app."""
    app.add_typer(mqtt_app, name="mqtt")

    @app.command()
    def worker(
        log_level: LogLevel = "info",
        render: Annotated[
            bool,
            typer.Option(
                "--render/--no-render",
                help="Also render bulletins' speech (what `loa serve --workers N` leaves out)",
            ),
        ] = True,
        instance: Annotated[
            int | None,
            typer.Option(
                "--instance",
                min=1,
                help="Which of LOA_WORKER_INSTANCES workers this is (its own MQTT logins)",
            ),
        ] = None,
    ) -> None:
        """Run the scheduler, dispatcher, ingestor, deadlines and rendering without the web API.

        Starts the embedded MQTT broker too when LOA_MQTT_URL is unset (then do not run
        the whole-service `loa serve` at the same time: both would listen on
        LOA_MQTT_EMBEDDED_PORT). Beside `loa serve --workers N`, it is the service's
        background half. Several workers may share a database and an external broker:
        one leads (schedules, dispatches, applies deadlines), all ingest
        (docs/operations.md, "Scaling out").
        """
        from api.main import settle_heap
        from broadcast.bulletins.rendering import RenderWorker
        from broadcast.core.db import make_engine, upgrade
        from broadcast.runtime.background import start_background

        setup_logging(log_level)
        settings = load_settings()
        if instance is not None:
            try:
                settings = settings.model_validate(
                    {**settings.model_dump(), "worker_instance": instance}
                )
            except ValueError as exc:
                fail(f"--instance {instance}: {exc}")
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            handle = start_background(settings, engine)
        except (ValueError, ConnectionError, RuntimeError) as exc:
            fail(str(exc))
        renderer = RenderWorker(engine, settings) if render else None
        if renderer is not None:
            renderer.start()
        out.print("Loa worker running (Ctrl-C to stop)", highlight=False)
        settle_heap()
        try:
            _wait_for_signal()
        finally:
            if renderer is not None:
                renderer.stop()
            handle.stop()

    @app.command()
    def receiver(
        receiver_id: Annotated[str, typer.Option("--id", help="Receiver id (its MQTT username)")],
        broker: Annotated[str, typer.Option(help="Broker URL, e.g. mqtt://127.0.0.1:1883")],
        password: Annotated[
            str | None,
            typer.Option(
                help=f"The MQTT password (visible in ps: prefer {RECEIVER_PASSWORD_ENV} "
                "or --password-file)"
            ),
        ] = None,
        password_file: Annotated[
            Path | None,
            typer.Option("--password-file", help="A file holding the MQTT password"),
        ] = None,
        media_cache: Annotated[
            Path, typer.Option("--media-cache", help="Folder of downloaded audio, by sha256")
        ] = Path("./var/receiver-cache"),
        time_scale: Annotated[
            float, typer.Option("--time-scale", help="Simulated playback speed: 0.01 = 100x faster")
        ] = 1.0,
        player: Annotated[
            str | None,
            typer.Option(
                help="Play for real with this command, e.g. 'ffplay -nodisp -autoexit' "
                "(items' volumes as -af volume=); {file}, {volume}, {index} are filled in "
                "where the command names them"
            ),
        ] = None,
        prefix: Annotated[
            str, typer.Option(help="Topic prefix (LOA_MQTT_TOPIC_PREFIX)")
        ] = "loa/v1",
        codecs: Annotated[
            str,
            typer.Option(
                help="Codecs the player plays, declared to the server: 'mp3,opus', or 'mp3' "
                "for a player that reads only MP3"
            ),
        ] = "mp3,opus",
        relay: Annotated[
            bool,
            typer.Option(
                "--relay/--no-relay",
                help='Relay live streams (declared to the server as features: ["relay"])',
            ),
        ] = True,
        filler: Annotated[
            bool,
            typer.Option(
                "--filler/--no-filler",
                help="Air the station's filler in its broadcast hours when nothing else airs "
                '(declared to the server as features: ["filler"])',
            ),
        ] = True,
        relay_output: Annotated[
            str,
            typer.Option(
                "--relay-output",
                help="ffmpeg output arguments for relays, e.g. '-f alsa default' "
                "(default: the null sink, which plays nowhere)",
            ),
        ] = "-f null -",
        log_level: LogLevel = "info",
    ) -> None:
        """Run one receiver agent: take programmes, download, verify, air, acknowledge."""
        from stations.agent import run_receiver
        from stations.mqtt import BrokerAddress

        setup_logging(log_level)
        try:
            secret, warning = receiver_password(
                flag=password, password_file=password_file, environ=dict(os.environ)
            )
        except ValueError as exc:
            fail(str(exc))
        if warning:
            err.print(warning, highlight=False)
        try:
            address = BrokerAddress.from_url(broker)
            declared = receiver_codecs(codecs)
        except ValueError as exc:
            fail(str(exc))
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_a: stop.set())
        out.print(f"Receiver {receiver_id} -> {address.host}:{address.port}", highlight=False)
        run_receiver(
            receiver_id=receiver_id,
            password=secret,
            address=address,
            cache_dir=media_cache,
            prefix=prefix,
            time_scale=time_scale,
            player_command=player,
            stop=stop,
            codecs=declared,
            features=receiver_features(relay=relay, filler=filler),
            relay_output=relay_output,
        )

    @app.command()
    def simulate(
        receivers: Annotated[
            int, typer.Option(help="How many receivers to add to the simulation", min=0)
        ] = 0,
        station_id: Annotated[
            int | None,
            typer.Option("--station-id", help="Station they belong to (default: first IP station)"),
        ] = None,
        broker: Annotated[
            str | None, typer.Option(help="Broker URL (default: LOA_MQTT_URL or the embedded one)")
        ] = None,
        media_cache: Annotated[
            Path, typer.Option("--media-cache", help="One cache shared by every receiver")
        ] = Path("./var/sim-cache"),
        time_scale: Annotated[
            float, typer.Option("--time-scale", help="Playback speed factor")
        ] = 0.01,
        filler: Annotated[
            bool,
            typer.Option(
                "--filler/--no-filler",
                help='Air the station\'s filler (declared to the server as features: ["filler"])',
            ),
        ] = True,
        log_level: LogLevel = "warning",
    ) -> None:
        """Run simulated receivers (real MQTT sessions) for one IP station.

        Outside production the station's demo receivers (from `loa demo`) join the
        simulation with the passwords the demo kept, so a demo broadcast reaches all of
        them; `--receivers N` adds N more, registered as sim-<station>-<n>, whose passwords
        are reset on every run: they are for demos and tests only.
        """
        from sqlmodel import col, select

        from broadcast.core.db import make_engine, transaction, upgrade
        from broadcast.core.settings import Environment
        from broadcast.demo import demo_receiver_passwords
        from broadcast.runtime.worker import broker_address
        from stations import registry
        from stations.models import Receiver, Station, StationKind
        from stations.mqtt import BrokerAddress
        from stations.simulate import SimReceiver, Simulation

        setup_logging(log_level)
        settings = load_settings()
        upgrade(settings.database_url)
        specs: list[SimReceiver] = []
        features = receiver_features(relay=False, filler=filler) or None
        with transaction(make_engine(settings.database_url)) as ses:
            stmt = select(Station).where(Station.kind == StationKind.ip, Station.active == True)  # noqa: E712
            if station_id is not None:
                stmt = stmt.where(Station.id == station_id)
            station = ses.exec(stmt.order_by(col(Station.id))).first()
            if station is None:
                fail("no active IP station found (run `loa demo`, or pass --station-id)")
            demo_passwords = (
                demo_receiver_passwords(settings.demo_credentials_file)
                if settings.env != Environment.production
                else {}
            )
            own = ses.exec(
                select(Receiver.id)
                .where(Receiver.station_id == station.id, Receiver.active == True)  # noqa: E712
                .order_by(col(Receiver.id))
            ).all()
            specs.extend(
                SimReceiver(rid, demo_passwords[rid], features=features)
                for rid in own
                if rid in demo_passwords
            )
            taken_over = len(specs)
            if taken_over + receivers == 0:
                fail(
                    f"station {station.id} has no demo receivers to take over; "
                    "pass --receivers N to add simulated ones"
                )
            for n in range(1, receivers + 1):
                rid = f"sim-{station.id}-{n:05d}"
                row = ses.get(Receiver, rid)
                if row is None:
                    created = registry.create_receiver(
                        session=ses, station=station, name=f"Mô phỏng {n}", receiver_id=rid
                    )
                    specs.append(SimReceiver(rid, created.password, features=features))
                else:
                    specs.append(
                        SimReceiver(
                            rid,
                            registry.reset_receiver_password(session=ses, receiver=row),
                            features=features,
                        )
                    )
        address = BrokerAddress.from_url(broker) if broker else broker_address(settings)
        sim = Simulation(
            specs,
            address.with_login(None, None),
            cache_dir=media_cache,
            prefix=settings.mqtt_topic_prefix,
            time_scale=time_scale,
        )
        started = time.monotonic()
        try:
            sim.start()
        except ConnectionError as exc:
            sim.stop()
            fail(f"{exc}. Probable cause: the broker has not reloaded (run `loa mqtt sync`)")
        joined = f" ({taken_over} of them the demo's own)" if taken_over else ""
        out.print(
            f"{len(specs)} receivers of station {station.id}{joined} online in "
            f"{time.monotonic() - started:.1f}s (Ctrl-C to stop)",
            highlight=False,
        )
        try:
            _wait_for_signal()
        finally:
            sim.stop()

    @mqtt_app.command("sync")
    def mqtt_sync(
        directory: Annotated[
            Path, typer.Option("--dir", help="Where mosquitto reads `passwords` and `acl`")
        ] = Path("/etc/mosquitto/loa"),
        pid_file: Annotated[
            Path | None, typer.Option("--pid-file", help="Send SIGHUP to this mosquitto pid")
        ] = None,
        reload_command: Annotated[
            str | None,
            typer.Option(
                "--reload-command", help="Run this to reload, e.g. 'systemctl reload mosquitto'"
            ),
        ] = None,
        owner: Annotated[
            str,
            typer.Option(
                help="Group-readable for this user's group; with --print-conf, the user "
                "mosquitto runs as"
            ),
        ] = "mosquitto",
        print_conf: Annotated[
            int | None,
            typer.Option(
                "--print-conf",
                help="Also print a mosquitto.conf for this port (alone on standard output; "
                "the summary goes to standard error) and create its --state-dir",
            ),
        ] = None,
        state_dir: Annotated[
            Path,
            typer.Option(
                "--state-dir",
                help="With --print-conf: where mosquitto keeps its persistence and, unless "
                "--pid-file names one, its pid file (created, owned by --owner)",
            ),
        ] = Path("/var/lib/mosquitto/loa"),
    ) -> None:
        """Write mosquitto's password file and ACL from the receivers, then reload it."""
        from broadcast.broker.mosquitto import mosquitto_conf, prepare_state_dir, sync_files
        from broadcast.core.db import make_engine, upgrade

        settings = load_settings()
        upgrade(settings.database_url)
        try:
            report = sync_files(
                engine=make_engine(settings.database_url),
                settings=settings,
                directory=directory,
                owner=owner,
                pid_file=pid_file,
                reload_command=reload_command,
            )
            if print_conf:
                prepare_state_dir(state_dir, owner)
        except (ValueError, OSError) as exc:
            fail(str(exc))
        # With --print-conf, standard output is the conf alone, to redirect into a file.
        (err if print_conf else out).print(
            f"{report.receivers} receivers written to {report.password_file} and {report.acl_file}"
            + ("; mosquitto reloaded" if report.reloaded else "; reload mosquitto yourself"),
            highlight=False,
        )
        if report.without_hash:
            err.print(
                f"{len(report.without_hash)} receivers have no mosquitto hash (created before "
                "0003_broadcasts): reset their passwords. First: "
                + ", ".join(report.without_hash[:5]),
                highlight=False,
            )
        if report.reserved:
            err.print(
                f"{len(report.reserved)} receivers left out: their id is one of the service's "
                "MQTT logins (LOA_MQTT_USERNAME and its -ingestor/-dispatcher logins): "
                + ", ".join(report.reserved[:5]),
                highlight=False,
            )
        if print_conf:
            conf = mosquitto_conf(
                directory=directory,
                port=print_conf,
                state_dir=state_dir,
                pid_file=pid_file,
                user=owner,
            )
            out.print(conf, end="", highlight=False, markup=False)
