"""Receivers across stations."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api import schemas
from api.convert import receiver_public
from api.deps import AdminDep, IdQuery, PrincipalDep, SessionDep
from broadcast.core import audit
from broadcast.delivery.status import receiver_programme
from stations import registry

router = APIRouter(prefix="/receivers", tags=["receivers"])


@router.get("", response_model=schemas.Page[schemas.ReceiverPublic], summary="List receivers")
def list_receivers(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    station_id: IdQuery = None,
    area_code: Annotated[str | None, Query(description="Only receivers inside this area")] = None,
    online: bool | None = None,
) -> schemas.Page[schemas.ReceiverPublic]:
    """Receivers in the caller's subtree."""
    rows, total = registry.list_receivers(
        session=session,
        scope=principal.scope,
        station_id=station_id,
        area_code=area_code,
        online=online,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[receiver_public(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{receiver_id}", response_model=schemas.ReceiverPublic, summary="Show a receiver")
def get_receiver(
    receiver_id: str, session: SessionDep, principal: PrincipalDep
) -> schemas.ReceiverPublic:
    """One receiver: online state, when it was last seen, the programme it holds."""
    receiver, _station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    held = receiver_programme(session=session, receiver_id=receiver_id)
    return receiver_public(receiver).model_copy(
        update={
            "programme_version": held.version if held else None,
            "programme_broadcast_id": held.broadcast_id if held else None,
        }
    )


@router.patch("/{receiver_id}", response_model=schemas.ReceiverPublic, summary="Change a receiver")
def update_receiver(
    receiver_id: str, body: schemas.ReceiverUpdate, session: SessionDep, principal: AdminDep
) -> schemas.ReceiverPublic:
    """Rename, relocate or (de)activate a receiver."""
    receiver, station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(receiver, field, value)
    session.add(receiver)
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.update",
        object_type="receiver",
        object_id=receiver_id,
        area_id=station.area_id,
        detail=body.model_dump(exclude_unset=True),
    )
    return receiver_public(receiver)


@router.post(
    "/{receiver_id}/reset-password",
    response_model=schemas.ReceiverCredentials,
    summary="Mint new MQTT credentials",
)
def reset_password(
    receiver_id: str, session: SessionDep, principal: AdminDep
) -> schemas.ReceiverCredentials:
    """Replace a receiver's MQTT password (shown once); the old one stops working."""
    receiver, station, _area = registry.get_receiver(
        session=session, receiver_id=receiver_id, scope=principal.scope
    )
    password = registry.reset_receiver_password(session=session, receiver=receiver)
    audit.record(
        session=session,
        actor=principal.user,
        action="receiver.reset_password",
        object_type="receiver",
        object_id=receiver_id,
        area_id=station.area_id,
    )
    return schemas.ReceiverCredentials(mqtt_username=receiver.id, mqtt_password=password)
