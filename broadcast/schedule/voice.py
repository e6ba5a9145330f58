"""Announcements spoken into the console's microphone: a bulletin made of one recording.

The recording goes through the same checks and levelling as any uploaded recording
(`recordings.store_bulletin_recording`) and becomes the Vietnamese version of a new
bulletin. What happens next depends on who speaks:

- an editor's announcement is submitted for approval, as any bulletin: an approver of
  the area listens to it and approves it, and it is then scheduled (or sent at once
  with the emergency form);
- an administrator's emergency airs at once in the chosen areas: the administrator
  stands in for the approver, and the audit log names the rule that let it through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from sqlmodel import Session

from broadcast.bulletins import recordings
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import Bulletin
from broadcast.bulletins.models import Priority as BulletinPriority
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.schedule.models import Broadcast
from broadcast.schedule.service import schedule_broadcast
from stations.errors import InvalidInputError
from stations.protocol import Priority
from tts import Synthesizer

# The audit log's name for an administrator's voice emergency aired without a second person.
ADMIN_VOICE_EMERGENCY = "admin_voice_emergency"
MAX_TITLE = 200


@dataclass(frozen=True, slots=True)
class Announced:
    """What a voice announcement became: its bulletin, and its broadcast when it airs now."""

    bulletin: Bulletin
    broadcast: Broadcast | None


def airs_at_once(principal: Principal, priority: Priority) -> bool:
    """True when this caller's announcement airs without waiting for an approver."""
    return priority is Priority.emergency and principal.role is Role.admin


def announce(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    synthesizer: Synthesizer,
    title: str,
    area_codes: Sequence[str],
    priority: Priority,
    upload: BinaryIO,
    filename: str | None,
    wake: Callable[[], None] | None = None,
) -> Announced:
    """Make a recorded announcement a bulletin; air it at once when the caller may.

    Raises InvalidInputError for a missing title or area, or a recording that is refused
    (corrupt, silent, too long); nothing is stored then (the caller rolls back).
    """
    principal.require(Role.editor)
    title = title.strip()
    if not title:
        raise InvalidInputError("The announcement needs a title", code="announcement.no_title")
    if len(title) > MAX_TITLE:
        raise InvalidInputError(
            f"The title is longer than {MAX_TITLE} characters",
            code="announcement.title_too_long",
            limit=MAX_TITLE,
        )
    codes = list(dict.fromkeys(code for code in area_codes if code))
    if not codes:
        raise InvalidInputError(
            "Choose the areas that must hear the announcement", code="announcement.no_area"
        )
    bulletin = bulletins.create_bulletin(
        session=session,
        principal=principal,
        title=title,
        priority=BulletinPriority(priority.value),
        # A province-wide administrator has no home area: the first area chosen holds it.
        area_code=None if principal.area is not None else codes[0],
    )
    recordings.store_bulletin_recording(
        session=session,
        principal=principal,
        settings=settings,
        synthesizer=synthesizer,
        bulletin_id=bulletin.id or 0,
        language="vi",
        upload=upload,
        filename=filename,
    )
    bulletins.submit(session=session, principal=principal, bulletin=bulletin)
    if not airs_at_once(principal, priority):
        return Announced(bulletin, None)
    bulletins.approve_by_rule(session=session, bulletin=bulletin, rule=ADMIN_VOICE_EMERGENCY)
    scheduled = schedule_broadcast(
        session=session,
        settings=settings,
        principal=principal,
        bulletin_ids=[bulletin.id or 0],
        area_codes=codes,
        starts_at=None,
        priority=Priority.emergency,
        title=title,
        wake=wake,
    )
    return Announced(bulletin, scheduled.broadcast)
