"""Opt-outs never lost, sign-in throttle, sign-up limits.

- customer.version: the optimistic version check on every customer write.
- customer.queued_requests: requests waiting for the sending window; opt_in_requests now counts only
  requests sent, so queued ones move out of it (the data fix below).
- sign_in_throttle: wrong owner passwords per client (core/auth.py).
- signup_attempt: accepted public sign-ups counted against the limits (core/signups/signup_limits.py).
- the index ix_consent_transition an earlier version made (it misled the query planner) is dropped.

Every step checks first: a database the old start-up (upgrade_schema) half-upgraded finishes cleanly.

Revision ID: 0002_locks_and_limits
Revises: 0001_baseline
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from core.migrations import has_column, has_table, index_names

revision = "0002_locks_and_limits"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def _split_queued_requests() -> None:
    """opt_in_requests counted queued requests too; now it counts requests sent, and the queued ones move
    to queued_requests (counted again when they are released)."""
    op.execute(
        "UPDATE customer SET queued_requests = q.n, opt_in_requests = opt_in_requests - q.n "
        "FROM (SELECT customer_id, count(*) AS n FROM message WHERE kind = 'opt_in_request' "
        "AND status = 'queued' AND customer_id IS NOT NULL GROUP BY customer_id) AS q "
        "WHERE customer.id = q.customer_id"
    )


def _not_null(table: str, column: str, value: int) -> None:
    """A column the old upgrade_schema added nullable: fill it and, where the database can alter a
    column in place (PostgreSQL), make it NOT NULL. SQLite keeps it nullable (the app always sets it)."""
    op.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE {column} IS NULL").bindparams(v=value))
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(table, column, existing_type=sa.Integer(), nullable=False)


def upgrade() -> None:
    if has_column("customer", "queued_requests"):
        _not_null("customer", "queued_requests", 0)
    else:
        op.add_column("customer", sa.Column("queued_requests", sa.Integer(), server_default="0", nullable=False))
        _split_queued_requests()
    if has_column("customer", "version"):
        _not_null("customer", "version", 1)
    else:
        op.add_column("customer", sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    if not has_table("sign_in_throttle"):
        op.create_table(
            "sign_in_throttle",
            sa.Column("client_key", sa.String(length=64), nullable=False),
            sa.Column("failures", sa.Integer(), nullable=False),
            sa.Column("locked_until", sa.DateTime(), nullable=True),
            sa.Column("last_success_at", sa.DateTime(), nullable=True),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("client_key"),
        )
    if "ix_sign_in_throttle_updated_at" not in index_names("sign_in_throttle"):
        op.create_index("ix_sign_in_throttle_updated_at", "sign_in_throttle", ["updated_at"], unique=False)

    if not has_table("signup_attempt"):
        op.create_table(
            "signup_attempt",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("form_id", sa.Integer(), nullable=False),
            sa.Column("client_key", sa.String(length=32), nullable=False),
            sa.Column("phone_key", sa.String(length=32), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    have = index_names("signup_attempt")
    for name, columns in (
        ("ix_signup_attempt_at", ["at"]),
        ("ix_signup_attempt_client", ["client_key", "at"]),
        ("ix_signup_attempt_phone", ["phone_key", "at"]),
        ("ix_signup_attempt_form", ["form_id", "at"]),
    ):
        if name not in have:
            op.create_index(name, "signup_attempt", columns, unique=False)

    if "ix_consent_transition" in index_names("consent_event"):
        op.drop_index("ix_consent_transition", table_name="consent_event")


def downgrade() -> None:
    op.drop_table("signup_attempt")
    op.drop_table("sign_in_throttle")
    op.execute("UPDATE customer SET opt_in_requests = opt_in_requests + queued_requests")
    op.drop_column("customer", "version")
    op.drop_column("customer", "queued_requests")
