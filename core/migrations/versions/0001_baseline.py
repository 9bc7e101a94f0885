"""Baseline: the schema of release 3ad8db0, the last one whose tables were made by create_all alone.

Frozen: this is what that release created, whatever core/models.py says today. A database made by
that release (no alembic_version table) is stamped here by core.migrations.upgrade.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

# The Personas search and the audiences read these expression indexes (see core/models.py); their SQL
# differs per database, so they are written out as each one's create_all made them.
EXPRESSION_INDEXES = {
    "sqlite": {
        "ix_customer_birthday_month": "CAST(STRFTIME('%m', birthday) AS INTEGER)",
        "ix_customer_first_lower": "lower(first_name)",
        "ix_customer_last_lower": "lower(last_name)",
        "ix_customer_email_lower": "lower(email)",
        "ix_customer_phone_last4": "substr(phone, length(phone) - 3)",
    },
    "postgresql": {
        "ix_customer_birthday_month": "EXTRACT(month FROM birthday)",
        "ix_customer_first_lower": "lower(first_name) text_pattern_ops",
        "ix_customer_last_lower": "lower(last_name) text_pattern_ops",
        "ix_customer_email_lower": "lower(email) text_pattern_ops",
        "ix_customer_phone_last4": "substr(phone, length(phone) - 3)",
    },
}


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("zip", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_detail", sa.String(length=200), nullable=False),
        sa.Column(
            "sms_status",
            sa.Enum("not_opted_in", "pending", "opted_in", "opted_out", name="smsstatus", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("status_changed_at", sa.DateTime(), nullable=True),
        sa.Column("opt_in_requests", sa.Integer(), nullable=False),
        sa.Column("last_request_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_customer_audience",
        "customer",
        ["sms_status", "source", "created_at", "email", "source_detail", "status_changed_at", "zip", "birthday"],
        unique=False,
    )
    op.create_index("ix_customer_created_id", "customer", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_customer_email"), "customer", ["email"], unique=False)
    op.create_index(op.f("ix_customer_phone"), "customer", ["phone"], unique=True)
    op.create_index("ix_customer_source_detail", "customer", ["source", "source_detail"], unique=False)
    op.create_index("ix_customer_source_id", "customer", ["source", "id"], unique=False)
    op.create_index("ix_customer_status_changed", "customer", ["sms_status", "status_changed_at", "id"], unique=False)
    op.create_index(op.f("ix_customer_status_changed_at"), "customer", ["status_changed_at"], unique=False)
    op.create_index("ix_customer_status_id", "customer", ["sms_status", "id"], unique=False)
    op.create_index("ix_customer_zip", "customer", ["zip"], unique=False)
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("attested", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("errors_csv", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_import_run_file_hash"), "import_run", ["file_hash"], unique=False)
    op.create_table(
        "pos_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("request_after", sa.Date(), nullable=True),
        sa.Column("request_after_log", sa.JSON(), nullable=False),
        sa.Column("request_round", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_sync_at", sa.DateTime(), nullable=True),
        sa.Column("last_counts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "saved_audience",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "signup_form",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("is_main", sa.Boolean(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("collects_sms", sa.Boolean(), nullable=False),
        sa.Column("double_opt_in", sa.Boolean(), nullable=False),
        sa.Column("auto_opt_in", sa.Boolean(), nullable=False),
        sa.Column("disclosure", sa.Text(), nullable=False),
        sa.Column("disclosure_version", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_signup_form_slug"), "signup_form", ["slug"], unique=True)
    op.create_table(
        "texting_defaults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(length=60), nullable=False),
        sa.Column("opt_in_request", sa.Text(), nullable=False),
        sa.Column("opt_in_confirmation", sa.Text(), nullable=False),
        sa.Column("opt_out_confirmation", sa.Text(), nullable=False),
        sa.Column("resubscribe_confirmation", sa.Text(), nullable=False),
        sa.Column("help_reply", sa.Text(), nullable=False),
        sa.Column("help_contact", sa.String(length=120), nullable=False),
        sa.Column("main_number", sa.String(length=20), nullable=False),
        sa.Column("join_number", sa.String(length=20), nullable=False),
        sa.Column("join_keyword", sa.String(length=20), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=False),
        sa.Column("window_end", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("default_region", sa.String(length=2), nullable=False),
        sa.Column("max_opt_in_requests", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "consent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column(
            "old_status",
            sa.Enum("not_opted_in", "pending", "opted_in", "opted_out", name="smsstatus", native_enum=False, length=30),
            nullable=True,
        ),
        sa.Column(
            "new_status",
            sa.Enum("not_opted_in", "pending", "opted_in", "opted_out", name="smsstatus", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "sms_reply",
                "signup_form",
                "text_to_join",
                "csv_import",
                "pos_sync",
                "dashboard",
                name="channel",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("pending_seconds", sa.Integer(), nullable=True),
        sa.Column("customer_source", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index(
        "ix_consent_customer_change",
        "consent_event",
        ["customer_id", "occurred_at", "new_status", "old_status"],
        unique=False,
    )
    op.create_index("ix_consent_customer_time", "consent_event", ["customer_id", "occurred_at"], unique=False)
    op.create_index(
        "ix_consent_new_time",
        "consent_event",
        ["new_status", "occurred_at", "old_status", "customer_id", "pending_seconds", "customer_source"],
        unique=False,
    )
    op.create_index("ix_consent_old_time", "consent_event", ["old_status", "occurred_at"], unique=False)
    op.create_index("ix_consent_time_status", "consent_event", ["occurred_at", "new_status"], unique=False)
    op.create_table(
        "form_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("disclosure_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["signup_form.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_form_submission_submitted_at"), "form_submission", ["submitted_at"], unique=False)
    op.create_index("ix_submission_form_time", "form_submission", ["form_id", "submitted_at"], unique=False)
    op.create_table(
        "form_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["signup_form.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("form_id", "day"),
    )
    op.create_index(op.f("ix_form_view_form_id"), "form_view", ["form_id"], unique=False)
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("shop_number", sa.String(length=20), nullable=False),
        sa.Column(
            "direction", sa.Enum("inbound", "outbound", name="direction", native_enum=False, length=30), nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "opt_in_request",
                "opt_in_confirmation",
                "opt_out_confirmation",
                "resubscribe_confirmation",
                "help_reply",
                name="messagekind",
                native_enum=False,
                length=30,
            ),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum("received", "sent", "queued", "blocked", name="messagestatus", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("encoding", sa.String(length=10), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("send_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("bulk", sa.Boolean(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index(op.f("ix_message_created_at"), "message", ["created_at"], unique=False)
    op.create_index(op.f("ix_message_customer_id"), "message", ["customer_id"], unique=False)
    op.create_index("ix_message_kind_phone", "message", ["kind", "phone"], unique=False)
    op.create_index("ix_message_kind_sent", "message", ["kind", "sent_at", "customer_id"], unique=False)
    op.create_index("ix_message_phone_time", "message", ["phone", "created_at"], unique=False)
    op.create_index("ix_message_status_send_at", "message", ["status", "send_at"], unique=False)
    op.create_table(
        "pos_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["pos_source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "customer_id"),
    )
    op.create_index(op.f("ix_pos_contact_customer_id"), "pos_contact", ["customer_id"], unique=False)
    op.create_index(op.f("ix_pos_contact_source_id"), "pos_contact", ["source_id"], unique=False)
    op.create_table(
        "possible_opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column(
            "decision", sa.Enum("confirmed", "dismissed", name="decision", native_enum=False, length=30), nullable=True
        ),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_possible_opt_out_customer_id"), "possible_opt_out", ["customer_id"], unique=False)
    op.create_index(op.f("ix_possible_opt_out_decision"), "possible_opt_out", ["decision"], unique=False)
    op.create_index(op.f("ix_possible_opt_out_received_at"), "possible_opt_out", ["received_at"], unique=False)

    for name, expression in EXPRESSION_INDEXES[op.get_bind().dialect.name].items():
        op.execute(f"CREATE INDEX {name} ON customer ({expression})")


def downgrade() -> None:
    raise NotImplementedError("the baseline is where history starts")
