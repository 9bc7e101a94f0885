"""Consent records that hold up (issue 15, rulebook §11).

- customer.verified_birth_date / age_verified_at: the age gate's verified date of birth (index for audiences).
- consent_event.consented_at: an imported consent's original date (the reports' opt-ins by date use it).
- signup_form.age_refusals: the only trace of an under-age sign-up.
- suppression: a deleted customer's phone as a keyed hash, so nothing but their own action re-subscribes them.
- channel `number_deactivated`, message kinds age_question / age_refusal: plain VARCHAR words, no DDL.

Revision ID: 0005_consent_records
Revises: 0004_sending_rules_2026
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from core.migrations import has_column, has_table, index_names

revision = "0005_consent_records"
down_revision = "0004_sending_rules_2026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_column("customer", "verified_birth_date"):
        op.add_column("customer", sa.Column("verified_birth_date", sa.Date(), nullable=True))
    if not has_column("customer", "age_verified_at"):
        op.add_column("customer", sa.Column("age_verified_at", sa.DateTime(), nullable=True))
    if "ix_customer_verified_birth" not in index_names("customer"):
        op.create_index("ix_customer_verified_birth", "customer", ["verified_birth_date"], unique=False)
    if not has_column("consent_event", "consented_at"):
        op.add_column("consent_event", sa.Column("consented_at", sa.DateTime(), nullable=True))
    if "ix_consent_original" not in index_names("consent_event"):
        op.create_index(
            "ix_consent_original", "consent_event", ["consented_at", "occurred_at", "new_status"], unique=False
        )
    if not has_column("signup_form", "age_refusals"):
        op.add_column("signup_form", sa.Column("age_refusals", sa.Integer(), server_default="0", nullable=False))
    if not has_table("suppression"):
        op.create_table(
            "suppression",
            sa.Column("phone_hash", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("reason", sa.String(length=500), nullable=False),
            sa.Column("by", sa.String(length=100), nullable=False),
            sa.Column("customer_id", sa.Integer(), nullable=True),
            sa.Column("last_status", sa.String(length=20), nullable=False),
            sa.PrimaryKeyConstraint("phone_hash"),
        )
    if "ix_suppression_customer_id" not in index_names("suppression"):
        op.create_index("ix_suppression_customer_id", "suppression", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_suppression_customer_id", table_name="suppression")
    op.drop_table("suppression")
    op.drop_column("signup_form", "age_refusals")
    op.drop_index("ix_consent_original", table_name="consent_event")
    op.drop_column("consent_event", "consented_at")
    op.drop_index("ix_customer_verified_birth", table_name="customer")
    op.drop_column("customer", "age_verified_at")
    op.drop_column("customer", "verified_birth_date")
