"""Language reviewers: an area names people who sign off its versions in one language.

A H'Mông speaker checks the H'Mông recordings of the bulletins of their area. An area
names reviewers per language, and they are inherited down the area tree: for a bulletin,
the nearest area (the bulletin's own, then each area above it) that names any active
reviewer for the language wins, as area voices and lexicons do.

When a reviewer is named for a version's language, the version needs one of them to sign
it off (approve, or send it back with a note) beside the bulletin's approval: a version
without that sign-off is not ready and is left out of every programme, while the
bulletin's approval still happens and its other versions air. A new text, recording or
template audio of the version clears the sign-off. A reviewer never signs off their own
work (the version's translator), only versions in their languages, and only inside their
own subtree (they find the bulletin with their scope). Emergencies and the bulletins of
CAP alerts never wait: their versions air without a language sign-off (a reviewer may
still sign them off).
Every sign-off is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_
from sqlmodel import Session, col, select

from broadcast.alerts.models import Alert
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import (
    AudioState,
    Bulletin,
    BulletinStatus,
    LanguageReviewer,
    Priority,
    ReviewDecision,
    ReviewState,
    Translation,
)
from broadcast.core import audit
from broadcast.people.models import Role, User
from broadcast.people.service import Principal
from stations.areas import ancestors, get_area
from stations.errors import ConflictError, InvalidInputError, PermissionDeniedError
from stations.models import Area
from stations.timeutil import utcnow

MAX_NOTE_CHARS = 1000
# Roles that may be named: translators are editors; operators only confirm playback.
REVIEWER_ROLES = (Role.admin, Role.editor, Role.approver)


@dataclass(frozen=True, slots=True)
class Reviewers:
    """The reviewers that apply to one language of an area, and the area naming them."""

    language: str
    area: Area  # the nearest area naming any (the area itself or one above it)
    users: tuple[User, ...]


def effective_reviewers(*, session: Session, area: Area) -> dict[str, Reviewers]:
    """Per language, the active reviewers of the nearest area (itself or above) naming any."""
    chain = ancestors(session=session, area=area)
    by_id = {a.id: a for a in chain}
    rows = session.exec(
        select(LanguageReviewer, User)
        .join(User, col(LanguageReviewer.user_id) == col(User.id))
        .where(
            col(LanguageReviewer.area_id).in_(list(by_id)),
            col(User.active),
            col(User.role).in_([r.value for r in REVIEWER_ROLES]),
        )
        .order_by(col(User.username))
    ).all()
    named: dict[tuple[int, str], list[User]] = {}
    for row, user in rows:
        named.setdefault((row.area_id, row.language), []).append(user)
    found: dict[str, Reviewers] = {}
    for owner in reversed(chain):  # nearest first
        for (area_id, language), users in named.items():
            if area_id == owner.id and language not in found:
                found[language] = Reviewers(language, owner, tuple(users))
    return found


def own_reviewers(*, session: Session, area: Area) -> dict[str, list[User]]:
    """The reviewers the area itself names, per language (inactive users included)."""
    rows = session.exec(
        select(LanguageReviewer, User)
        .join(User, col(LanguageReviewer.user_id) == col(User.id))
        .where(LanguageReviewer.area_id == area.id)
        .order_by(col(LanguageReviewer.language), col(User.username))
    ).all()
    named: dict[str, list[User]] = {}
    for row, user in rows:
        named.setdefault(row.language, []).append(user)
    return named


def set_reviewers(
    *,
    session: Session,
    principal: Principal,
    area_code: str,
    reviewers: Mapping[str, Sequence[str]],
) -> dict[str, list[User]]:
    """An administrator replaces the reviewers the area names (language -> usernames).

    A language left out or given no usernames names nobody here: the area inherits.
    """
    principal.require()
    area = get_area(session=session, code=area_code, scope=principal.scope)
    wanted: dict[str, list[User]] = {}
    for language, usernames in reviewers.items():
        names = list(dict.fromkeys(u.strip() for u in usernames if u.strip()))
        if not names:
            continue  # nobody named here: the area inherits the language's reviewers
        bulletins.check_language(session=session, area=area, language=language)
        wanted[language] = [_reviewer_user(session, area, username) for username in names]
    before = {
        lang: [u.username for u in users]
        for lang, users in own_reviewers(session=session, area=area).items()
    }
    session.exec(delete(LanguageReviewer).where(col(LanguageReviewer.area_id) == area.id))
    for language, users in wanted.items():
        for user in users:
            session.add(
                LanguageReviewer(
                    area_id=area.id or 0,
                    language=language,
                    user_id=user.id or 0,
                    created_by_id=principal.user.id,
                )
            )
    session.flush()
    after = {lang: [u.username for u in users] for lang, users in wanted.items()}
    audit.record(
        session=session,
        actor=principal.user,
        action="area.language_reviewers",
        object_type="area",
        object_id=area.code,
        area_id=area.id,
        detail={"before": before, "after": after},
    )
    return wanted


def _reviewer_user(session: Session, area: Area, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise InvalidInputError(
            f"No active user '{username}'",
            code="language_reviewer.unknown_user",
            username=username,
        )
    if Role(user.role) not in REVIEWER_ROLES:
        raise InvalidInputError(
            f"'{username}' has the role '{user.role}', which cannot review versions",
            code="language_reviewer.bad_role",
            username=username,
            role=str(user.role),
        )
    home = session.get(Area, user.area_id) if user.area_id is not None else None
    # A reviewer sees only their own subtree: it must hold the area that names them.
    if home is not None and not area.path.startswith(home.path):
        raise InvalidInputError(
            f"'{username}' works in {home.name}, outside {area.name}",
            code="language_reviewer.out_of_area",
            username=username,
            area=area.name,
        )
    return user


# --- a version's sign-off ------------------------------------------------------------


def never_waits(*, session: Session, bulletin: Bulletin) -> bool:
    """True for an emergency or a CAP alert's bulletin: no version waits for a sign-off."""
    return (bulletin.id or 0) in exempt_ids(session=session, bulletins=[bulletin])


