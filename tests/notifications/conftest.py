"""A real SMTP server (aiosmtpd) in this process, on a free port, keeping what it receives."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from broadcast.core.settings import Settings
from tests.utils import free_port

# An address the server refuses for good, as a real server refuses an unknown mailbox.
UNKNOWN = "khongtontai@loa.example"


@dataclass
class Mailbox:
    """What the SMTP server took, decoded as a mail client reads it."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == UNKNOWN:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages addressed to `address`."""
        return [m for m in self.received if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A running SMTP server and its port."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp: tuple[Mailbox, int]) -> Settings:
    """The test settings with e-mail sent to the local SMTP server (no TLS, no login)."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[1],
            "smtp_starttls": False,
            "smtp_from": "loa@sotttt.laocai.example",
        }
    )
