"""The 2026 sending rules (issue 14, rulebook §9–§10).

- texting_defaults.extra_opt_out_words / extra_help_words: opt-out and help words in other languages the
  shop chose (the FCC words are never among them and never removed).
- texting_defaults.confirm_recorded_opt_outs: one confirmation text after an opt-out the owner records.
- channels phone_call, email, in_person, web_page, letter and the source stop_page: VARCHAR words, no DDL.

Revision ID: 0004_sending_rules_2026
Revises: 0003_live_texting
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from core.migrations import has_column

revision = "0004_sending_rules_2026"
down_revision = "0003_live_texting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_column("texting_defaults", "extra_opt_out_words"):
        op.add_column(
            "texting_defaults",
            sa.Column("extra_opt_out_words", sa.String(length=200), server_default=sa.text("''"), nullable=False),
        )
    if not has_column("texting_defaults", "extra_help_words"):
        op.add_column(
            "texting_defaults",
            sa.Column("extra_help_words", sa.String(length=200), server_default=sa.text("''"), nullable=False),
        )
    if not has_column("texting_defaults", "confirm_recorded_opt_outs"):
        op.add_column(
            "texting_defaults", sa.Column("confirm_recorded_opt_outs", sa.Boolean(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    for name in ("confirm_recorded_opt_outs", "extra_help_words", "extra_opt_out_words"):
        op.drop_column("texting_defaults", name)
