"""surveys, versions, sampling plans, invitations, responses

Revision ID: survey_0002
Revises: survey_0001
Create Date: 2026-11-25 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "survey_0002"
down_revision: str | Sequence[str] | None = "survey_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = postgresql.UUID(as_uuid=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("objective", sa.Text(), nullable=True),
        sa.Column("target", JSONB, nullable=False),
        sa.Column("trigger", JSONB, nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("invitation_ttl_days", sa.Integer(), nullable=False),
        sa.Column("reminder_after_days", sa.Integer(), nullable=True),
        sa.Column("max_reminders", sa.Integer(), nullable=False),
        sa.Column("fatigue_days", sa.Integer(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
    )
    op.create_table(
        "survey_versions",
        sa.Column("id", UUID, nullable=False),
        sa.Column("survey_id", UUID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("title", JSONB, nullable=False),
        sa.Column("questions", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_survey_versions_survey_id_surveys"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_versions")),
        sa.UniqueConstraint("survey_id", "number", name="uq_survey_versions_survey_number"),
    )
    op.create_table(
        "sampling_plans",
        sa.Column("id", UUID, nullable=False),
        sa.Column("survey_id", UUID, nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("confidence", sa.Numeric(6, 4), nullable=False),
        sa.Column("margin_of_error", sa.Numeric(6, 4), nullable=False),
        sa.Column("expected_response_rate", sa.Numeric(6, 4), nullable=False),
        sa.Column("population_size", sa.Integer(), nullable=False),
        sa.Column("required_responses", sa.Integer(), nullable=False),
        sa.Column("invitations_needed", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("allocation", JSONB, nullable=False),
        sa.Column("selected", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_sampling_plans_survey_id_surveys"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sampling_plans")),
    )
    op.create_index(op.f("ix_sampling_plans_survey_id"), "sampling_plans", ["survey_id"])
    op.create_table(
        "invitations",
        sa.Column("id", UUID, nullable=False),
        sa.Column("survey_id", UUID, nullable=False),
        sa.Column("version_id", UUID, nullable=False),
        sa.Column("customer_id", UUID, nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("segment", sa.String(100), nullable=True),
        sa.Column("trigger", sa.String(100), nullable=True),
        sa.Column("source_event", sa.String(100), nullable=True),
        sa.Column("sampling_plan_id", UUID, nullable=True),
        sa.Column("send_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_contact_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("responded_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_invitations_survey_id_surveys"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["survey_versions.id"], name=op.f("fk_invitations_version_id_survey_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
        sa.UniqueConstraint("survey_id", "source_event", name="uq_invitations_survey_source_event"),
    )
    op.create_index("ix_invitations_customer_created", "invitations", ["customer_id", "created_at"])
    op.create_index("ix_invitations_survey_status", "invitations", ["survey_id", "status"])
    op.create_table(
        "responses",
        sa.Column("id", UUID, nullable=False),
        sa.Column("survey_id", UUID, nullable=False),
        sa.Column("version_id", UUID, nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("invitation_id", UUID, nullable=True),
        sa.Column("customer_id", UUID, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("segment", sa.String(100), nullable=True),
        sa.Column("answers", JSONB, nullable=False),
        sa.Column("demographics", JSONB, nullable=False),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("csat", sa.Numeric(6, 3), nullable=True),
        sa.Column("ces", sa.Numeric(6, 3), nullable=True),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("submitted_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_responses_survey_id_surveys"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["survey_versions.id"], name=op.f("fk_responses_version_id_survey_versions")),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitations.id"], name=op.f("fk_responses_invitation_id_invitations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_responses_invitation_id")),
    )
    op.create_index(op.f("ix_responses_customer_id"), "responses", ["customer_id"])
    op.create_index("ix_responses_survey_status_submitted", "responses", ["survey_id", "status", "submitted_at"])
    op.create_table(
        "response_values",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("response_id", UUID, nullable=False),
        sa.Column("survey_id", UUID, nullable=False),
        sa.Column("question_id", sa.String(100), nullable=False),
        sa.Column("part", sa.String(20), nullable=False),
        sa.Column("num", sa.Numeric(18, 6), nullable=True),
        sa.Column("choice", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"], name=op.f("fk_response_values_response_id_responses"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_values")),
    )
    op.create_index(op.f("ix_response_values_response_id"), "response_values", ["response_id"])
    op.create_index("ix_response_values_survey_question", "response_values", ["survey_id", "question_id"])
    op.create_table(
        "fatigue_marks",
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("last_invited_at", TS, nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_fatigue_marks")),
    )


def downgrade() -> None:
    for table in ("fatigue_marks", "response_values", "responses", "invitations", "sampling_plans", "survey_versions", "surveys"):
        op.drop_table(table)
