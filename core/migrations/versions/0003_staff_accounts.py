"""Staff accounts and roles, sessions, the activity trail (issue 17).

- person: who signs in (the built-in owner keeps the password core/auth.py stores in setting).
- staff_session: one row per signed-in browser session (a hash of its token), ended by sign-out,
  inactivity, "sign out everywhere", a disabled account or a reset password.
- activity: who did what (core/activity.py).

The built-in owner's row is made by core.bootstrap at start (accounts.ensure_owner), not here.

Revision ID: 0003_staff_accounts
Revises: 0002_locks_and_limits
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_staff_accounts"
down_revision = "0002_locks_and_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sign_in_name", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_person_sign_in_name", "person", ["sign_in_name"], unique=True)
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_staff_session_person", "staff_session", ["person_id", "ended_at"], unique=False)
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("person_name", sa.String(length=100), nullable=False),
        sa.Column("person_role", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_activity_at", "activity", ["at", "id"], unique=False)
    op.create_index("ix_activity_person_at", "activity", ["person_id", "at", "id"], unique=False)
    op.create_index("ix_activity_kind_at", "activity", ["kind", "at", "id"], unique=False)
    op.create_index("ix_activity_customer_id", "activity", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_table("activity")
    op.drop_table("staff_session")
    op.drop_table("person")
