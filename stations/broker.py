"""The embedded MQTT broker (amqtt) with receiver authentication and per-receiver ACLs.

amqtt is pure Python and keeps sessions in memory: fine as a zero-install default on
one machine, but a deployment that must not lose queued programmes across a broker
restart runs mosquitto (`loa mqtt sync`).

On top of amqtt 0.12 this broker enforces what mosquitto does with the files of
`loa mqtt sync` (docs/protocol.md, "Login and access control"):

- a CONNECT is judged before amqtt touches any session: amqtt itself wipes or adopts
  the session named by the client id first, so a refused login could still kick a
  receiver and drop its queued programmes;
- a receiver's client id is its receiver id; a service client id is the service's;
- a Will may only go where its sender may publish;
- packets larger than MAX_PACKET_BYTES end the connection before they are read;
- retained messages go only to a session that holds a matching subscription and may
  read the topic (amqtt sends every retained message matching anyone's subscription).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Protocol

from amqtt.adapters import ReaderAdapter, StreamReaderAdapter, StreamWriterAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.connack import (
    CONNECTION_ACCEPTED,
    IDENTIFIER_REJECTED,
    NOT_AUTHORIZED,
    ConnackPacket,
)
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session
from amqtt.utils import gen_client_id

from stations.identities import service_usernames
from stations.protocol import MAX_CMD_BYTES, Topics

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 10.0
# The largest MQTT packet either broker takes (mosquitto: `max_packet_size`): the largest
# payload of the protocol (a 64 KiB `cmd`) with 4 KiB to spare for the topic and headers.
MAX_PACKET_BYTES = MAX_CMD_BYTES + 4 * 1024


class BrokerAuthority(Protocol):
    """Decides who may log in and which topics each identity may read or write."""

    def authenticate(self, username: str, password: str) -> bool:
        """True when the credentials are valid."""
        ...

    def allowed(self, username: str, topic: str, action: str) -> bool:
        """True when `username` may `action` ("read" or "write") on `topic`."""
        ...

    def client_id_allowed(self, username: str, client_id: str) -> bool:
        """True when the (authenticated) `username` may connect as `client_id`."""
        ...


def _verdict(
    authority: BrokerAuthority, username: str, password: str, client_id: str, will: str | None
) -> int:
    if not authority.authenticate(username, password):
        return NOT_AUTHORIZED
    if not authority.client_id_allowed(username, client_id):
        return IDENTIFIER_REJECTED
    if will is not None and not authority.allowed(username, will, "write"):
        return NOT_AUTHORIZED
    return CONNECTION_ACCEPTED


async def admission(authority: BrokerAuthority | None, session: Session) -> int:
    """The CONNACK return code for a CONNECT: accepted, or why not (argon2 runs off the loop)."""
    if authority is None or not session.username or session.password is None:
        return NOT_AUTHORIZED
    password = session.password
    if isinstance(password, bytes):
        password = password.decode("utf-8", "replace")
    will = (session.will_topic or "") if session.will_flag else None
    return await asyncio.to_thread(
        _verdict, authority, session.username, password, session.client_id or "", will
    )


def _authority_of(context: Any) -> BrokerAuthority | None:
    """The authority of the broker a plugin runs in (amqtt builds plugins from a dotted
    path and a config dict, so they reach it through their broker context)."""
    broker = getattr(context, "_broker_instance", None)
    return getattr(broker, "loa_authority", None)


class AuthorityAuthPlugin(BaseAuthPlugin):
    """amqtt authentication through a BrokerAuthority; no anonymous access."""

    async def authenticate(self, *, session: Session) -> bool | None:
        """Check the login, that the client id is the login's, and where the Will goes."""
        authority = _authority_of(self.context)
        return await admission(authority, session) == CONNECTION_ACCEPTED


class AuthorityTopicPlugin(BaseTopicPlugin):
    """amqtt topic filtering through a BrokerAuthority."""

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        """Publish needs write access; subscribe and receive need read access."""
        authority = _authority_of(self.context)
        if authority is None or session is None or not session.username or not topic:
            return False
        kind = "write" if action == Action.PUBLISH else "read"
        return authority.allowed(session.username, topic, kind)


class _BoundedReader(ReaderAdapter):
    """A socket reader that ends the connection at a packet larger than `limit` bytes.

    It follows the MQTT framing (a type byte, the remaining length in 1-4 bytes, the
    body) as amqtt reads it, so an oversized packet is refused from its header, unread.
    """

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._inner = StreamReaderAdapter(reader)
        self._limit = limit
        self._body_left = 0
        self._in_length = False  # reading the remaining length
        self._length = 0
        self._multiplier = 1
        self._refused = False

    async def read(self, n: int = -1) -> bytes:
        """Read as amqtt asks; raise ConnectionResetError (amqtt: end of stream) when too big."""
        if self._refused:
            raise ConnectionResetError("packet too large")
        data = await self._inner.read(n)
        self._follow(data)
        return data

    def _follow(self, data: bytes) -> None:
        i, size = 0, len(data)
        while i < size:
            if self._body_left:
                step = min(self._body_left, size - i)
                self._body_left -= step
                i += step
                continue
            byte = data[i]
            i += 1
            if not self._in_length:  # the type byte of the next packet
                self._in_length, self._length, self._multiplier = True, 0, 1
                continue
            self._length += (byte & 0x7F) * self._multiplier
            self._multiplier *= 128
            if byte & 0x80:
                continue
            self._in_length = False
            if self._length > self._limit:
                self._refused = True
                log.warning(
                    "MQTT packet of %d bytes refused (limit %d): connection closed",
                    self._length,
                    self._limit,
                )
                raise ConnectionResetError("packet too large")
            self._body_left = self._length

    def feed_eof(self) -> None:
        """Acknowledge EOF."""
        self._inner.feed_eof()


