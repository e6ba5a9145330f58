"""Users and their roles."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api import schemas
from api.convert import user_public
from api.deps import AdminDep, IdPath, PrincipalDep, SessionDep
from broadcast.core import audit
from broadcast.people import service as users
from broadcast.people.models import Role

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=schemas.UserPublic, summary="Who am I")
def me(session: SessionDep, principal: PrincipalDep) -> schemas.UserPublic:
    """The signed-in user, with role and home area."""
    return user_public(session, principal.user)


@router.get("", response_model=schemas.Page[schemas.UserPublic], summary="List users")
def list_users(
    session: SessionDep,
    principal: AdminDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    role: Role | None = None,
    area_code: str | None = None,
) -> schemas.Page[schemas.UserPublic]:
    """Users whose home area lies in the administrator's subtree."""
    rows, total = users.list_users(
        session=session,
        scope=principal.scope,
        role=role,
        area_code=area_code,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[user_public(session, u) for u in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=schemas.UserPublic, status_code=201, summary="Create a user")
def create_user(
    body: schemas.UserCreate, session: SessionDep, principal: AdminDep
) -> schemas.UserPublic:
    """A user with a role in a home area inside the administrator's subtree."""
    user = users.create_user(
        session=session,
        username=body.username,
        password=body.password,
        role=body.role,
        area_code=body.area_code,
        full_name=body.full_name,
        email=body.email,
        scope=principal.scope,
    )
    audit.record(
        session=session,
        actor=principal.user,
        action="user.create",
        object_type="user",
        object_id=user.id or 0,
        area_id=user.area_id,
        detail={"username": user.username, "role": body.role.value, "area_code": body.area_code},
    )
    return user_public(session, user)


@router.get("/{user_id}", response_model=schemas.UserPublic, summary="Show a user")
def get_user(user_id: IdPath, session: SessionDep, principal: AdminDep) -> schemas.UserPublic:
    """One user of the administrator's subtree."""
    return user_public(
        session, users.get_user(session=session, user_id=user_id, scope=principal.scope)
    )


@router.patch("/{user_id}", response_model=schemas.UserPublic, summary="Change a user")
def update_user(
    user_id: IdPath, body: schemas.UserUpdate, session: SessionDep, principal: AdminDep
) -> schemas.UserPublic:
    """Change role, area, password or active flag."""
    user = users.get_user(session=session, user_id=user_id, scope=principal.scope)
    users.update_user(
        session=session,
        user=user,
        scope=principal.scope,
        full_name=body.full_name,
        password=body.password,
        role=body.role,
        area_code=body.area_code,
        active=body.active,
        email=body.email,
    )
    changed = body.model_dump(mode="json", exclude_unset=True)
    if "password" in changed:
        changed["password"] = "***"
    audit.record(
        session=session,
        actor=principal.user,
        action="user.update",
        object_type="user",
        object_id=user_id,
        area_id=user.area_id,
        detail=changed,
    )
    return user_public(session, user)
