"""Languages bulletins can be written or recorded in."""

from fastapi import APIRouter

from api import schemas
from api.deps import AdminDep, PrincipalDep, SessionDep
from broadcast.core import audit
from stations import registry
from stations.models import Language

router = APIRouter(prefix="/languages", tags=["languages"])


def _public(lang: Language) -> schemas.LanguagePublic:
    return schemas.LanguagePublic(code=lang.code, name=lang.name, active=lang.active)


@router.get("", response_model=list[schemas.LanguagePublic], summary="List languages")
def list_languages(
    session: SessionDep, principal: PrincipalDep, include_inactive: bool = False
) -> list[schemas.LanguagePublic]:
    """All languages, Vietnamese first."""
    rows = registry.list_languages(session=session, include_inactive=include_inactive)
    return [_public(lang) for lang in rows]


@router.post("", response_model=schemas.LanguagePublic, status_code=201, summary="Add a language")
def create_language(
    body: schemas.LanguageCreate, session: SessionDep, principal: AdminDep
) -> schemas.LanguagePublic:
    """Add a language (ISO 639 code where one exists, Vietnamese name)."""
    lang = registry.create_language(session=session, code=body.code, name=body.name)
    audit.record(
        session=session,
        actor=principal.user,
        action="language.create",
        object_type="language",
        object_id=lang.code,
        detail=body.model_dump(),
    )
    return _public(lang)


@router.patch("/{code}", response_model=schemas.LanguagePublic, summary="Change a language")
def update_language(
    code: str, body: schemas.LanguageUpdate, session: SessionDep, principal: AdminDep
) -> schemas.LanguagePublic:
    """Rename or (de)activate a language."""
    lang = registry.get_language(session=session, code=code)
    if body.name is not None:
        lang.name = body.name
    if body.active is not None:
        lang.active = body.active
    session.add(lang)
    audit.record(
        session=session,
        actor=principal.user,
        action="language.update",
        object_type="language",
        object_id=code,
        detail=body.model_dump(exclude_unset=True),
    )
    return _public(lang)
