"""Who is who on the MQTT broker: receivers by their id, the service under a few logins.

Every connection's client id is its login (mosquitto: `use_username_as_clientid`; the
embedded broker refuses any other), so nobody can take over a session that is not its
own. The service holds several connections at once (the ingestor's persistent session,
the dispatcher's publisher), so each has a login of its own, derived from
LOA_MQTT_USERNAME; the plain LOA_MQTT_USERNAME is left for operators' tools.
"""

from __future__ import annotations

from stations.mqtt import BrokerAddress

INGESTOR = "ingestor"
DISPATCHER = "dispatcher"
SERVICE_ROLES = (INGESTOR, DISPATCHER)


def service_login(username: str, role: str) -> str:
    """The login, and client id, of one of the service's connections (`loa-server-ingestor`)."""
    return f"{username}-{role}"


def service_usernames(username: str) -> tuple[str, ...]:
    """Every login of the service: LOA_MQTT_USERNAME itself, then one per connection."""
    return (username, *(service_login(username, role) for role in SERVICE_ROLES))


def service_client(address: BrokerAddress, role: str) -> tuple[BrokerAddress, str]:
    """The address (with this connection's login) and the client id of a service connection.

    Without a login (a broker open to anyone) the address is kept and the id is `loa-<role>`.
    """
    if address.username is None:
        return address, f"loa-{role}"
    login = service_login(address.username, role)
    return address.with_login(login, address.password), login
