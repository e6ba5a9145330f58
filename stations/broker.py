"""The embedded MQTT broker (amqtt) with receiver authentication and per-receiver ACLs.

amqtt is pure Python and keeps sessions in memory: fine as a zero-install default on
one machine, but a deployment that must not lose queued programmes across a broker
restart runs mosquitto (`loa mqtt sync`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from stations.protocol import Topics

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 10.0


class BrokerAuthority(Protocol):
    """Decides who may log in and which topics each identity may read or write."""

    def authenticate(self, username: str, password: str) -> bool:
        """True when the credentials are valid."""
        ...

    def allowed(self, username: str, topic: str, action: str) -> bool:
        """True when `username` may `action` ("read" or "write") on `topic`."""
        ...


# Plugins are built by amqtt from a dotted path and a config dict, so they find
# their authority here by a key held in the config.
_AUTHORITIES: dict[str, BrokerAuthority] = {}


class AuthorityAuthPlugin(BaseAuthPlugin):
    """amqtt authentication through a BrokerAuthority; no anonymous access."""

    @dataclass
    class Config:
        """The key of the authority in the registry."""

        authority_key: str = ""

    async def authenticate(self, *, session: Session) -> bool | None:
        """Check the session's username and password (argon2 runs off the event loop)."""
        authority = _AUTHORITIES.get(self.config.authority_key)
        if authority is None or not session.username or session.password is None:
            return False
        password = session.password
        if isinstance(password, bytes):
            password = password.decode("utf-8", "replace")
        return await asyncio.to_thread(authority.authenticate, session.username, password)


class AuthorityTopicPlugin(BaseTopicPlugin):
    """amqtt topic filtering through a BrokerAuthority."""

    @dataclass
    class Config:
        """The key of the authority in the registry."""

        authority_key: str = ""

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        """Publish needs write access; subscribe and receive need read access."""
        authority = _AUTHORITIES.get(self.config.authority_key)
        if authority is None or session is None or not session.username or not topic:
            return False
        kind = "write" if action == Action.PUBLISH else "read"
        return authority.allowed(session.username, topic, kind)


class EmbeddedBroker:
    """amqtt running in its own thread and event loop."""

    def __init__(self, host: str, port: int, authority: BrokerAuthority) -> None:
        self.host = host
        self.port = port
        self.authority = authority
        self._key = uuid.uuid4().hex
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _config(self) -> dict[str, Any]:
        plugin_cfg = {"authority_key": self._key}
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                f"{__name__}.AuthorityAuthPlugin": plugin_cfg,
                f"{__name__}.AuthorityTopicPlugin": plugin_cfg,
            },
        }

    def start(self) -> None:
        """Start listening; returns once the port accepts connections."""
        _AUTHORITIES[self._key] = self.authority
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="loa-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS):
            raise RuntimeError(f"Embedded MQTT broker did not start on {self.host}:{self.port}")
        if self._error is not None:
            raise RuntimeError(
                f"Embedded MQTT broker could not listen on {self.host}:{self.port}: {self._error}. "
                "Probable cause: the port is taken (set LOA_MQTT_EMBEDDED_PORT)"
            ) from self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._broker = Broker(self._config(), loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        """Stop the broker and its thread (sessions in memory are lost)."""
        loop, broker = self._loop, self._broker
        if loop is not None and broker is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
            try:
                future.result(timeout=START_TIMEOUT_SECONDS)
            except Exception:  # noqa: BLE001 - shutting down anyway
                log.warning("Embedded broker did not shut down cleanly", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_SECONDS)
        self._thread = None
        self._loop = None
        self._broker = None
        _AUTHORITIES.pop(self._key, None)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class StaticAuthority:
    """An authority from a dict of passwords: one service user, receivers by id (tests, demos)."""

    def __init__(
        self,
        *,
        service_username: str,
        service_password: str,
        receivers: dict[str, str] | None = None,
        prefix: str = "loa/v1",
    ) -> None:
        self.service_username = service_username
        self.service_password = service_password
        self.receivers = dict(receivers or {})
        self.topics = Topics(prefix)

    def authenticate(self, username: str, password: str) -> bool:
        """Service user or a known receiver with its password."""
        if username == self.service_username:
            return password == self.service_password
        return self.receivers.get(username) == password

    def allowed(self, username: str, topic: str, action: str) -> bool:
        """The service user may do anything; a receiver only its own topics."""
        if username == self.service_username:
            return True
        return username in self.receivers and self.topics.receiver_may(username, topic, action)
