"""read model, daily aggregates, CLV fits, at-risk signals, goals

Revision ID: analytics_0002
Revises: analytics_0001
Create Date: 2026-11-25 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "analytics_0002"
down_revision: str | Sequence[str] | None = "analytics_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 4)


def upgrade() -> None:
    op.create_table(
        "a_customers",
        sa.Column("customer_id", UUID, primary_key=True),
        sa.Column("kind", sa.String(20)),
        sa.Column("registered_at", TS),
        sa.Column("referred_by", UUID),
        sa.Column("display_name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("erased_at", TS),
        sa.Column("tier", sa.String(50)),
        sa.Column("tier_changed_at", TS),
        sa.Column("first_purchase_at", TS),
        sa.Column("last_purchase_at", TS),
        sa.Column("purchase_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("revenue", MONEY, nullable=False, server_default="0"),
    )
    op.create_index("ix_a_customers_first_purchase_at", "a_customers", ["first_purchase_at"])

    op.create_table(
        "a_purchases",
        sa.Column("purchase_id", UUID, primary_key=True),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("channel", sa.String(50)),
        sa.Column("prev_at", TS),
        sa.Column("prev2_at", TS),
    )
    op.create_index(
        "ix_a_purchases_occurred_at", "a_purchases", ["occurred_at"], postgresql_include=["customer_id", "currency", "amount", "prev_at", "prev2_at"]
    )
    op.create_index("ix_a_purchases_customer_occurred", "a_purchases", ["customer_id", "occurred_at"])

    op.create_table(
        "a_spells",
        sa.Column("customer_id", UUID, primary_key=True),
        sa.Column("start_at", TS, primary_key=True),
        sa.Column("end_at", TS, nullable=False),
    )
    op.create_index("ix_a_spells_start_at", "a_spells", ["start_at"], postgresql_include=["end_at"])

    op.create_table(
        "a_refunds",
        sa.Column("refund_id", UUID, primary_key=True),
        sa.Column("purchase_id", UUID, nullable=False),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
    )
    op.create_index("ix_a_refunds_customer_id", "a_refunds", ["customer_id"])
    op.create_index("ix_a_refunds_occurred_at", "a_refunds", ["occurred_at"])

    op.create_table(
        "a_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("orders", sa.Integer, nullable=False, server_default="0"),
        sa.Column("revenue", MONEY, nullable=False, server_default="0"),
        sa.Column("refunds", MONEY, nullable=False, server_default="0"),
    )

    op.create_table(
        "a_responses",
        sa.Column("response_id", UUID, primary_key=True),
        sa.Column("survey_id", UUID, nullable=False),
        sa.Column("survey_kind", sa.String(50), nullable=False),
        sa.Column("customer_id", UUID),
        sa.Column("nps", sa.Integer),
        sa.Column("csat", sa.Numeric(10, 4)),
        sa.Column("ces", sa.Numeric(10, 4)),
        sa.Column("csi", sa.Numeric(10, 4)),
        sa.Column("submitted_at", TS, nullable=False),
    )
    op.create_index("ix_a_responses_customer_id", "a_responses", ["customer_id"])
    op.create_index("ix_a_responses_submitted_at", "a_responses", ["submitted_at"])

    op.create_table(
        "a_invitations",
        sa.Column("invitation_id", UUID, primary_key=True),
        sa.Column("survey_id", UUID, nullable=False),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_a_invitations_created_at", "a_invitations", ["created_at"])

    op.create_table(
        "a_touches",
        sa.Column("touch_id", UUID, primary_key=True),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("plan_id", UUID),
        sa.Column("channel", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("cost", MONEY),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_a_touches_customer_id", "a_touches", ["customer_id"])
    op.create_index("ix_a_touches_plan_id", "a_touches", ["plan_id"])
    op.create_index("ix_a_touches_at", "a_touches", ["at"])

    op.create_table(
        "a_enrolments",
        sa.Column("enrolment_id", UUID, primary_key=True),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("plan_id", UUID, nullable=False),
        sa.Column("holdout", sa.Boolean, nullable=False),
        sa.Column("enrolled_at", TS, nullable=False),
    )
    op.create_index("ix_a_enrolments_plan_id", "a_enrolments", ["plan_id"])

    op.create_table(
        "a_referrals",
        sa.Column("referral_id", UUID, primary_key=True),
        sa.Column("advocate_id", UUID, nullable=False),
        sa.Column("referee_id", UUID, nullable=False),
        sa.Column("made_at", TS, nullable=False),
    )
    op.create_index("ix_a_referrals_advocate_id", "a_referrals", ["advocate_id"])
    op.create_index("ix_a_referrals_made_at", "a_referrals", ["made_at"])

    op.create_table(
        "a_redemptions",
        sa.Column("redemption_id", UUID, primary_key=True),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("points", sa.Numeric(18, 4), nullable=False),
        sa.Column("cost", MONEY),
        sa.Column("occurred_at", TS, nullable=False),
    )
    op.create_index("ix_a_redemptions_customer_id", "a_redemptions", ["customer_id"])
    op.create_index("ix_a_redemptions_occurred_at", "a_redemptions", ["occurred_at"])

    op.create_table(
        "a_clv_fits",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("horizon_months", sa.Integer, nullable=False),
        sa.Column("annual_discount_rate", sa.Numeric(8, 6), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("params", pg.JSONB),
        sa.Column("summary", pg.JSONB),
        sa.Column("error", sa.String(2000)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", TS),
    )

    op.create_table(
        "a_clv_customers",
        sa.Column("fit_id", UUID, primary_key=True),
        sa.Column("customer_id", UUID, primary_key=True),
        sa.Column("x", sa.Integer, nullable=False),
        sa.Column("t_x", sa.Float, nullable=False),
        sa.Column("t_obs", sa.Float, nullable=False),
        sa.Column("monetary", sa.Float, nullable=False),
        sa.Column("p_alive", sa.Float, nullable=False),
        sa.Column("expected_purchases", sa.Float, nullable=False),
        sa.Column("expected_spend", sa.Float, nullable=False),
        sa.Column("clv", sa.Float, nullable=False),
        sa.Column("loyalty_index", sa.Float, nullable=False),
    )

    op.create_table(
        "a_at_risk",
        sa.Column("customer_id", UUID, primary_key=True),
        sa.Column("reason", sa.String(50), primary_key=True),
        sa.Column("detected_at", TS, nullable=False),
    )

    op.create_table(
        "a_goals",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kpi", sa.String(50), nullable=False),
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("target", sa.Numeric(18, 4), nullable=False),
        sa.Column("segment", sa.String(50)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in (
        "a_goals",
        "a_at_risk",
        "a_clv_customers",
        "a_clv_fits",
        "a_redemptions",
        "a_referrals",
        "a_enrolments",
        "a_touches",
        "a_invitations",
        "a_responses",
        "a_daily",
        "a_refunds",
        "a_spells",
        "a_purchases",
        "a_customers",
    ):
        op.drop_table(table)
