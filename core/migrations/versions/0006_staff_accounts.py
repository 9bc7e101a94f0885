"""Staff accounts and roles, sessions, the activity trail (issue 17).

- person: who signs in (the built-in owner keeps the password core/auth.py stores in setting).
- staff_session: one row per signed-in browser session (a hash of its token), ended by sign-out,
  inactivity, "sign out everywhere", a disabled account or a reset password.
- activity: who did what (core/activity.py).

The built-in owner's row is made by core.bootstrap at start (accounts.ensure_owner), not here.
Every step checks first, like 0002's (a database made by create_all already has the tables).

Revision ID: 0006_staff_accounts
Revises: 0005_consent_records
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from core.migrations import has_table, index_names

revision = "0006_staff_accounts"
down_revision = "0005_consent_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("person"):
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
    if "ix_person_sign_in_name" not in index_names("person"):
        op.create_index("ix_person_sign_in_name", "person", ["sign_in_name"], unique=True)
    if not has_table("staff_session"):
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
    if "ix_staff_session_person" not in index_names("staff_session"):
        op.create_index("ix_staff_session_person", "staff_session", ["person_id", "ended_at"], unique=False)
    if not has_table("activity"):
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
    have = index_names("activity")
    for name, columns in (
        ("ix_activity_at", ["at", "id"]),
        ("ix_activity_person_at", ["person_id", "at", "id"]),
        ("ix_activity_kind_at", ["kind", "at", "id"]),
        ("ix_activity_customer_id", ["customer_id"]),
    ):
        if name not in have:
            op.create_index(name, "activity", columns, unique=False)


def downgrade() -> None:
    op.drop_table("activity")
    op.drop_table("staff_session")
    op.drop_table("person")
