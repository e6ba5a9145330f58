"""Users, sign-in, access tokens, API tokens and the caller's scope."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from broadcast.core import audit
from broadcast.people.models import TOKEN_SCOPES, ApiToken, FeedToken, RevokedToken, Role, User
from broadcast.people.throttle import LoginThrottle
from stations.areas import Scope, get_area
from stations.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TooManyAttemptsError,
)
from stations.models import Area
from stations.security import hash_secret, verify_secret
from stations.timeutil import as_utc, utcnow

API_TOKEN_PREFIX = "loa_"
FEED_TOKEN_PREFIX = "loacal_"  # never a bearer token: it opens calendar feeds only
JWT_ALGORITHM = "HS256"
USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
# One address, no display name: something@domain.tld, at most 254 characters.
EMAIL_RE = re.compile(r"^(?=.{3,254}$)[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in caller: who they are, their role and the subtree they act in."""

    user: User
    area: Area | None
    # The scopes of the API token the caller came with; None when signed in otherwise.
    token_scopes: frozenset[str] | None = None

    @property
    def role(self) -> Role:
        """The caller's role."""
        return Role(self.user.role)

    @property
    def scope(self) -> Scope:
        """The part of the area tree the caller may see and touch."""
        return Scope.of(self.area)

    def require(self, *roles: Role) -> None:
        """Raise PermissionDeniedError unless the caller has one of `roles` (admin always may)."""
        if self.role is not Role.admin and self.role not in roles:
            allowed = ", ".join(r.value for r in (Role.admin, *roles))
            raise PermissionDeniedError(
                f"The role '{self.role.value}' cannot do this (allowed: {allowed})",
                code="role.not_allowed",
                role=self.role.value,
                allowed=[r.value for r in (Role.admin, *roles)],
            )

    def require_token_scope(self, scope: str) -> None:
        """Raise PermissionDeniedError unless the caller came with an API token of `scope`."""
        if self.token_scopes is None or scope not in self.token_scopes:
            raise PermissionDeniedError(
                f"This needs an API token with the '{scope}' scope "
                '(POST /api/v1/auth/api-tokens with "scopes": ["' + scope + '"])',
                code="token.scope_required",
                scope=scope,
            )


# --- users -----------------------------------------------------------------


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(
            f"A password needs at least {MIN_PASSWORD} characters",
            code="user.password_too_short",
            limit=MIN_PASSWORD,
        )


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: Role,
    area_code: str | None,
    scope: Scope,
    full_name: str | None = None,
    email: str | None = None,
) -> User:
    """Create a user whose home area lies inside `scope`."""
    if not USERNAME_RE.match(username):
        raise InvalidInputError(
            "A username has 3-64 letters, digits, dots, dashes or underscores",
            code="user.bad_username",
        )
    _check_password(password)
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise ConflictError(
            f"User '{username}' already exists", code="user.exists", username=username
        )
    area = get_area(session=session, code=area_code, scope=scope) if area_code else None
    if area is None and scope.path is not None:
        raise InvalidInputError(
            "Only a global administrator can create a user without an area",
            code="user.area_required",
        )
    if area is None and role is not Role.admin:
        raise InvalidInputError(
            f"A user with the role '{role.value}' needs an area_code",
            code="user.role_needs_area",
            role=role.value,
        )
    user = User(
        username=username,
        full_name=full_name,
        email=_checked_email(email),
        password_hash=hash_secret(password),
        role=role,
        area_id=area.id if area else None,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    *,
    session: Session,
    user: User,
    scope: Scope,
    full_name: str | None = None,
    password: str | None = None,
    role: Role | None = None,
    area_code: str | None = None,
    active: bool | None = None,
    email: str | None = None,
) -> User:
    """Change a user's details; a new area must lie inside `scope` (an empty `email`
    removes the address).

    A change of password, role, area or active flag ends every access token and console
    session of the user (their token version moves on).
    """
    before = (user.password_hash, user.role, user.area_id, user.active)
    if full_name is not None:
        user.full_name = full_name
    if email is not None:
        user.email = _checked_email(email)
    if password is not None:
        _check_password(password)
        user.password_hash = hash_secret(password)
    if role is not None:
        user.role = role
    if area_code is not None:
        user.area_id = get_area(session=session, code=area_code, scope=scope).id
    if active is not None:
        user.active = active
    if (user.password_hash, user.role, user.area_id, user.active) != before:
        user.token_version = (user.token_version or 0) + 1
    session.add(user)
    session.flush()
    return user


