"""loyalty core: programs, tiers, members, points ledger and lots, purchases, rewards, coupons, referral bonuses

Revision ID: loyalty_0002
Revises: loyalty_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "loyalty_0002"
down_revision: str | Sequence[str] | None = "loyalty_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('coupon_batches',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('reward_id', sa.UUID(), nullable=True),
    sa.Column('points', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('requested', sa.Integer(), nullable=False),
    sa.Column('generated', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_batches'))
    )
    op.create_table('coupon_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_events'))
    )
    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('points', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('pending_delta', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('balance_after', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('pending_after', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('rule', sa.String(length=50), nullable=True),
    sa.Column('purchase_id', sa.UUID(), nullable=True),
    sa.Column('redemption_id', sa.UUID(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    op.create_table('point_lots',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('purchase_id', sa.UUID(), nullable=True),
    sa.Column('rule', sa.String(length=50), nullable=False),
    sa.Column('points', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('remaining', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('matures_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_lots'))
    )
    op.create_table('programs',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('points_name', sa.String(length=100), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('earn_rate', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('rounding', sa.String(length=20), nullable=False),
    sa.Column('point_value', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('pending_days', sa.Integer(), nullable=False),
    sa.Column('expiry_mode', sa.String(length=20), nullable=False),
    sa.Column('expiry_months', sa.Integer(), nullable=True),
    sa.Column('qualification_basis', sa.String(length=20), nullable=False),
    sa.Column('qualification_period', sa.String(length=20), nullable=False),
    sa.Column('downgrade_grace_days', sa.Integer(), nullable=False),
    sa.Column('negative_balance', sa.String(length=20), nullable=False),
    sa.Column('rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programs'))
    )
    op.create_table('purchases',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('refunded_amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=True),
    sa.Column('store', sa.String(length=100), nullable=True),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('points', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('qualifying', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('first_purchase', sa.Boolean(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases')),
    sa.UniqueConstraint('order_id', name=op.f('uq_purchases_order_id'))
    )
    op.create_table('qualifying_credits',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('purchase_id', sa.UUID(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('credited_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualifying_credits'))
    )
    op.create_table('referral_bonuses',
    sa.Column('referral_id', sa.UUID(), nullable=False),
    sa.Column('advocate_id', sa.UUID(), nullable=False),
    sa.Column('referee_id', sa.UUID(), nullable=False),
    sa.Column('points', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('purchase_id', sa.UUID(), nullable=True),
    sa.Column('release_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_referral_bonuses'))
    )
    op.create_table('members',
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('program_id', sa.UUID(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('tier', sa.String(length=100), nullable=True),
    sa.Column('tier_rank', sa.Integer(), nullable=True),
    sa.Column('tier_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tier_review_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('available', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('pending', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('purchases', sa.Integer(), nullable=False),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased', sa.Boolean(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_members_program_id_programs')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_members'))
    )
    op.create_table('refunds',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('purchase_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('points_reversed', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('qualifying_reversed', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_refunds_purchase_id_purchases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    op.create_table('rewards',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('program_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('cost_points', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('cost', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('min_tier_rank', sa.Integer(), nullable=True),
    sa.Column('coupon_source', sa.String(length=20), nullable=False),
    sa.Column('coupon_valid_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_rewards_program_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rewards'))
    )
    op.create_table('tiers',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('program_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('earn_multiplier', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_tiers_program_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tiers')),
    sa.UniqueConstraint('program_id', 'name', name='uq_tiers_program_name'),
    sa.UniqueConstraint('program_id', 'rank', name='uq_tiers_program_rank')
    )
    op.create_table('coupons',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('reward_id', sa.UUID(), nullable=True),
    sa.Column('batch_id', sa.UUID(), nullable=True),
    sa.Column('points', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('redemption_id', sa.UUID(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redeemed_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_coupons_reward_id_rewards')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_coupons'))
    )
    op.create_table('redemptions',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('reward_id', sa.UUID(), nullable=False),
    sa.Column('points', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('cost', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('coupon_code', sa.String(length=40), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_redemptions_reward_id_rewards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions'))
    )
    op.create_index(op.f('ix_coupon_events_code'), 'coupon_events', ['code'], unique=False)
    op.create_index('ix_ledger_entries_customer', 'ledger_entries', ['customer_id', 'id'], unique=False)
    op.create_index('ix_point_lots_customer_open', 'point_lots', ['customer_id', 'state', 'expires_at', 'id'], unique=False, postgresql_where='remaining > 0')
    op.create_index('ix_point_lots_purchase', 'point_lots', ['purchase_id'], unique=False)
    op.create_index('ix_point_lots_matures', 'point_lots', ['matures_at'], unique=False, postgresql_where="state = 'pending'")
    op.create_index(op.f('ix_purchases_customer_id'), 'purchases', ['customer_id'], unique=False)
    op.create_index('ix_qualifying_customer_at', 'qualifying_credits', ['customer_id', 'credited_at'], unique=False)
    op.create_index(op.f('ix_referral_bonuses_referee_id'), 'referral_bonuses', ['referee_id'], unique=False)
    op.create_index(op.f('ix_referral_bonuses_advocate_id'), 'referral_bonuses', ['advocate_id'], unique=False)
    op.create_index(op.f('ix_refunds_purchase_id'), 'refunds', ['purchase_id'], unique=False)
    op.create_index('ix_coupons_pool', 'coupons', ['reward_id', 'state'], unique=False)
    op.create_index('ix_redemptions_at', 'redemptions', ['occurred_at'], unique=False)
    op.create_index('ix_redemptions_customer_reward', 'redemptions', ['customer_id', 'reward_id'], unique=False)


def downgrade() -> None:
    op.drop_table("redemptions")
    op.drop_table("coupons")
    op.drop_table("tiers")
    op.drop_table("rewards")
    op.drop_table("refunds")
    op.drop_table("members")
    op.drop_table("referral_bonuses")
    op.drop_table("qualifying_credits")
    op.drop_table("purchases")
    op.drop_table("programs")
    op.drop_table("point_lots")
    op.drop_table("ledger_entries")
    op.drop_table("coupon_events")
    op.drop_table("coupon_batches")
