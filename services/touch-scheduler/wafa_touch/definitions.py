"""Touch definitions as stored (`models.TouchDefinition`): one row per distinct content, key,
cost and SLA, shared by every touch made from it.

A row is identified by its `digest`, the MD5 of its fields, so that writers need no lookup
table of their own: the same definition always has the same digest, whichever plan, plan
version or one-off touch uses it. Migration 0007 computes the same digest in SQL.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.lifecycle import runtime_of
from wafa_touch import repository as repo
from wafa_touch.domain.timing import TouchDef

CENT = Decimal("0.01")
SEPARATOR = "\x1f"  # the unit separator: cannot occur in a key, and the migration joins with chr(31)


@dataclass(frozen=True)
class Definition:
    def_key: str
    content_key: str
    key_message: str = ""
    referral_cta: bool = True
    cost: Decimal = Decimal("0")
    sla_hours: int = 72

    @classmethod
    def of(cls, d: TouchDef) -> Definition:
        return cls(d.key, d.content_key, d.key_message, d.referral_cta, d.cost, d.sla_hours)

    @property
    def digest(self) -> uuid.UUID:
        """MD5 of the fields as PostgreSQL writes them as text (`true`, `5.00`), as a uuid."""
        # abs: a cost of -0 (valid, >= 0) is stored, and hashed by the migration, as 0.00.
        cta, cost = "true" if self.referral_cta else "false", str(abs(self.cost).quantize(CENT))
        fields = (self.def_key, self.content_key, self.key_message, cta, cost, str(self.sla_hours))
        return uuid.UUID(bytes=hashlib.md5(SEPARATOR.join(fields).encode(), usedforsecurity=False).digest())

    def row(self) -> dict[str, object]:
        return {"digest": self.digest, **self.__dict__}


async def store(session: AsyncSession, definitions: Sequence[Definition]) -> None:
    """Store these definitions (those missing), in digest order, in the session's transaction:
    called where definitions are born (plans created, edited or seeded; the one-off touches at
    start-up), which are short transactions, so enrolments only look them up."""
    rows = {d.digest: d.row() for d in definitions}
    if rows:
        await repo.insert_definitions(session, [rows[k] for k in sorted(rows)])


async def definition_ids(session: AsyncSession, definitions: Sequence[Definition]) -> list[int]:
    """The stored id of each definition, in order. One still missing (not stored by `store`,
    e.g. in tables emptied by a test) is inserted in a transaction of its own, committed at
    once: inserted in the caller's transaction (a 15-second enrolment), it would make every
    other writer of the same definition wait for it. A row nobody uses is harmless (rows are
    immutable, keyed by their content)."""
    rows = {d.digest: d.row() for d in definitions}
    ids = await repo.definition_ids(session, list(rows))
    missing = [k for k in sorted(rows) if k not in ids]
    if missing:
        async with runtime_of(session).sessions() as own, own.begin():
            await repo.insert_definitions(own, [rows[k] for k in missing])
        ids.update(await repo.definition_ids(session, missing))
    return [ids[d.digest] for d in definitions]
