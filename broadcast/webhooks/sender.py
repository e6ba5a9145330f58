"""The sender: events of the outbox POSTed to their subscribers, signed, with retries.

Each pass reads the sends that are due, claims them (their next try moves past the
pass, so a second worker or a crash mid-pass never loses one), POSTs them at once with
a short timeout each, and writes the outcomes in one transaction. A 2xx is delivered;
anything else (another status, a timeout, a refused connection, a redirect) is tried
again after the next wait of LOA_WEBHOOK_RETRY_SECONDS, until LOA_WEBHOOK_MAX_ATTEMPTS
tries: then it is given up (`failed`). At most LOA_WEBHOOK_PER_SUBSCRIPTION sends of one
subscriber go per pass, so a slow or failing subscriber never holds up the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import httpx
from sqlalchemy import Engine, bindparam, delete, exists, func, select, update

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.webhooks import signing
from broadcast.webhooks.models import SendState
from broadcast.webhooks.outbox import EVENT, SEND, SUBSCRIPTION
from stations.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

USER_AGENT = "Loa-Webhooks/1"
MAX_ERROR = 500
# Part of the answer's body kept in the delivery log when it is not a 2xx.
BODY_KEPT = 200
# How often old lines of the delivery logs are removed (LOA_WEBHOOK_KEEP_DAYS).
PURGE_EVERY = timedelta(hours=1)


class _Due(NamedTuple):
    send_id: int
    attempts: int
    url: str
    secrets: tuple[str, ...]  # the current secret, then the one it replaced while it overlaps
    uid: str
    body: str


class _Outcome(NamedTuple):
    send_id: int
    attempts: int
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class SendReport:
    """What one pass of the sender did."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0  # given up


