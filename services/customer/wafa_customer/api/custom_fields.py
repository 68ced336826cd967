"""`/v1/custom-fields`: the business's own profile fields, that `attributes` are validated against."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from wafa_customer import repository
from wafa_customer.models import FieldDefinition
from wafa_customer.schemas import FieldDefinitionIn, FieldDefinitionOut
from wafa_shared.auth import require
from wafa_shared.deps import SessionDep

router = APIRouter(prefix="/v1/custom-fields", tags=["custom fields"])


@router.get("", response_model=list[FieldDefinitionOut], dependencies=[require("customers:read")], summary="Defined custom fields")
async def list_fields(session: SessionDep) -> Any:
    return [FieldDefinitionOut.model_validate(d) for d in await repository.field_definitions(session)]


@router.put("/{name}", response_model=FieldDefinitionOut, dependencies=[require("customers:write")], summary="Define or change a custom field")
async def put_field(name: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")], body: FieldDefinitionIn, session: SessionDep) -> Any:
    """Existing values are not re-validated; new writes are."""
    d = await session.get(FieldDefinition, name, with_for_update=True)
    if d is None:
        d = FieldDefinition(name=name)
        session.add(d)
    d.type, d.required, d.options, d.description = body.type, body.required, list(body.options), body.description
    await session.flush()
    return FieldDefinitionOut.model_validate(d)
