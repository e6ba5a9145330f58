"""The e-mail channel: messages written to the outbox in the transaction of their event,
sent by the worker over SMTP (the standard library's smtplib) with retries and backoff.

Each pass claims the due messages (their next try moves past the pass, so a crash
mid-pass never loses one), sends them over one connection, one recipient per message,
and records every outcome. A recipient the server refuses for good (5xx) fails at once;
any other trouble (a 4xx, a refused connection, a timeout) is tried again after the next
wait of LOA_SMTP_RETRY_SECONDS, until LOA_SMTP_MAX_ATTEMPTS tries. One bad address never
holds back the others: each message is its own SMTP transaction.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.notifications.models import MAX_ERROR, EmailMessage, MailState
from broadcast.people.models import Role, User
from stations.models import Area
from stations.timeutil import utcnow

log = logging.getLogger(__name__)

# Messages sent per pass; the rest wait for the next one.
BATCH_SIZE = 200


def mail_enabled(settings: Settings) -> bool:
    """Whether e-mail is configured (LOA_SMTP_HOST)."""
    return bool(settings.smtp_host)


def recipients_of_area(
    *,
    session: Session,
    area: Area,
    above: bool = True,
    roles: Iterable[Role] = (Role.editor, Role.admin),
) -> list[User]:
    """Active users with one of `roles` whose home area is `area`, or (with `above`) an
    area above it or none (global administrators); one query."""
    # The path holds the ids of the area and of every area above it ("/1/7/42/").
    home = [int(part) for part in area.path.split("/") if part] if above else []
    home = home or [area.id or 0]
    everywhere = col(User.area_id).is_(None) & (col(User.role) == Role.admin.value)
    rows = session.exec(
        select(User)
        .where(
            col(User.active).is_(True),
            col(User.role).in_([r.value for r in roles]),
            col(User.area_id).in_(home) | everywhere if above else col(User.area_id).in_(home),
        )
        .order_by(col(User.id))
    ).all()
    return list(rows)


def enqueue_mail(
    *, session: Session, settings: Settings, users: Iterable[User], subject: str, body: str
) -> int:
    """One outbox message per user with an address, when e-mail is configured; how many."""
    if not mail_enabled(settings):
        return 0
    rows = [
        EmailMessage(
            to_address=u.email,
            user_id=u.id,
            subject=subject[:300],
            body=body,
            next_attempt_at=utcnow(),
        )
        for u in users
        if u.email
    ]
    session.add_all(rows)
    return len(rows)


@dataclass
class MailReport:
    """What one pass of the mail sender did."""

    attempted: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Outcome:
    message_id: int
    attempts: int
    error: str | None
    permanent: bool = False


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


class MailSender:
    """Sends due e-mail; `send_due()` is one pass (the worker's loop calls it)."""

    def __init__(
        self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def send_due(self, now: datetime | None = None) -> MailReport:
        """Send every due message (up to BATCH_SIZE) and record the outcomes."""
        now = now or self.clock()
        report = MailReport()
        if not mail_enabled(self.settings):
            return report
        due = self._claim(now)
        report.attempted = len(due)
        if due:
            self._record(self._send(due), now, report)
        return report

    def _claim(self, now: datetime) -> list[EmailMessage]:
        lease = now + timedelta(seconds=self.settings.smtp_timeout_seconds * 4 + 60)
        with transaction(self.engine) as session:
            stmt = (
                select(EmailMessage)
                .where(
                    EmailMessage.state == MailState.pending.value,
                    col(EmailMessage.next_attempt_at) <= now,
                )
                .order_by(col(EmailMessage.next_attempt_at), col(EmailMessage.id))
                .limit(BATCH_SIZE)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list(session.exec(stmt).all())
            if rows:
                session.execute(
                    update(EmailMessage)
                    .where(col(EmailMessage.id).in_([r.id for r in rows]))
                    .values(next_attempt_at=lease)
                )
            for row in rows:
                session.expunge(row)
        return rows

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        smtp = smtplib.SMTP(
            settings.smtp_host or "", settings.smtp_port, timeout=settings.smtp_timeout_seconds
        )
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        return smtp

    def _mime(self, row: EmailMessage) -> MimeMessage:
        message = MimeMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = row.to_address
        message["Subject"] = row.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="loa")
        message.set_content(row.body, charset="utf-8")
        return message

    def _send(self, due: list[EmailMessage]) -> list[_Outcome]:
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            error = _clip(f"{type(exc).__name__}: {exc}")
            return [_Outcome(r.id or 0, r.attempts + 1, error) for r in due]
        outcomes: list[_Outcome] = []
        try:
            for row in due:
                outcomes.append(self._send_one(smtp, row))
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return outcomes

    def _send_one(self, smtp: smtplib.SMTP, row: EmailMessage) -> _Outcome:
        attempts = row.attempts + 1
        try:
            smtp.send_message(self._mime(row), from_addr=self.settings.smtp_from,
                              to_addrs=[row.to_address])  # fmt: skip
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            said = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
            error = _clip(f"{code} {said}")
            self._reset(smtp)
            return _Outcome(row.id or 0, attempts, error, permanent=500 <= code < 600)
        except smtplib.SMTPResponseException as exc:
            raw: bytes | str = exc.smtp_error
            said = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
            error = _clip(f"{exc.smtp_code} {said}")
            self._reset(smtp)
            return _Outcome(row.id or 0, attempts, error, permanent=500 <= exc.smtp_code < 600)
        except (OSError, smtplib.SMTPException) as exc:
            return _Outcome(row.id or 0, attempts, _clip(f"{type(exc).__name__}: {exc}"))
        return _Outcome(row.id or 0, attempts, None)

    @staticmethod
    def _reset(smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            log.debug("RSET after a refused message failed", exc_info=True)

    def _next_try(self, attempts: int, now: datetime) -> datetime | None:
        if attempts >= self.settings.smtp_max_attempts:
            return None
        waits = self.settings.smtp_retry_seconds
        return now + timedelta(seconds=waits[min(attempts, len(waits)) - 1])

    def _record(self, outcomes: list[_Outcome], now: datetime, report: MailReport) -> None:
        with transaction(self.engine) as session:
            for outcome in outcomes:
                values: dict[str, object] = {"attempts": outcome.attempts}
                if outcome.error is None:
                    values |= {"state": MailState.sent.value, "sent_at": now,
                               "next_attempt_at": None, "last_error": None}  # fmt: skip
                    report.sent += 1
                else:
                    next_at = None if outcome.permanent else self._next_try(outcome.attempts, now)
                    values |= {"last_error": outcome.error, "next_attempt_at": next_at}
                    if next_at is None:
                        values["state"] = MailState.failed.value
                        report.failed += 1
                        log.warning("E-mail %s given up: %s", outcome.message_id, outcome.error)
                    else:
                        report.retrying += 1
                session.execute(
                    update(EmailMessage)
                    .where(col(EmailMessage.id) == outcome.message_id)
                    .values(**values)
                )
