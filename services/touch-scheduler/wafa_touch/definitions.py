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
        cta, cost = "true" if self.referral_cta else "false", str(self.cost.quantize(CENT))
        fields = (self.def_key, self.content_key, self.key_message, cta, cost, str(self.sla_hours))
        return uuid.UUID(bytes=hashlib.md5(SEPARATOR.join(fields).encode(), usedforsecurity=False).digest())

    def row(self) -> dict[str, object]:
        return {"digest": self.digest, **self.__dict__}


async def definition_ids(session: AsyncSession, definitions: Sequence[Definition]) -> list[int]:
    """The stored id of each definition, in order; those not stored yet are inserted."""
    rows = {d.digest: d.row() for d in definitions}
    ids = await repo.definition_ids(session, list(rows.values()))
    return [ids[d.digest] for d in definitions]
