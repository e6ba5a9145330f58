"""Files that make mosquitto enforce Loa's receiver logins and ACLs (`loa mqtt sync`)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.core.settings import Settings
from stations.broker import MAX_PACKET_BYTES
from stations.identities import service_usernames
from stations.models import Receiver
from stations.security import mosquitto_hash


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What `sync_files` wrote."""

    password_file: Path
    acl_file: Path
    receivers: int
    without_hash: list[str]
    reloaded: bool
    # Receivers left out because their id is one of the service's logins.
    reserved: list[str] = field(default_factory=list)


def acl_text(prefix: str, service_username: str, instances: int = 1) -> str:
    """The ACL: the service's logins may do anything under the prefix, receivers their own.

    `instances`: the worker processes sharing the broker, each with its own logins.
    """
    service = "".join(
        f"user {username}\ntopic readwrite {prefix}/#\n"
        for username in service_usernames(service_username, instances)
    )
    return (
        "# Written by `loa mqtt sync`; edits are overwritten.\n"
        "# The service: LOA_MQTT_USERNAME and one login per connection of the service.\n"
        f"{service}"
        "\n"
        "# Every other user is a receiver whose username is its receiver id.\n"
        f"pattern read {prefix}/receivers/%u/cmd\n"
        f"pattern write {prefix}/receivers/%u/ack\n"
        f"pattern write {prefix}/receivers/%u/state\n"
    )


def password_lines(
    *,
    session: Session,
    service_username: str,
    service_password: str,
    reserved: list[str] | None = None,
    instances: int = 1,
) -> tuple[list[str], list[str]]:
    """mosquitto password-file lines; and the active receivers that have no mosquitto hash.

    Receivers whose id is one of the service's logins are left out (added to `reserved`).
    """
    service = service_usernames(service_username, instances)
    lines = [f"{username}:{mosquitto_hash(service_password)}" for username in service]
    missing: list[str] = []
    rows = session.exec(
        select(Receiver).where(col(Receiver.active).is_(True)).order_by(col(Receiver.id))
    ).all()
    for receiver in rows:
        if receiver.id in service:
            if reserved is not None:
                reserved.append(receiver.id)
        elif receiver.mqtt_hash:
            lines.append(f"{receiver.id}:{receiver.mqtt_hash}")
        else:
            missing.append(receiver.id)
    return lines, missing


def _write(path: Path, text: str, owner: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o640)
    if owner and os.geteuid() == 0:
        import grp
        import pwd

        try:
            entry = pwd.getpwnam(owner)
            os.chown(tmp, 0, grp.getgrgid(entry.pw_gid).gr_gid)
        except KeyError:
            tmp.chmod(0o644)
    tmp.replace(path)


def reload_broker(*, pid_file: Path | None = None, command: str | None = None) -> bool:
    """Make mosquitto re-read its files: SIGHUP to the pid in `pid_file`, or run `command`."""
    if command:
        subprocess.run(shlex.split(command), check=True, timeout=30)  # noqa: S603 - operator's
        return True
    if pid_file is not None and pid_file.exists():
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
        return True
    return False


def sync_files(
    *,
    engine: Engine,
    settings: Settings,
    directory: Path,
    service_password: str | None = None,
    owner: str | None = "mosquitto",
    pid_file: Path | None = None,
    reload_command: str | None = None,
) -> SyncReport:
    """Write `passwords` and `acl` into `directory`, then reload mosquitto if told how."""
    password = service_password or settings.mqtt_password
    if not password:
        raise ValueError(
            "LOA_MQTT_PASSWORD is not set. Probable cause: mosquitto needs the service's "
            "own password in its password file"
        )
    reserved: list[str] = []
    with Session(engine) as session:
        lines, missing = password_lines(
            session=session,
            service_username=settings.mqtt_username,
            service_password=password,
            reserved=reserved,
            instances=settings.worker_instances,
        )
    password_file = directory / "passwords"
    acl_file = directory / "acl"
    _write(password_file, "\n".join(lines) + "\n", owner)
    acl = acl_text(settings.mqtt_topic_prefix, settings.mqtt_username, settings.worker_instances)
    _write(acl_file, acl, owner)
    reloaded = reload_broker(pid_file=pid_file, command=reload_command)
    service = service_usernames(settings.mqtt_username, settings.worker_instances)
    receivers = len(lines) - len(service)
    return SyncReport(password_file, acl_file, receivers, missing, reloaded, reserved)


def prepare_state_dir(path: Path, owner: str) -> None:
    """Create mosquitto's state folder (pid file, persistence), writable by `owner`.

    Started as root, mosquitto 2 drops to the conf's `user` before it writes its pid file,
    so that user must own the folder. A folder that already belongs to someone else is
    taken over only while empty: a path given by mistake (`/var/lib`) is left alone.
    """
    path.mkdir(mode=0o750, parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return  # mosquitto started by this user keeps running as this user
    import pwd

    try:
        entry = pwd.getpwnam(owner)
    except KeyError as exc:
        raise ValueError(
            f"There is no user {owner!r}. Probable cause: mosquitto is not installed, or "
            "--owner names another user"
        ) from exc
    if path.stat().st_uid == entry.pw_uid:
        return
    if any(path.iterdir()):
        raise ValueError(
            f"{path} belongs to another user than {owner} and is not empty. Probable cause: "
            "--state-dir names a folder that is not mosquitto's own; give it one of its own"
        )
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o750)


def mosquitto_conf(
    *,
    directory: Path,
    port: int,
    host: str = "127.0.0.1",
    state_dir: Path | None = None,
    pid_file: Path | None = None,
    user: str = "mosquitto",
) -> str:
    """A mosquitto.conf for Loa: synced logins, ids bound, sizes capped, persistence.

    `directory` holds the synced files (read only), `state_dir` (default: `directory`)
    the persistence and, unless `pid_file` names another, the pid file.
    """
    state = state_dir or directory
    return (
        f"listener {port} {host}\n"
        "# The client id is the login: nobody takes over another's session. Repeat it under\n"
        "# every listener (it is a listener option); a restart, not a reload, applies it.\n"
        "use_username_as_clientid true\n"
        "allow_anonymous false\n"
        "# Started as root, mosquitto runs as this user: it reads the two files below and\n"
        "# writes the pid file and persistence (`loa mqtt sync --print-conf` made the folder).\n"
        f"user {user}\n"
        f"password_file {directory / 'passwords'}\n"
        f"acl_file {directory / 'acl'}\n"
        "persistence true\n"
        f"persistence_location {state}/\n"
        "autosave_interval 1\n"
        "# The ingestor holds a whole batch unacknowledged: let the window be large.\n"
        "max_inflight_messages 0\n"
        "max_queued_messages 0\n"
        "# The largest cmd is 64 KiB (docs/protocol.md): a client that sends more is cut off.\n"
        f"max_packet_size {MAX_PACKET_BYTES}\n"
        f"pid_file {pid_file or state / 'mosquitto.pid'}\n"
    )