def exempt_ids(*, session: Session, bulletins: Iterable[Bulletin]) -> set[int]:
    """The bulletins among these whose versions never wait: emergencies and CAP alerts'."""
    rows = list(bulletins)
    exempt = {b.id or 0 for b in rows if b.priority == Priority.emergency}
    rest = [b.id for b in rows if (b.id or 0) not in exempt]
    if rest:
        exempt |= {
            bid
            for bid in session.exec(
                select(Alert.bulletin_id).where(col(Alert.bulletin_id).in_(rest))
            ).all()
            if bid is not None
        }
    return exempt


def needs_sign_off(language: str, named: Mapping[str, Reviewers], *, exempt: bool) -> bool:
    """True when a reviewer is named for the language and the bulletin is not `exempt`
    (`never_waits`)."""
    return not exempt and language in named


def signed_off(version: Translation) -> bool:
    """True when a language reviewer approved the version's current content."""
    return version.review_decision == ReviewDecision.approved and version.reviewed_by_id is not None


def shown_state(version: Translation, required: bool) -> ReviewState:
    """The version's review state: its reviewer's decision, else the bulletin's approval."""
    if version.review_decision == ReviewDecision.approved:
        return ReviewState.approved
    if version.review_decision == ReviewDecision.changes_requested:
        return ReviewState.changes_requested
    if required:
        return ReviewState.unreviewed
    return ReviewState(version.review_state)


