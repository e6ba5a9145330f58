"""The service's Prometheus metrics, on a registry of their own (never the global default).

The entry points build one `Metrics` (the app factory, or `loa serve` for the app and
its worker together) and pass it down: the ingestor counts what it stores and rejects,
the dispatcher what it publishes, the web layer each request's latency. Deliveries by
state and receivers online are read at scrape time, one aggregate query each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func
from sqlmodel import Session, col, select

from broadcast.delivery.models import Delivery, DeliveryState
from stations.models import Receiver

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Why an acknowledgement was not stored (the `reason` label of loa_acks_rejected_total).
REJECT_MALFORMED = "malformed"  # not a valid ack/state payload, or not a receiver topic
REJECT_MISMATCHED = "receiver_mismatch"  # the payload names another receiver than its topic
REJECT_UNKNOWN = "unknown_delivery"  # no delivery of that airing was sent to that receiver
REJECT_REASONS = (REJECT_MALFORMED, REJECT_MISMATCHED, REJECT_UNKNOWN)
# The kinds of command published (the `kind` label of loa_commands_published_total).
COMMAND_KINDS = ("programme", "cancel", "resend_programme", "resend_cancel", "filler")


class _FleetCollector(Collector):
    """Deliveries by state and receivers online, read from the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """No samples at registration: the database is read only when scraped."""
        return []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """One GROUP BY over deliveries, one aggregate over receivers."""
        deliveries = GaugeMetricFamily(
            "loa_deliveries", "Deliveries (one per receiver and airing) by state", labels=["state"]
        )
        online = GaugeMetricFamily(
            "loa_receivers_online", "Active receivers whose last state was online"
        )
        active = GaugeMetricFamily("loa_receivers_active", "Active receivers")
        with Session(self.engine) as session:
            counts: dict[str, int] = {
                str(state): int(n)
                for state, n in session.exec(
                    select(col(Delivery.state), func.count()).group_by(col(Delivery.state))
                ).all()
            }
            total, up = session.exec(
                select(
                    func.count(), func.sum(case((col(Receiver.online).is_(True), 1), else_=0))
                ).where(col(Receiver.active).is_(True))
            ).one()
        for state in DeliveryState:
            deliveries.add_metric([state.value], float(counts.get(state.value, 0)))
        online.add_metric([], float(up or 0))
        active.add_metric([], float(total or 0))
        yield deliveries
        yield online
        yield active


class Metrics:
    """Every metric of one service process, on its own CollectorRegistry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=False)
        r = self.registry
        self.acks_stored = Counter(
            "loa_acks_stored", "Acknowledgements matched to a delivery and committed", registry=r
        )
        self.acks_rejected = Counter(
            "loa_acks_rejected",
            "Receiver messages not stored, by reason",
            ["reason"],
            registry=r,
        )
        self.acks_not_believed = Counter(
            "loa_acks_not_believed",
            "Acknowledgements stored in the as-run log only: implausible or contradictory",
            registry=r,
        )
        self.dead_lettered = Counter(
            "loa_dead_lettered", "Messages parked in dead_letter (could not be stored)", registry=r
        )
        self.ingest_batches = Counter(
            "loa_ingest_batches", "Batches of receiver messages committed", registry=r
        )
        self.ingest_lag = Gauge(
            "loa_ingest_lag_seconds",
            "How long the oldest received but not yet stored message has waited",
            registry=r,
        )
        self.commands_published = Counter(
            "loa_commands_published",
            "MQTT commands published to receivers, by kind",
            ["kind"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "loa_http_request_duration_seconds",
            "HTTP request latency by route template (not the raw path), method and status",
            ["route", "method", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        for reason in REJECT_REASONS:
            self.acks_rejected.labels(reason)
        for kind in COMMAND_KINDS:
            self.commands_published.labels(kind)
        self._watched: Engine | None = None

    def watch(self, engine: Engine) -> None:
        """Read deliveries by state and receivers online from `engine` at each scrape."""
        if self._watched is None:
            self._watched = engine
            self.registry.register(_FleetCollector(engine))

    def track_lag(self, lag_seconds: Callable[[], float]) -> None:
        """Report the ingestor's lag at each scrape (the ingestor's own measure)."""
        self.ingest_lag.set_function(lag_seconds)

    def published(self, kind: str, count: int) -> None:
        """Count `count` commands of `kind` published."""
        if count:
            self.commands_published.labels(kind).inc(count)

    def rejected(self, reason: str, count: int) -> None:
        """Count `count` receiver messages not stored for `reason`."""
        if count:
            self.acks_rejected.labels(reason).inc(count)

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)
