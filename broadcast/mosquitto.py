"""Files that make mosquitto enforce Loa's receiver logins and ACLs (`loa mqtt sync`)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.settings import Settings
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


def acl_text(prefix: str, service_username: str) -> str:
    """The ACL: the service reads and writes everything under the prefix, receivers their own."""
    return (
        "# Written by `loa mqtt sync`; edits are overwritten.\n"
        f"user {service_username}\n"
        f"topic readwrite {prefix}/#\n"
        "\n"
        "# Every other user is a receiver whose username is its receiver id.\n"
        f"pattern read {prefix}/receivers/%u/cmd\n"
        f"pattern write {prefix}/receivers/%u/ack\n"
        f"pattern write {prefix}/receivers/%u/state\n"
    )


def password_lines(
    *, session: Session, service_username: str, service_password: str
) -> tuple[list[str], list[str]]:
    """mosquitto password-file lines; and the active receivers that have no mosquitto hash."""
    lines = [f"{service_username}:{mosquitto_hash(service_password)}"]
    missing: list[str] = []
    rows = session.exec(
        select(Receiver).where(col(Receiver.active).is_(True)).order_by(col(Receiver.id))
    ).all()
    for receiver in rows:
        if receiver.mqtt_hash:
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
    with Session(engine) as session:
        lines, missing = password_lines(
            session=session, service_username=settings.mqtt_username, service_password=password
        )
    password_file = directory / "passwords"
    acl_file = directory / "acl"
    _write(password_file, "\n".join(lines) + "\n", owner)
    _write(acl_file, acl_text(settings.mqtt_topic_prefix, settings.mqtt_username), owner)
    reloaded = reload_broker(pid_file=pid_file, command=reload_command)
    return SyncReport(password_file, acl_file, len(lines) - 1, missing, reloaded)


def mosquitto_conf(*, directory: Path, port: int, host: str = "127.0.0.1") -> str:
    """A mosquitto.conf for Loa: auth from the synced files, persistence, unlimited queues."""
    return (
        f"listener {port} {host}\n"
        "allow_anonymous false\n"
        f"password_file {directory / 'passwords'}\n"
        f"acl_file {directory / 'acl'}\n"
        "persistence true\n"
        f"persistence_location {directory}/\n"
        "autosave_interval 1\n"
        "# The ingestor holds a whole batch unacknowledged: let the window be large.\n"
        "max_inflight_messages 0\n"
        "max_queued_messages 0\n"
        f"pid_file {directory / 'mosquitto.pid'}\n"
    )
