"""Polling areas' CAP feeds (Atom or RSS): conditional requests, backoff, intake of new entries.

An area's alert rule may name a feed (`feed_url`). The worker reads each feed every
LOA_ALERT_FEED_POLL_SECONDS with `If-None-Match` / `If-Modified-Since` (304: nothing
new), follows each entry's link to its CAP document and takes it in exactly as
`POST /alerts/cap` does, on behalf of the administrator who set the feed. A feed that
fails (network, HTTP error, unreadable) is read again after a wait that doubles on each
failure, up to LOA_ALERT_FEED_MAX_BACKOFF_SECONDS. A CAP document refused by the intake
is logged and not fetched again while the worker runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from lxml import etree
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.alerts.cap import MAX_CAP_BYTES, declares_dtd
from broadcast.alerts.models import AlertRule
from broadcast.alerts.service import ALERTS_SCOPE, receive_alert
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import User
from broadcast.people.service import Principal, user_area
from stations.errors import LoaError
from stations.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class FeedState:
    """What the poller remembers of one feed between passes."""

    etag: str | None = None
    last_modified: str | None = None
    next_at: datetime | None = None
    failures: int = 0
    seen: set[str] = field(default_factory=set)  # entry links already taken in
    last_error: str | None = None


@dataclass
class FeedReport:
    """What one pass over the feeds did."""

    read: int = 0  # feeds asked
    unchanged: int = 0  # answered 304
    failed: int = 0
    alerts: int = 0  # new alerts taken in


def entry_links(data: bytes) -> list[str]:
    """The links of a feed's entries (Atom `entry/link` or RSS `item/link`), in order.

    Parsed like a CAP document: no entities, no DTD, no network. ValueError when it
    is not a readable feed.
    """
    if declares_dtd(data):
        raise ValueError("the feed declares a DTD")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"the feed is not well-formed XML: {exc}") from None
    links: list[str] = []
    for entry in root.iter(f"{ATOM}entry"):
        chosen = None
        for link in entry.findall(f"{ATOM}link"):
            href = link.get("href")
            if not href:
                continue
            kind = (link.get("type") or "").lower()
            if chosen is None or "cap" in kind or "xml" in kind:
                chosen = href
        if chosen:
            links.append(chosen.strip())
    for item in root.iter("item"):
        link = item.findtext("link")
        if link and link.strip():
            links.append(link.strip())
    if not links and root.tag not in (f"{ATOM}feed", "rss"):
        raise ValueError(f"not an Atom or RSS feed (root element {root.tag!r})")
    return links


class FeedPoller:
    """Reads the areas' CAP feeds; lives on the Worker, `poll(now)` is one pass."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.feeds: dict[str, FeedState] = {}

    def _backoff(self, state: FeedState, now: datetime, problem: str) -> None:
        state.failures += 1
        state.last_error = problem
        wait = min(
            self.settings.alert_feed_poll_seconds * 2**state.failures,
            self.settings.alert_feed_max_backoff_seconds,
        )
        state.next_at = now + timedelta(seconds=wait)
        log.warning("CAP feed failed (%s); next try in %.0f s", problem, wait)

    def poll(self, now: datetime | None = None, client: httpx.Client | None = None) -> FeedReport:
        """Read every feed whose time has come; take in the CAP alerts of new entries."""
        now = as_utc(now or utcnow())
        with Session(self.engine) as session:
            rules = session.exec(
                select(AlertRule.feed_url, AlertRule.updated_by_id).where(
                    col(AlertRule.feed_url).is_not(None)
                )
            ).all()
        report = FeedReport()
        owned = client is None
        http = client or httpx.Client(
            timeout=self.settings.alert_feed_timeout_seconds, follow_redirects=True
        )
        try:
            for url, owner_id in rules:
                if url is None:
                    continue
                state = self.feeds.setdefault(url, FeedState())
                if state.next_at is not None and now < state.next_at:
                    continue
                report.read += 1
                self._read(http, url, owner_id, state, now, report)
        finally:
            if owned:
                http.close()
        return report

    def _read(
        self,
        http: httpx.Client,
        url: str,
        owner_id: int | None,
        state: FeedState,
        now: datetime,
        report: FeedReport,
    ) -> None:
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            answer = http.get(url, headers=headers)
            if answer.status_code == 304:
                report.unchanged += 1
                state.failures, state.last_error = 0, None
                state.next_at = now + timedelta(seconds=self.settings.alert_feed_poll_seconds)
                return
            answer.raise_for_status()
            links = entry_links(answer.content)
        except (httpx.HTTPError, ValueError) as exc:
            report.failed += 1
            self._backoff(state, now, str(exc)[:300])
            return
        fresh = [link for link in links if link not in state.seen]
        for link in fresh:
            try:
                document = http.get(link)
                document.raise_for_status()
            except httpx.HTTPError as exc:
                report.failed += 1
                self._backoff(state, now, f"{link}: {exc}"[:300])
                return  # this entry is tried again on the next read
            if len(document.content) <= MAX_CAP_BYTES and self._take_in(
                document.content, owner_id, now, link
            ):
                report.alerts += 1
            state.seen.add(link)
        state.etag = answer.headers.get("ETag")
        state.last_modified = answer.headers.get("Last-Modified")
        state.failures, state.last_error = 0, None
        state.next_at = now + timedelta(seconds=self.settings.alert_feed_poll_seconds)

    def _take_in(self, document: bytes, owner_id: int | None, now: datetime, link: str) -> bool:
        """One CAP document of a feed, taken in on behalf of the rule's administrator."""
        try:
            with transaction(self.engine) as session:
                owner = session.get(User, owner_id) if owner_id is not None else None
                if owner is None or not owner.active:
                    log.warning("CAP feed entry %s skipped: the feed's owner is gone", link)
                    return False
                principal = Principal(
                    user=owner,
                    area=user_area(session=session, user=owner),
                    token_scopes=frozenset({ALERTS_SCOPE}),
                )
                _alert, created = receive_alert(
                    session=session,
                    settings=self.settings,
                    principal=principal,
                    document=document,
                    now=now,
                )
                return created
        except LoaError as exc:
            log.warning("CAP feed entry %s refused: %s", link, exc)
            return False