class _LoaBroker(Broker):
    """amqtt with Loa's admission before any session is touched, size limit and retained ACL."""

    def __init__(
        self, config: dict[str, Any], *, loop: asyncio.AbstractEventLoop, authority: BrokerAuthority
    ) -> None:
        self.loa_authority = authority  # before the plugins are built: they read it
        super().__init__(config, loop=loop)

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        """A TCP client: its packets are bounded by MAX_PACKET_BYTES."""
        await self._client_connected(
            listener_name, _BoundedReader(reader, MAX_PACKET_BYTES), StreamWriterAdapter(writer)
        )

    async def _initialize_client_session(
        self, reader: ReaderAdapter, writer: WriterAdapter, remote_address: str, remote_port: int
    ) -> tuple[BrokerProtocolHandler, Session]:
        """amqtt's own, with the CONNECT judged first: a refusal leaves every session alone."""
        try:
            handler, client_session = await BrokerProtocolHandler.init_from_connect(
                reader, writer, self.plugins_manager
            )
        except (AMQTTError, NoDataError) as exc:
            raise AMQTTError(exc) from exc
        except MQTTError:
            await writer.close()
            raise
        code = await admission(self.loa_authority, client_session)
        if code != CONNECTION_ACCEPTED:
            log.warning(
                "MQTT CONNECT from %s:%s as %r with client id %r refused (return code %d)",
                remote_address,
                remote_port,
                client_session.username,
                client_session.client_id,
                code,
            )
            await ConnackPacket.build(0, code).to_stream(writer)
            await writer.close()
            raise MQTTError("CONNECT refused")
        if client_session.clean_session:
            if client_session.client_id:
                await self._delete_session(client_session.client_id)
            else:
                client_session.client_id = gen_client_id()
            client_session.parent = 0
        elif client_session.client_id in self._sessions:
            # The same identity coming back: its session, with this CONNECT's Will and login.
            existing, _ = self._sessions[client_session.client_id]
            existing.will_flag = client_session.will_flag
            existing.will_message = client_session.will_message
            existing.will_topic = client_session.will_topic
            existing.will_qos = client_session.will_qos
            existing.will_retain = client_session.will_retain
            existing.keep_alive = client_session.keep_alive
            existing.username = client_session.username
            existing.password = client_session.password
            client_session = existing
            client_session.parent = 1
        else:
            client_session.parent = 0
        delay = self.config.get("timeout-disconnect-delay", 0) if self.config else 0
        if client_session.keep_alive > 0 and isinstance(delay, int):
            client_session.keep_alive += delay
        return handler, client_session

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        """Retained messages of a filter `session` holds, on topics it may read."""
        topic_filter, qos = subscription
        holders = self._subscriptions.get(topic_filter, [])
        if not any(held.client_id == session.client_id for held, _qos in holders):
            return  # amqtt asks this for everybody's filters when a session connects
        handler = self._get_handler(session)
        if handler is None:
            return
        tasks = []
        for topic, retained in list(self._retained_messages.items()):
            if not self._matches(topic, topic_filter):
                continue
            if not await self._topic_filtering(session, topic=topic, action=Action.RECEIVE):
                continue
            publish = handler.mqtt_publish(
                retained.topic, retained.data, min(qos, retained.qos or qos), retain=True
            )
            tasks.append(asyncio.ensure_future(publish))
        if tasks:
            await asyncio.wait(tasks)


class EmbeddedBroker:
    """amqtt running in its own thread and event loop."""

    def __init__(self, host: str, port: int, authority: BrokerAuthority) -> None:
        self.host = host
        self.port = port
        self.authority = authority
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _config(self) -> dict[str, Any]:
        plugin_cfg: dict[str, Any] = {}
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                f"{__name__}.AuthorityAuthPlugin": plugin_cfg,
                f"{__name__}.AuthorityTopicPlugin": plugin_cfg,
            },
        }

    def start(self) -> None:
        """Start listening; returns once the port accepts connections."""
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
            self._broker = _LoaBroker(self._config(), loop=loop, authority=self.authority)
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
        self.service_usernames = frozenset(service_usernames(service_username))
        self.receivers = dict(receivers or {})
        self.topics = Topics(prefix)

    def authenticate(self, username: str, password: str) -> bool:
        """A service login or a known receiver with its password."""
        if username in self.service_usernames:
            return password == self.service_password
        return self.receivers.get(username) == password

    def allowed(self, username: str, topic: str, action: str) -> bool:
        """The service may do anything; a receiver only its own topics."""
        if username in self.service_usernames:
            return True
        return username in self.receivers and self.topics.receiver_may(username, topic, action)

    def client_id_allowed(self, username: str, client_id: str) -> bool:
        """A receiver connects as itself; the service as anything but a receiver."""
        if username in self.service_usernames:
            return client_id not in self.receivers
        return client_id == username
