"""Live texting through a provider (issue 13).

- channel `carrier` and message statuses sending/delivered/undelivered/failed: plain VARCHAR words, no DDL.
- customer.unreachable / unreachable_code: the carrier said the phone cannot get texts.
- message.provider_sid (unique), provider_status, error_code, attempts, claimed_by, claimed_until,
  next_attempt_at: the background sender's claim and the provider's word on each message.

Revision ID: 0003_live_texting
Revises: 0002_locks_and_limits
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from core.migrations import has_column, index_names

revision = "0003_live_texting"
down_revision = "0002_locks_and_limits"
branch_labels = None
depends_on = None

CUSTOMER = (("unreachable", sa.String(length=20)), ("unreachable_code", sa.Integer()))
MESSAGE = (
    ("provider_sid", sa.String(length=64)),
    ("provider_status", sa.String(length=20)),
    ("error_code", sa.Integer()),
    ("attempts", sa.Integer()),
    ("claimed_by", sa.String(length=64)),
    ("claimed_until", sa.DateTime()),
    ("next_attempt_at", sa.DateTime()),
)


def upgrade() -> None:
    for table, columns in (("customer", CUSTOMER), ("message", MESSAGE)):
        for name, type_ in columns:
            if not has_column(table, name):
                op.add_column(table, sa.Column(name, type_, nullable=True))
    if "ix_message_provider_sid" not in index_names("message"):
        op.create_index("ix_message_provider_sid", "message", ["provider_sid"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_message_provider_sid", table_name="message")
    for table, columns in (("customer", CUSTOMER), ("message", MESSAGE)):
        for name, _ in columns:
            op.drop_column(table, name)
