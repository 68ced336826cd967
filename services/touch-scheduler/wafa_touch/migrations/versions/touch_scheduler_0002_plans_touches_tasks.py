"""touch-scheduler: customer projection, plans, enrolments, touches, tasks, channels, policy

Revision ID: touch_scheduler_0002
Revises: touch_scheduler_0001
Create Date: 2026-11-25 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "touch_scheduler_0002"
down_revision: str | Sequence[str] | None = "touch_scheduler_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_profiles",
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("display_name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(40)),
        sa.Column("language", sa.String(20)),
        sa.Column("country", sa.String(2)),
        sa.Column("time_zone", sa.String(64)),
        sa.Column("birth_date", sa.Date()),
        sa.Column("custom_dates", pg.JSONB(), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("consents", pg.JSONB(), nullable=False),
        sa.Column("preferred_channel", sa.String(20)),
        sa.Column("quiet_start", sa.Time()),
        sa.Column("quiet_end", sa.Time()),
        sa.Column("erased_at", TZ),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_profiles")),
    )
    op.create_table(
        "plans",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("repeatable", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("holdout_pct", sa.Numeric(5, 2), nullable=False),
        sa.Column("monthly_budget", sa.Numeric(14, 2)),
        sa.Column("touches", pg.JSONB(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("key", name=op.f("uq_plans_key")),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("plan_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("dedupe_key", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(60), nullable=False),
        sa.Column("anchor_at", TZ, nullable=False),
        sa.Column("enrolled_at", TZ, nullable=False),
        sa.Column("ended_at", TZ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_enrolments_plan_id_plans")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_enrolments_dedupe_key")),
    )
    op.create_index(op.f("ix_enrolments_customer_id"), "enrolments", ["customer_id"])
    op.create_table(
        "touches",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("plan_id", pg.UUID(as_uuid=True)),
        sa.Column("enrolment_id", pg.UUID(as_uuid=True)),
        sa.Column("def_key", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("content_key", sa.String(80), nullable=False),
        sa.Column("key_message", sa.Text(), nullable=False),
        sa.Column("referral_cta", sa.Boolean(), nullable=False),
        sa.Column("cost", sa.Numeric(12, 2), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("sla_hours", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("due_at", TZ),
        sa.Column("original_due_at", TZ),
        sa.Column("window_end", TZ),
        sa.Column("sent_at", TZ),
        sa.Column("completed_at", TZ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ),
        sa.Column("delivery_status", sa.String(20)),
        sa.Column("payload", pg.JSONB(), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_touches")),
    )
    op.create_index("ix_touches_status_due", "touches", ["status", "due_at"])
    op.create_index("ix_touches_customer_due", "touches", ["customer_id", "due_at"])
    op.create_index("ix_touches_customer_sent", "touches", ["customer_id", "sent_at"])
    op.create_index(op.f("ix_touches_enrolment_id"), "touches", ["enrolment_id"])
    op.create_table(
        "tasks",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("touch_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("outcome", sa.String(40)),
        sa.Column("notes", sa.Text()),
        sa.Column("completed_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.ForeignKeyConstraint(["touch_id"], ["touches.id"], name=op.f("fk_tasks_touch_id_touches")),
        sa.UniqueConstraint("touch_id", name=op.f("uq_tasks_touch_id")),
    )
    op.create_index(op.f("ix_tasks_customer_id"), "tasks", ["customer_id"])
    op.create_index(op.f("ix_tasks_assignee"), "tasks", ["assignee"])
    op.create_table(
        "team_members",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("assigned_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_team_members")),
    )
    op.create_table(
        "channel_endpoints",
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_endpoints")),
    )
    op.create_table(
        "fatigue_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("max_per_7d", sa.Integer(), nullable=False),
        sa.Column("max_per_30d", sa.Integer(), nullable=False),
        sa.Column("min_gap_hours", sa.Integer(), nullable=False),
        sa.Column("quiet_start", sa.Time()),
        sa.Column("quiet_end", sa.Time()),
        sa.Column("respect_preferred", sa.Boolean(), nullable=False),
        sa.Column("exempt_priority", sa.Integer(), nullable=False),
        sa.Column("default_time_zone", sa.String(64), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fatigue_policy")),
    )
    op.create_table(
        "dispatch_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("touch_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_attempts")),
    )
    op.create_index(op.f("ix_dispatch_attempts_touch_id"), "dispatch_attempts", ["touch_id"])
    op.create_table(
        "delivery_receipts",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("touch_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("webhook_id", sa.String(200), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_receipts")),
        sa.ForeignKeyConstraint(["touch_id"], ["touches.id"], name=op.f("fk_delivery_receipts_touch_id_touches")),
    )
    op.create_index(op.f("ix_delivery_receipts_touch_id"), "delivery_receipts", ["touch_id"])


def downgrade() -> None:
    for table in ("delivery_receipts", "dispatch_attempts", "fatigue_policy", "channel_endpoints", "team_members", "tasks", "touches", "enrolments", "plans", "customer_profiles"):
        op.drop_table(table)