def review_version(
    *,
    session: Session,
    principal: Principal,
    bulletin: Bulletin,
    area: Area,
    language: str,
    decision: ReviewDecision,
    note: str | None = None,
    now: datetime | None = None,
) -> Translation:
    """A language reviewer approves a version or sends it back with a note."""
    version = bulletins.get_translation(session=session, bulletin=bulletin, language=language)
    if bulletin.status == BulletinStatus.archived:
        raise ConflictError(
            f"Bulletin {bulletin.id} is archived and can no longer change",
            code="bulletin.archived",
            bulletin_id=bulletin.id,
        )
    named = effective_reviewers(session=session, area=area).get(language)
    if named is None or principal.user.id not in {u.id for u in named.users}:
        raise PermissionDeniedError(
            f"You are not a '{language}' reviewer of {area.name}",
            code="language_review.not_reviewer",
            language=language,
            area=area.name,
        )
    if version.translator_id is not None and version.translator_id == principal.user.id:
        raise PermissionDeniedError(
            f"You made the '{language}' version of bulletin {bulletin.id}: another "
            "reviewer of the language must sign it off",
            code="language_review.own_work",
            language=language,
            bulletin_id=bulletin.id,
        )
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise InvalidInputError(
            f"A note has at most {MAX_NOTE_CHARS} characters",
            code="language_review.note_too_long",
            limit=MAX_NOTE_CHARS,
        )
    if decision == ReviewDecision.changes_requested and note is None:
        raise InvalidInputError(
            "Sending a version back needs a note its translator can act on",
            code="language_review.note_required",
        )
    if decision == ReviewDecision.approved and version.audio_state != AudioState.ready:
        raise ConflictError(
            f"The '{language}' audio of bulletin {bulletin.id} is {version.audio_state}: "
            "listen to it before signing it off",
            code="language_review.audio_not_ready",
            language=language,
            bulletin_id=bulletin.id,
        )
    version.review_decision = decision
    version.reviewed_by_id = principal.user.id
    version.reviewed_at = now or utcnow()
    version.review_note = note
    session.add(version)
    session.flush()
    audit.record(
        session=session,
        actor=principal.user,
        action="translation.review",
        object_type="bulletin",
        object_id=bulletin.id or 0,
        area_id=bulletin.area_id,
        detail={
            "language": language,
            "decision": decision.value,
            "note": note,
            "content_hash": version.content_hash,
        },
    )
    return version


@dataclass(frozen=True, slots=True)
class AwaitingReview:
    """A version the caller may sign off and nobody has yet."""

    bulletin: Bulletin
    area: Area
    version: Translation


def awaiting_my_review(
    *, session: Session, principal: Principal, limit: int = 100
) -> list[AwaitingReview]:
    """Versions in the caller's languages and subtree waiting for a sign-off, oldest first.

    Emergencies and CAP alerts (which never wait), archived bulletins and the caller's own
    work are left out.
    """
    languages = set(
        session.exec(
            select(LanguageReviewer.language).where(LanguageReviewer.user_id == principal.user.id)
        ).all()
    )
    if not languages:
        return []
    rows = session.exec(
        select(Translation, Bulletin, Area)
        .join(Bulletin, col(Translation.bulletin_id) == col(Bulletin.id))
        .join(Area, col(Bulletin.area_id) == col(Area.id))
        .where(
            principal.scope.clause(),
            col(Translation.language).in_(sorted(languages)),
            col(Translation.review_decision).is_(None),
            col(Bulletin.status) != BulletinStatus.archived,
            col(Bulletin.priority) != Priority.emergency,
            col(Bulletin.id).not_in(
                select(Alert.bulletin_id).where(col(Alert.bulletin_id).is_not(None))
            ),
            _not_own(principal),
        )
        .order_by(col(Translation.updated_at), col(Translation.id))
    ).all()
    named_by_area: dict[int, dict[str, Reviewers]] = {}
    found: list[AwaitingReview] = []
    for version, bulletin, area in rows:
        area_id = area.id or 0
        if area_id not in named_by_area:
            named_by_area[area_id] = effective_reviewers(session=session, area=area)
        named = named_by_area[area_id].get(version.language)
        if named is not None and principal.user.id in {u.id for u in named.users}:
            found.append(AwaitingReview(bulletin, area, version))
            if len(found) >= limit:
                break
    return found


def _not_own(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause leaving out the caller's own versions."""
    return or_(
        col(Translation.translator_id).is_(None),
        col(Translation.translator_id) != principal.user.id,
    )
