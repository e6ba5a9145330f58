"""Who may use the broker: the service identity, and receivers by their stored argon2 hash."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time

from sqlalchemy import Engine
from sqlmodel import Session, select

from stations.identities import service_usernames
from stations.models import Receiver
from stations.protocol import Topics
from stations.security import verify_secret

# A verified password is remembered (as a salted digest) this long, so reconnect storms
# do not run argon2 thousands of times; a reset or deactivation waits at most this long.
CACHE_SECONDS = 300.0


class DatabaseAuthority:
    """A stations.broker.BrokerAuthority backed by the receiver table."""

    def __init__(
        self,
        engine: Engine,
        *,
        service_username: str,
        service_password: str,
        prefix: str,
        instances: int = 1,
    ) -> None:
        self.engine = engine
        self.service_username = service_username
        # LOA_MQTT_USERNAME and the logins of the service's connections (stations.identities),
        # for each of `instances` worker processes.
        self.service_usernames = frozenset(service_usernames(service_username, instances))
        self._service_password = service_password
        self.topics = Topics(prefix)
        self._salt = hashlib.sha256(str(time.time_ns()).encode()).digest()
        self._verified: dict[str, tuple[bytes, float]] = {}
        self._active: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._salt, password.encode(), hashlib.sha256).digest()

    def authenticate(self, username: str, password: str) -> bool:
        """A service login, or an active receiver with its password."""
        if username in self.service_usernames:
            return hmac.compare_digest(password.encode(), self._service_password.encode())
        now = time.monotonic()
        digest = self._digest(password)
        with self._lock:
            cached = self._verified.get(username)
        if cached and cached[1] > now and hmac.compare_digest(cached[0], digest):
            return True
        with Session(self.engine) as session:
            receiver = session.get(Receiver, username)
            if receiver is None or not receiver.active:
                return False
            secret_hash = receiver.secret_hash
        if not verify_secret(password, secret_hash):
            return False
        with self._lock:
            self._verified[username] = (digest, now + CACHE_SECONDS)
            self._active[username] = (True, now + CACHE_SECONDS)
        return True

    def _is_active(self, username: str) -> bool:
        now = time.monotonic()
        with self._lock:
            cached = self._active.get(username)
        if cached and cached[1] > now:
            return cached[0]
        with Session(self.engine) as session:
            active = bool(
                session.exec(select(Receiver.active).where(Receiver.id == username)).first()
            )
        with self._lock:
            self._active[username] = (active, now + CACHE_SECONDS)
        return active

    def allowed(self, username: str, topic: str, action: str) -> bool:
        """The service may do anything; a receiver reads its `cmd`, writes its `ack`/`state`."""
        if username in self.service_usernames:
            return True
        return self.topics.receiver_may(username, topic, action) and self._is_active(username)

    def client_id_allowed(self, username: str, client_id: str) -> bool:
        """A receiver connects as its own id; the service as any id that is not a receiver's."""
        if username not in self.service_usernames:
            return client_id == username
        with Session(self.engine) as session:
            return session.get(Receiver, client_id) is None

    def forget(self, username: str | None = None) -> None:
        """Drop cached verdicts (after a password reset or deactivation)."""
        with self._lock:
            if username is None:
                self._verified.clear()
                self._active.clear()
            else:
                self._verified.pop(username, None)
                self._active.pop(username, None)
