"""Who is who on the MQTT broker: receivers by their id, the service under a few logins.

Every connection's client id is its login (mosquitto: `use_username_as_clientid`; the
embedded broker refuses any other), so nobody can take over a session that is not its
own. The service holds several connections at once (the ingestor's persistent session,
the dispatcher's publisher), so each has a login of its own, derived from
LOA_MQTT_USERNAME; the plain LOA_MQTT_USERNAME is left for operators' tools.

Several `loa worker` processes on one broker (LOA_WORKER_INSTANCES) each have their own
logins: instance 1 keeps the plain ones (`loa-server-ingestor`), instance 2 adds its
number (`loa-server-ingestor-2`).
"""

from __future__ import annotations

from stations.mqtt import BrokerAddress

INGESTOR = "ingestor"
DISPATCHER = "dispatcher"
SERVICE_ROLES = (INGESTOR, DISPATCHER)


def service_login(username: str, role: str, instance: int = 1) -> str:
    """The login, and client id, of one of the service's connections (`loa-server-ingestor`).

    Worker instance 2 and above add their number (`loa-server-ingestor-2`).
    """
    login = f"{username}-{role}"
    return login if instance <= 1 else f"{login}-{instance}"


def service_usernames(username: str, instances: int = 1) -> tuple[str, ...]:
    """Every login of the service: LOA_MQTT_USERNAME itself, then one per connection.

    `instances` is how many worker processes share the broker (LOA_WORKER_INSTANCES).
    """
    return (
        username,
        *(
            service_login(username, role, instance)
            for instance in range(1, max(1, instances) + 1)
            for role in SERVICE_ROLES
        ),
    )


def service_client(
    address: BrokerAddress, role: str, instance: int = 1
) -> tuple[BrokerAddress, str]:
    """The address (with this connection's login) and the client id of a service connection.

    Without a login (a broker open to anyone) the address is kept and the id is
    `loa-<role>` (`loa-<role>-<instance>` from instance 2 on).
    """
    if address.username is None:
        return address, service_login("loa", role, instance)
    login = service_login(address.username, role, instance)
    return address.with_login(login, address.password), login
