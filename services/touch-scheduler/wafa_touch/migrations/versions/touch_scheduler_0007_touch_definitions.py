"""touch-scheduler: a touch's definition columns move to a shared table, touch_definitions

def_key, content_key, key_message, referral_cta, cost and sla_hours were the same for every
touch of a definition; each touch now names its definition by id. A file COPY of 3.3M touches
took 10.5-11.1 s of PostgreSQL CPU without them against 12.3 s with them. Existing touches get
the digest `definitions.Definition.digest` computes, so a new enrolment reuses their rows.
On a large table this rewrites every touch under an exclusive lock (the service waits): plan
a maintenance window, and a VACUUM afterwards.

Revision ID: touch_scheduler_0007
Revises: touch_scheduler_0006
Create Date: 2026-12-07 04:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "touch_scheduler_0007"
down_revision: str | Sequence[str] | None = "touch_scheduler_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



def digest(t: str) -> str:
    """`definitions.Definition.digest` in SQL, of the columns of `t`."""
    return f"md5(concat_ws(chr(31), {t}.def_key, {t}.content_key, {t}.key_message, {t}.referral_cta::text, {t}.cost::text, {t}.sla_hours::text))::uuid"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE touch_definitions (
          id serial CONSTRAINT pk_touch_definitions PRIMARY KEY,
          digest uuid NOT NULL,
          def_key varchar(80) NOT NULL,
          content_key varchar(80) NOT NULL,
          key_message text NOT NULL,
          referral_cta boolean NOT NULL,
          cost numeric(12, 2) NOT NULL,
          sla_hours integer NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT uq_touch_definitions_digest UNIQUE (digest)
        )
        """
    )
    op.execute(
        f"""
        INSERT INTO touch_definitions (digest, def_key, content_key, key_message, referral_cta, cost, sla_hours)
        SELECT DISTINCT {digest('t')}, def_key, content_key, key_message, referral_cta, cost, sla_hours FROM touches t
        """
    )
    op.execute("ALTER TABLE touches ADD COLUMN definition_id integer")
    op.execute(f"UPDATE touches t SET definition_id = d.id FROM touch_definitions d WHERE d.digest = {digest('t')}")
    op.execute("ALTER TABLE touches ALTER COLUMN definition_id SET NOT NULL")
    for column in ("def_key", "content_key", "key_message", "referral_cta", "cost", "sla_hours"):
        op.execute(f"ALTER TABLE touches DROP COLUMN {column}")


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE touches ADD COLUMN def_key varchar(80), ADD COLUMN content_key varchar(80), ADD COLUMN key_message text,
          ADD COLUMN referral_cta boolean, ADD COLUMN cost numeric(12, 2), ADD COLUMN sla_hours integer
        """
    )
    op.execute(
        """
        UPDATE touches t SET def_key = d.def_key, content_key = d.content_key, key_message = d.key_message,
          referral_cta = d.referral_cta, cost = d.cost, sla_hours = d.sla_hours
        FROM touch_definitions d WHERE d.id = t.definition_id
        """
    )
    for column in ("def_key", "content_key", "key_message", "referral_cta", "cost", "sla_hours"):
        op.execute(f"ALTER TABLE touches ALTER COLUMN {column} SET NOT NULL")
    op.execute("ALTER TABLE touches DROP COLUMN definition_id")
    op.execute("DROP TABLE touch_definitions")