def _checked_email(email: str | None) -> str | None:
    """An e-mail address trimmed (None when empty), or InvalidInputError."""
    email = (email or "").strip()
    if not email:
        return None
    if not EMAIL_RE.match(email):
        raise InvalidInputError(
            f"'{email}' is not an e-mail address", code="user.bad_email", email=email
        )
    return email


def user_area(*, session: Session, user: User) -> Area | None:
    """The user's home area (None for a global administrator)."""
    return session.get(Area, user.area_id) if user.area_id is not None else None


def get_user(*, session: Session, user_id: int, scope: Scope) -> User:
    """The user with `user_id` whose home area lies in `scope`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"User {user_id} not found", code="user.not_found", user_id=user_id)
    area = user_area(session=session, user=user)
    if scope.path is not None and (area is None or not scope.covers(area)):
        raise NotFoundError(f"User {user_id} not found", code="user.not_found", user_id=user_id)
    return user


def list_users(
    *,
    session: Session,
    scope: Scope,
    role: Role | None = None,
    area_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[User], int]:
    """Users whose home area lies in scope."""
    stmt = select(User).outerjoin(Area, col(User.area_id) == col(Area.id))
    if scope.path is not None:
        stmt = stmt.where(scope.clause())
    if role is not None:
        stmt = stmt.where(User.role == role)
    if area_code is not None:
        root = get_area(session=session, code=area_code, scope=scope)
        stmt = stmt.where(col(Area.path).startswith(root.path, autoescape=True))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(User.id)).offset(offset).limit(limit)).all()
    return rows, total


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        verify_secret(password, _DUMMY_HASH)
        return None
    return user if verify_secret(password, user.password_hash) else None


_DUMMY_HASH = hash_secret(secrets.token_hex(8))


def sign_in(
    *,
    session: Session,
    throttle: LoginThrottle,
    username: str,
    password: str,
    address: str | None,
    via: str,
) -> User | None:
    """`authenticate` behind the throttle: TooManyAttemptsError while locked out.

    A lockout that this failure starts is written to the audit log (action `auth.lockout`).
    """
    verdict = throttle.check(account=username, address=address)
    if not verdict.allowed:
        raise TooManyAttemptsError(
            f"Too many failed sign-ins. Try again in {verdict.retry_after} seconds",
            verdict.retry_after,
            code="auth.locked_out",
        )
    user = authenticate(session=session, username=username, password=password)
    if user is not None:
        throttle.succeeded(account=username)
        return user
    started = throttle.failed(account=username, address=address)
    if not started.allowed:
        known = session.exec(select(User).where(User.username == username)).first()
        audit.record(
            session=session,
            actor=None,
            action="auth.lockout",
            object_type="user",
            object_id=known.id if known is not None and known.id is not None else username[:64],
            area_id=known.area_id if known is not None else None,
            detail={"locked": started.key, "seconds": started.retry_after, "via": via},
        )
        session.commit()  # the sign-in itself fails; its lockout stays on record
    return None


# --- access tokens (short-lived, signed) and API tokens (long-lived, stored) ------


def issue_access_token(*, user: User, secret_key: str, minutes: int) -> str:
    """A signed bearer token for `user`, valid for `minutes`."""
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "jti": secrets.token_hex(16),
        "ver": user.token_version or 0,
    }
    return jwt.encode(claims, secret_key, algorithm=JWT_ALGORITHM)


def _access_claims(token: str, secret_key: str) -> dict[str, object] | None:
    """The claims of a valid access token (signature, expiry and every claim required)."""
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            secret_key,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub", "jti", "ver"]},
        )
    except jwt.PyJWTError:
        return None
    return claims


def revoke_access_token(*, session: Session, token: str, secret_key: str) -> bool:
    """End one access token (sign-out) until its expiry; False when it was not valid."""
    claims = _access_claims(token, secret_key)
    if claims is None:
        return False
    now = utcnow()
    # Tokens past their expiry are refused anyway: their rows are no longer needed.
    session.execute(delete(RevokedToken).where(col(RevokedToken.expires_at) < now))
    jti = str(claims["jti"])
    if session.get(RevokedToken, jti) is None:
        expires = datetime.fromtimestamp(float(str(claims["exp"])), tz=UTC)
        session.add(RevokedToken(jti=jti, expires_at=expires))
        session.flush()
    return True


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    *,
    session: Session,
    user: User,
    name: str,
    days: int | None = None,
    scopes: Sequence[str] = (),
) -> tuple[ApiToken, str]:
    """Mint a long-lived token for an integration; the clear token is returned once."""
    unknown = [s for s in scopes if s not in TOKEN_SCOPES]
    if unknown:
        raise InvalidInputError(
            f"Unknown token scope '{unknown[0]}' (known: {', '.join(TOKEN_SCOPES)})",
            code="token.unknown_scope",
            scope=unknown[0],
            known=list(TOKEN_SCOPES),
        )
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        scopes=sorted(set(scopes)),
        user_id=user.id or 0,
        name=name,
        token_hash=_hash_token(token),
        prefix=token[:12],
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    return row, token


def list_api_tokens(*, session: Session, user: User) -> Sequence[ApiToken]:
    """The caller's API tokens (never their secrets)."""
    return session.exec(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(col(ApiToken.id))
    ).all()


