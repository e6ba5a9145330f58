"""The background worker: scheduler/dispatcher, cancel sender, deadlines and the ingestor.

Deadlines run in their own loop, under their own lock: publishing may wait for a broker
that stopped answering (PUBLISH_CONFIRM_SECONDS per batch), and `missed`/`expired`
verdicts never wait for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from broadcast.alerts.feeds import FeedPoller, FeedReport
from broadcast.alerts.service import release_alerts
from broadcast.core.db import transaction
from broadcast.core.metrics import Metrics
from broadcast.core.settings import Settings
from broadcast.delivery.deadlines import apply_deadlines
from broadcast.delivery.dispatch import (
    PUBLISH_BATCH,
    ProgrammeBuilder,
    default_programme_builder,
    dispatch_due,
    publish_cancels,
    publish_queued,
    resend_to_online,
)
from broadcast.delivery.ingest import AckIngestor
from broadcast.delivery.reair import reair_interrupted
from broadcast.delivery.state import Rules
from broadcast.filler.commands import publish_filler
from broadcast.notifications.digests import write_digests
from broadcast.notifications.gaps import alert_language_gaps
from broadcast.notifications.mail import MailReport, MailSender
from broadcast.runtime.leader import Leadership
from broadcast.webhooks.outbox import ActiveSubscriptionCache
from broadcast.webhooks.sender import SendReport, WebhookSender
from stations.identities import DISPATCHER, INGESTOR, service_client
from stations.mqtt import BrokerAddress, MqttClient
from stations.protocol import Topics
from stations.timeutil import utcnow

log = logging.getLogger(__name__)

# While the publisher is disconnected, receivers that came online wait this long per try.
RESEND_RETRY_SECONDS = 0.5


def broker_address(settings: Settings, *, service_password: str | None = None) -> BrokerAddress:
    """Where the service connects: LOA_MQTT_URL, or the embedded broker, as LOA_MQTT_USERNAME."""
    password = service_password or settings.mqtt_password
    if settings.mqtt_url:
        address = BrokerAddress.from_url(settings.mqtt_url)
        if address.username is None:
            address = address.with_login(settings.mqtt_username, password)
        return address
    return BrokerAddress("127.0.0.1", settings.mqtt_embedded_port, settings.mqtt_username, password)


@dataclass
class TickReport:
    """What one scheduler pass did."""

    occurrences: int = 0
    deliveries: int = 0
    published: int = 0
    cancels: int = 0
    alerts: int = 0  # CAP alerts scheduled (released by their rule, an approver or deadline)
    reaired: int = 0  # deliveries an emergency interrupted, queued to air again
    deadlines: dict[str, int] = field(default_factory=dict)


@dataclass
class NotifyReport:
    """What one notification pass did."""

    digests: int = 0
    gaps: int = 0  # language gap alerts raised
    mail: MailReport = field(default_factory=MailReport)


@dataclass
class ResendStats:
    """Commands published again to receivers that came online (read by tests and logs)."""

    passes: int = 0  # queries run (one per group of receivers that came online)
    receivers: int = 0  # receivers checked
    programmes: int = 0
    cancels: int = 0


class Worker:
    """Runs the scheduler loop and the ingestor; `tick()` is one pass, for tests."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        address: BrokerAddress | None = None,
        clock: Callable[[], datetime] = utcnow,
        builder: ProgrammeBuilder | None = None,
        ingest: bool = True,
        client_suffix: str = "",
        metrics: Metrics | None = None,
        leadership: Leadership | None = None,
    ) -> None:
        self.engine = engine
        # Among several workers of one database, only the leader runs the scheduler,
        # deadline and feed loops (broadcast.runtime.leader); None: this one always does.
        self.leadership = leadership
        # Prometheus counters of what this worker publishes and ingests (served at /metrics).
        self.metrics = metrics
        self.settings = settings
        self.address = address or broker_address(settings)
        self.clock = clock
        self.builder = builder or default_programme_builder
        self.topics = Topics(settings.mqtt_topic_prefix)
        # Each connection logs in under its own name, its client id (stations.identities).
        instance = settings.worker_instance
        publisher_address, publisher_id = service_client(self.address, DISPATCHER, instance)
        # A whole publish batch in flight at once: it leaves in one write, not one message
        # per PUBACK received.
        self.publisher = MqttClient(
            publisher_address,
            client_id=publisher_id + client_suffix,
            clean_session=True,
            max_inflight=PUBLISH_BATCH,
        )
        # Whether any webhook subscription is active, cached for the ingest hot path.
        self.subscribed = ActiveSubscriptionCache()
        # Events of the outbox POSTed to their subscribers, in a loop of their own.
        self.webhooks = WebhookSender(engine, settings, clock=clock)
        self._webhook_thread: threading.Thread | None = None
        # Weekly digests, language gap alerts and their e-mail, in a loop of their own.
        self.mail = MailSender(engine, settings, clock=clock)
        self._notify_thread: threading.Thread | None = None
        self.ingestor: AckIngestor | None = None
        self.ingest_client: MqttClient | None = None
        if ingest:
            self.ingestor = AckIngestor(
                engine,
                self.topics,
                batch_size=settings.ingest_batch_size,
                flush_ms=settings.ingest_flush_ms,
                clock=clock,
                on_online=self.receivers_online,
                rules=Rules.of(settings),
                metrics=metrics,
                subscribed=self.subscribed,
            )
            ingest_address, ingest_id = service_client(self.address, INGESTOR, instance)
            self.ingest_client = MqttClient(
                ingest_address,
                client_id=ingest_id + client_suffix,
                clean_session=False,
                manual_ack=True,
            )
            self.ingestor.attach(self.ingest_client, shared_group=settings.mqtt_shared_group)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick_lock = threading.Lock()  # dispatch, publishing and cancels
        self._deadline_lock = threading.Lock()
        self._deadline_thread: threading.Thread | None = None
        # The areas' CAP feeds, read in their own loop (a slow feed never delays dispatch).
        self.feeds = FeedPoller(engine, settings)
        self._feed_thread: threading.Thread | None = None
        # Receivers kept holding their station's filler, in a loop of its own.
        self._filler_thread: threading.Thread | None = None
        # Receivers that came online and wait for their commands to be resent.
        self.resend_stats = ResendStats()
        self._online: set[str] = set()
        self._online_lock = threading.Lock()
        self._online_wake = threading.Event()
        self._resend_thread: threading.Thread | None = None

    def start(self, *, loop: bool = True) -> None:
        """Connect to the broker; start the ingestor and (unless `loop=False`) the scheduler."""
        self._stop.clear()
        if self.ingestor is not None and self.ingest_client is not None:
            self._resend_thread = threading.Thread(
                target=self._run_resends, name="loa-resender", daemon=True
            )
            self._resend_thread.start()
            self.ingestor.start()
            self.ingest_client.start()
        self.publisher.start()
        if loop:
            self._thread = threading.Thread(target=self._run, name="loa-scheduler", daemon=True)
            self._thread.start()
            self._deadline_thread = threading.Thread(
                target=self._run_deadlines, name="loa-deadlines", daemon=True
            )
            self._deadline_thread.start()
            self._feed_thread = threading.Thread(
                target=self._run_feeds, name="loa-cap-feeds", daemon=True
            )
            self._feed_thread.start()
            self._filler_thread = threading.Thread(
                target=self._run_filler, name="loa-filler", daemon=True
            )
            self._filler_thread.start()
            self._webhook_thread = threading.Thread(
                target=self._run_webhooks, name="loa-webhooks", daemon=True
            )
            self._webhook_thread.start()
            self._notify_thread = threading.Thread(
                target=self._run_notifications, name="loa-notifications", daemon=True
            )
            self._notify_thread.start()

    def stop(self) -> None:
        """Stop the loops and disconnect."""
        self._stop.set()
        self._wake.set()
        self._online_wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        if self._deadline_thread is not None:
            self._deadline_thread.join(30)
            self._deadline_thread = None
        if self._feed_thread is not None:
            self._feed_thread.join(30)
            self._feed_thread = None
        if self._filler_thread is not None:
            self._filler_thread.join(30)
            self._filler_thread = None
        if self._resend_thread is not None:
            self._resend_thread.join(30)
            self._resend_thread = None
        if self._webhook_thread is not None:
            self._webhook_thread.join(30)
            self._webhook_thread = None
        if self._notify_thread is not None:
            self._notify_thread.join(30)
            self._notify_thread = None
        if self.ingest_client is not None:
            self.ingest_client.stop()
        if self.ingestor is not None:
            self.ingestor.stop()
        self.publisher.stop()
        self.webhooks.close()
        if self.leadership is not None:
            self.leadership.release()

    def leads(self) -> bool:
        """True when this worker runs the scheduler, deadlines and feeds now."""
        if self.leadership is None:
            return True
        try:
            return self.leadership.ensure()
        except Exception:
            log.exception("Could not settle the lead; standing by")
            return False

    def wake(self) -> None:
        """Run the next pass now (after a broadcast was scheduled or cancelled)."""
        self._wake.set()

    def receivers_online(self, receiver_ids: list[str]) -> None:
        """Note receivers that came online (called by the ingestor after a commit)."""
        self._note_online(receiver_ids)
        self._online_wake.set()

    def _note_online(self, receiver_ids: list[str]) -> None:
        with self._online_lock:
            self._online.update(receiver_ids)

    def resend_pending(self, now: datetime | None = None) -> int:
        """Resend current commands to every receiver noted online since the last pass.

        One query for all of them; publishes without waiting for the broker. Returns how
        many commands were published. Receivers stay noted while the publisher is down.
        """
        with self._online_lock:
            receiver_ids, self._online = sorted(self._online), set()
        if not receiver_ids:
            return 0
        if not self.publisher.connected:
            self._note_online(receiver_ids)  # retried after RESEND_RETRY_SECONDS
            return 0
        try:
            resent = resend_to_online(
                engine=self.engine,
                publisher=self.publisher,
                topics=self.topics,
                receiver_ids=receiver_ids,
                now=now or self.clock(),
                metrics=self.metrics,
            )
        except Exception:
            log.exception("Resending to %d receivers failed; will retry", len(receiver_ids))
            self._note_online(receiver_ids)
            return 0
        stats = self.resend_stats
        stats.passes += 1
        stats.receivers += len(receiver_ids)
        programmes = sum(r.programmes for r in resent.values())
        cancels = sum(r.cancels for r in resent.values())
        stats.programmes += programmes
        stats.cancels += cancels
        return programmes + cancels

    def _run_resends(self) -> None:
        while not self._stop.is_set():
            self._online_wake.wait(RESEND_RETRY_SECONDS)
            self._online_wake.clear()
            if self._stop.is_set():
                return
            try:
                self.resend_pending()
            except Exception:
                log.exception("Resend pass failed; retrying")

    def tick(self, now: datetime | None = None) -> TickReport:
        """One pass: dispatch due airings, publish commands and cancels, apply deadlines."""
        now = now or self.clock()
        report = self.dispatch_pass(now)
        report.deadlines = self.deadline_pass(now)
        return report

    def dispatch_pass(self, now: datetime | None = None) -> TickReport:
        """Air released CAP alerts, dispatch due airings, publish commands and cancels."""
        now = now or self.clock()
        report = TickReport()
        with self._tick_lock:
            report.alerts = self.alert_pass(now)
            report.occurrences, report.deliveries = dispatch_due(
                engine=self.engine, settings=self.settings, builder=self.builder, now=now
            )
            report.reaired = reair_interrupted(
                engine=self.engine, settings=self.settings, now=now
            ).queued
            if self.publisher.connected:
                report.published = publish_queued(
                    engine=self.engine,
                    publisher=self.publisher,
                    topics=self.topics,
                    now=now,
                    metrics=self.metrics,
                )
                report.cancels = publish_cancels(
                    engine=self.engine,
                    publisher=self.publisher,
                    topics=self.topics,
                    now=now,
                    metrics=self.metrics,
                )
        return report

    def filler_pass(self, now: datetime | None = None) -> int:
        """Send filler commands to the online receivers not holding their station's."""
        if not self.publisher.connected:
            return 0
        return publish_filler(
            engine=self.engine,
            settings=self.settings,
            publisher=self.publisher,
            topics=self.topics,
            now=now or self.clock(),
            metrics=self.metrics,
        )

    def _run_filler(self) -> None:
        while not self._stop.is_set():
            try:
                if self.leads():
                    self.filler_pass()
            except Exception:
                log.exception("Filler pass failed; retrying")
            self._stop.wait(self.settings.filler_interval_seconds)

    def alert_pass(self, now: datetime | None = None) -> int:
        """Release held CAP alerts past their deadline and schedule those whose audio is ready."""
        with transaction(self.engine) as session:
            return release_alerts(session=session, settings=self.settings, now=now or self.clock())

    def feed_pass(self, now: datetime | None = None) -> FeedReport:
        """Read the areas' CAP feeds whose time has come and take in their new alerts."""
        report = self.feeds.poll(now or self.clock())
        if report.alerts:
            self._wake.set()
        return report

    def deadline_pass(self, now: datetime | None = None) -> dict[str, int]:
        """Apply deadlines (expired, missed, settled); never waits for the broker."""
        with self._deadline_lock:
            return apply_deadlines(
                engine=self.engine, settings=self.settings, now=now or self.clock()
            )

    def webhook_pass(self, now: datetime | None = None) -> SendReport:
        """POST the webhook events that are due to their subscribers, record the outcomes."""
        return self.webhooks.send_due(now or self.clock())

    def _run_webhooks(self) -> None:
        while not self._stop.is_set():
            try:
                if self.leads():  # one sender among several workers
                    self.webhook_pass()
            except Exception:
                log.exception("Webhook pass failed; retrying")
            self._stop.wait(self.settings.webhook_poll_seconds)

    def notification_pass(self, now: datetime | None = None) -> NotifyReport:
        """Write the weekly digests that are due, raise and resolve language gap alerts,
        then send the e-mail that is due."""
        now = now or self.clock()
        report = NotifyReport()
        with transaction(self.engine) as session:
            report.digests = len(write_digests(session=session, settings=self.settings, now=now))
        with transaction(self.engine) as session:
            report.gaps = alert_language_gaps(session=session, settings=self.settings, now=now)
        report.mail = self.mail.send_due(now)
        return report

    def notification_round(self, now: datetime | None = None) -> NotifyReport | None:
        """The loop's step: a notification pass when this worker leads, else nothing
        (one digest and one alert per event among several workers)."""
        return self.notification_pass(now) if self.leads() else None

    def _run_notifications(self) -> None:
        while not self._stop.is_set():
            try:
                self.notification_round()
            except Exception:
                log.exception("Notification pass failed; retrying")
            self._stop.wait(self.settings.notify_poll_seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.leads():
                    self.dispatch_pass()
            except Exception:
                log.exception("Scheduler pass failed; retrying")
            self._wake.wait(self.settings.scheduler_interval_seconds)
            self._wake.clear()

    def _run_feeds(self) -> None:
        while not self._stop.is_set():
            try:
                if self.leads():
                    self.feed_pass()
            except Exception:
                log.exception("CAP feed pass failed; retrying")
            self._stop.wait(self.settings.scheduler_interval_seconds)

    def _run_deadlines(self) -> None:
        while not self._stop.is_set():
            try:
                if self.leads():
                    self.deadline_pass()
            except Exception:
                log.exception("Deadline pass failed; retrying")
            self._stop.wait(self.settings.scheduler_interval_seconds)