def clip(text: str, limit: int = MAX_ERROR) -> str:
    """`text` cut to `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class WebhookSender:
    """Sends due events; `send_due()` is one pass (the worker's loop calls it)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        wall_clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        # `clock` decides when a try is due; `wall_clock` stamps `webhook-timestamp`,
        # which subscribers compare with their own clock.
        self.clock = clock
        self.wall_clock = wall_clock
        self.transport = transport
        # Built on first use and again after close(): a worker stopped and started reuses it.
        self._client: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._purged_at: datetime | None = None

    @property
    def client(self) -> httpx.Client:
        """The HTTP client: LOA_WEBHOOK_TIMEOUT_SECONDS per request, redirects not followed."""
        if self._client is None:
            self._client = httpx.Client(
                timeout=self.settings.webhook_timeout_seconds,
                follow_redirects=False,
                headers={"user-agent": USER_AGENT},
                transport=self.transport,
            )
        return self._client

    @property
    def pool(self) -> ThreadPoolExecutor:
        """The threads requests run on, LOA_WEBHOOK_CONCURRENCY of them."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.settings.webhook_concurrency, thread_name_prefix="loa-webhook"
            )
        return self._pool

    def close(self) -> None:
        """Stop the request threads and close the connections."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def send_due(self, now: datetime | None = None) -> SendReport:
        """Send every due event (up to LOA_WEBHOOK_BATCH_SIZE) and record the outcomes."""
        now = now or self.clock()
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            self.purge(now)
        due = self._claim(now)
        report = SendReport(attempted=len(due))
        if not due:
            return report
        outcomes = list(self.pool.map(self._post, due))
        self._record(outcomes, now, report)
        return report

    def purge(self, now: datetime) -> int:
        """Remove delivered and given-up sends older than LOA_WEBHOOK_KEEP_DAYS, and the
        events no send is left for; returns how many sends went. Pending ones stay."""
        s, e = SEND, EVENT
        cutoff = now - timedelta(days=self.settings.webhook_keep_days)
        with transaction(self.engine) as session:
            gone = (
                session.connection()
                .execute(
                    delete(s).where(
                        s.c.state.in_([SendState.delivered.value, SendState.failed.value]),
                        s.c.created_at < cutoff,
                    )
                )
                .rowcount
            )
            session.execute(
                delete(e).where(e.c.created_at < cutoff, ~exists().where(s.c.event_id == e.c.id))
            )
        self._purged_at = now
        return int(gone or 0)

    def _claim(self, now: datetime) -> list[_Due]:
        s, e, sub = SEND, EVENT, SUBSCRIPTION
        settings = self.settings
        # One subscriber's sends in order of due time, numbered: only its first few go.
        rank = (
            func.row_number()
            .over(partition_by=s.c.subscription_id, order_by=(s.c.next_attempt_at, s.c.id))
            .label("rank")
        )
        ranked = (
            select(s.c.id, s.c.next_attempt_at, rank)
            .select_from(s.join(sub, sub.c.id == s.c.subscription_id))
            .where(
                s.c.state == SendState.pending.value,
                s.c.next_attempt_at <= now,
                sub.c.active.is_(True),
            )
            .subquery()
        )
        # Past the longest a pass can take: tries not recorded by then (a crash) are due again.
        lease = now + timedelta(seconds=settings.webhook_timeout_seconds * 2 + 60)
        with transaction(self.engine) as session:
            picked = select(ranked.c.id).where(ranked.c.rank <= settings.webhook_per_subscription)
            statement = (
                select(
                    s.c.id,
                    s.c.attempts,
                    sub.c.url,
                    sub.c.secret,
                    sub.c.previous_secret,
                    sub.c.previous_secret_until,
                    e.c.uid,
                    e.c.body,
                )
                .select_from(
                    s.join(sub, sub.c.id == s.c.subscription_id).join(e, e.c.id == s.c.event_id)
                )
                .where(s.c.id.in_(picked))
                .order_by(s.c.next_attempt_at, s.c.id)
                .limit(settings.webhook_batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                statement = statement.with_for_update(of=s, skip_locked=True)
            rows = [
                _Due(
                    sid,
                    attempts,
                    url,
                    (secret, previous)
                    if previous and until is not None and now < as_utc(until)
                    else (secret,),
                    uid,
                    body,
                )
                for sid, attempts, url, secret, previous, until, uid, body in session.execute(
                    statement
                ).all()
            ]
            if rows:
                session.execute(
                    update(s)
                    .where(s.c.id.in_([r.send_id for r in rows]))
                    .values(next_attempt_at=lease)
                )
        return rows

    def _post(self, due: _Due) -> _Outcome:
        timestamp = int(self.wall_clock())
        headers = signing.headers(due.secrets, due.uid, timestamp, due.body)
        attempts = due.attempts + 1
        try:
            answer = self.client.post(due.url, content=due.body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return _Outcome(due.send_id, attempts, None, clip(f"{type(exc).__name__}: {exc}"))
        except Exception as exc:  # noqa: BLE001 - one subscriber's trouble is logged as its own
            log.exception("Sending event %s to %s failed", due.uid, due.url)
            return _Outcome(due.send_id, attempts, None, clip(f"{type(exc).__name__}: {exc}"))
        if 200 <= answer.status_code < 300:
            return _Outcome(due.send_id, attempts, answer.status_code, None)
        text = answer.text[:BODY_KEPT].strip()
        error = f"HTTP {answer.status_code}" + (f": {text}" if text else "")
        return _Outcome(due.send_id, attempts, answer.status_code, clip(error))

    def _next_try(self, attempts: int, now: datetime) -> datetime | None:
        settings = self.settings
        if attempts >= settings.webhook_max_attempts:
            return None
        waits = settings.webhook_retry_seconds
        return now + timedelta(seconds=waits[min(attempts, len(waits)) - 1])

    def _record(self, outcomes: list[_Outcome], now: datetime, report: SendReport) -> None:
        s = SEND
        rows: list[dict[str, Any]] = []
        for outcome in outcomes:
            next_at = None if outcome.delivered else self._next_try(outcome.attempts, now)
            if outcome.delivered:
                state = SendState.delivered
                report.delivered += 1
            elif next_at is None:
                state = SendState.failed
                report.failed += 1
                log.warning(
                    "Webhook send %s given up after %d tries: %s",
                    outcome.send_id,
                    outcome.attempts,
                    outcome.error,
                )
            else:
                state = SendState.pending
                report.retrying += 1
            rows.append(
                {
                    "_id": outcome.send_id,
                    "state": state.value,
                    "attempts": outcome.attempts,
                    "next_attempt_at": next_at,
                    "last_attempt_at": now,
                    "last_status_code": outcome.status_code,
                    "last_error": outcome.error,
                    "delivered_at": now if outcome.delivered else None,
                }
            )
        with transaction(self.engine) as session:
            session.connection().execute(
                update(s).where(s.c.id == bindparam("_id")),
                rows,
            )