def revoke_api_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the caller's tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFoundError(
            f"API token {token_id} not found", code="token.not_found", token_id=token_id
        )
    row.revoked = True
    session.add(row)
    session.flush()
    return row


def issue_feed_token(*, session: Session, user: User) -> tuple[FeedToken, str]:
    """A new calendar feed secret for `user`, replacing any earlier one; shown once."""
    session.execute(delete(FeedToken).where(col(FeedToken.user_id) == user.id))
    token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = FeedToken(user_id=user.id or 0, token_hash=_hash_token(token), prefix=token[:14])
    session.add(row)
    session.flush()
    return row, token


def feed_token_of(*, session: Session, user: User) -> FeedToken | None:
    """The user's calendar feed secret as stored (never the secret itself), if any."""
    return session.exec(select(FeedToken).where(FeedToken.user_id == user.id)).first()


def revoke_feed_token(*, session: Session, user: User) -> bool:
    """Delete the user's calendar feed secret: every subscribed URL stops at once."""
    row = feed_token_of(session=session, user=user)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def resolve_feed_token(*, session: Session, token: str) -> User | None:
    """The active user a calendar feed secret stands for, or None."""
    if not token.startswith(FEED_TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.exec(select(FeedToken).where(FeedToken.token_hash == _hash_token(token))).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = utcnow()
    session.add(row)
    return user


def resolve_bearer(*, session: Session, token: str, secret_key: str) -> User | None:
    """The active user a bearer token (access or API token) stands for, or None."""
    return resolve_bearer_scopes(session=session, token=token, secret_key=secret_key)[0]


def resolve_bearer_scopes(
    *, session: Session, token: str, secret_key: str
) -> tuple[User | None, frozenset[str] | None]:
    """The active user a bearer token stands for, and an API token's scopes (else None)."""
    user: User | None
    scopes: frozenset[str] | None = None
    if token.startswith(API_TOKEN_PREFIX):
        row = session.exec(
            select(ApiToken).where(ApiToken.token_hash == _hash_token(token))
        ).first()
        if row is None or row.revoked:
            return None, None
        if row.expires_at is not None and as_utc(row.expires_at) <= utcnow():
            return None, None
        row.last_used_at = utcnow()
        session.add(row)
        user = session.get(User, row.user_id)
        scopes = frozenset(row.scopes or ())
    else:
        claims = _access_claims(token, secret_key)
        if claims is None:
            return None, None
        try:
            user = session.get(User, int(str(claims["sub"])))
        except ValueError:
            return None, None
        if user is None or claims["ver"] != (user.token_version or 0):
            return None, None
        if session.get(RevokedToken, str(claims["jti"])) is not None:
            return None, None
    if user is None or not user.active:
        return None, None
    return user, scopes
