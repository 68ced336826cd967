"""A small service made only of the shared library, to test the library end to end:
notes are created over HTTP (idempotent) or by a signed partner webhook, each publishes
`test.note.created` through the outbox, and a consumer applies it into `note_effects`."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import DateTime, Integer, String, func, insert, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wafa_shared.app import build_app
from wafa_shared.auth import Principal, require
from wafa_shared.clock import Clock
from wafa_shared.db import new_metadata
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.events import Event, EventData
from wafa_shared.events.catalog import event
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.inbox import ConsumerSpec, Handlers
from wafa_shared.lifecycle import ServiceSpec
from wafa_shared.outbox import publish
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.settings import ServiceSettings
from wafa_shared.webhooks import inbound, signing

MIGRATIONS = Path(__file__).parent / "migrations"
TOPIC = "wafa.customer"
FAILING_BODIES: set[str] = set()  # handler raises for these bodies (poison simulation)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NoteEffect(Base):
    __tablename__ = "note_effects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    note_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    customer_id: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer)


@event
class NoteCreated(EventData):
    event_type: ClassVar[str] = "test.note.created"
    topic: ClassVar[str] = TOPIC
    note_id: uuid.UUID
    customer_id: str
    seq: int
    body: str


class NotesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_NOTES_")
    service_name: ClassVar[str] = "notes"
    default_port: ClassVar[int] = 8099
    partner_secret: str = "whsec_" + "dGVzdC1wYXJ0bmVyLXNlY3JldC0wMTIzNDU2Nzg5"


class NoteIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=100)
    seq: int = Field(ge=0)
    body: str = Field(min_length=1, max_length=1000)


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    customer_id: str
    seq: int
    body: str


async def create_note(session: AsyncSession, body: NoteIn) -> Note:
    note = Note(id=uuid.uuid4(), **body.model_dump())
    session.add(note)
    await session.flush()
    await publish(session, NoteCreated(note_id=note.id, **body.model_dump()), subject=body.customer_id)
    return note


router = APIRouter(prefix="/v1", tags=["notes"])


@router.post("/notes", status_code=201, response_model=NoteOut)
async def post_note(body: NoteIn, session: SessionDep, caller: Annotated[Principal, require("notes:write")], key: IdempotencyKeyHeader = None) -> Any:
    async def create() -> tuple[int, Any]:
        return 201, NoteOut.model_validate(await create_note(session, body))

    return await idempotent(session, scope=f"notes:{caller.subject}", key=key, body=body, create=create)


@router.get("/notes", response_model=Page[NoteOut], dependencies=[require("notes:read")])
async def list_notes(session: SessionDep, page: PageDep) -> Any:
    items, nxt = await keyset_page(session, select(Note), [Note.customer_id, Note.seq, Note.id], page, lambda n: [n.customer_id, n.seq, str(n.id)])
    return Page[NoteOut](items=[NoteOut.model_validate(n) for n in items], next_cursor=nxt)


@router.post("/inbound/notes", response_model=NoteOut)
async def inbound_note(request: Request, session: SessionDep, runtime: RuntimeDep) -> Any:
    raw = await request.body()
    msg_id = signing.verify([runtime.settings.partner_secret], request.headers, raw, tolerance_s=runtime.settings.webhook_tolerance_s)
    first, stored = await inbound.claim(session, "partner", msg_id)
    if not first:
        return stored
    out = NoteOut.model_validate(await create_note(session, NoteIn.model_validate_json(raw)))
    await inbound.remember(session, "partner", msg_id, out)
    return out


handlers = Handlers()


@handlers.on("test.note.created")
async def apply_note(session: AsyncSession, event: Event, data: NoteCreated) -> None:
    if data.body in FAILING_BODIES:
        raise RuntimeError(f"cannot apply note body {data.body!r}")
    await session.execute(insert(NoteEffect).values(note_id=data.note_id, customer_id=data.customer_id, seq=data.seq))


SPEC = ServiceSpec(
    name="notes",
    title="Notes (test)",
    description="Test service.",
    migrations_dir=MIGRATIONS,
    topic=TOPIC,
    routers=[router],
    consumers=[ConsumerSpec("effects", [TOPIC], handlers)],
)


def create_app(settings: NotesSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or NotesSettings(), clock)
