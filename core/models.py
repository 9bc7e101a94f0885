"""SQLModel tables: the one place the database's shape is written down.

Status, channel, kind and message-status words are exactly those of
shared/consent-rules.md; the enums below are the single source of them.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, Optional

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel


from core.words import (  # noqa: F401 (the tables' words, importable from core.models as before)
    utcnow,
    SmsStatus,
    STATUS_LABELS,
    Channel,
    CHANNEL_LABELS,
    OPT_OUT_CHANNELS,
    Source,
    SOURCE_LABELS,
    MessageKind,
    KIND_LABELS,
    Direction,
    MessageStatus,
    Decision,
)


def _enum(e: type[Enum]) -> SAEnum:
    """Stored as plain VARCHAR holding the rulebook's words; read back as the enum."""
    return SAEnum(e, native_enum=False, length=30, values_callable=lambda x: [m.value for m in x])


class Customer(SQLModel, table=True):
    __table_args__ = (
        Index("ix_customer_status_id", "sms_status", "id"),
        Index("ix_customer_created_id", "created_at", "id"),
        Index("ix_customer_source_id", "source", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    phone: str = Field(index=True, unique=True, max_length=20)  # E.164
    email: str = Field(default="", max_length=254, index=True)
    birthday: Optional[dt.date] = None
    zip: str = Field(default="", max_length=10)
    source: str = Field(default=Source.dashboard.value, max_length=20)
    # the POS source's name, the form's slug or the import file's name
    source_detail: str = Field(default="", max_length=200)
    sms_status: SmsStatus = Field(default=SmsStatus.not_opted_in, sa_type=_enum(SmsStatus))
    status_changed_at: Optional[dt.datetime] = Field(default=None, index=True, sa_type=DateTime())
    opt_in_requests: int = 0  # requests actually sent, ever (rulebook §4 limit)
    # requests waiting in the outbox for the sending window (they count against the limit too)
    queued_requests: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_request_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())  # when the last one went out
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    # the age gate (§11, core/consent/age.py): the date of birth the customer gave when the gate checked
    # it, and when; the owner cannot edit them (the birthday above is the owner's own field)
    verified_birth_date: Optional[dt.date] = None
    age_verified_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    # optimistic version check: every UPDATE of a customer row says which version it read
    # (WHERE version = :read); a stale write fails (StaleDataError) and db.run_write retries it
    version: int = Field(default=1, sa_column_kwargs={"nullable": False, "server_default": "1"})
    # live texting: the carrier said the phone cannot get texts ("unreachable", "unknown", "landline"),
    # with the provider's error code; such a phone gets no opt-in requests (core/messaging/webhooks.py)
    unreachable: Optional[str] = Field(default=None, max_length=20)
    unreachable_code: Optional[int] = None

    @declared_attr.directive
    def __mapper_args__(cls):  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ConsentEvent(SQLModel, table=True):
    """Append-only ledger of status changes, each with its evidence (§2)."""

    __tablename__ = "consent_event"
    __table_args__ = (
        Index("ix_consent_customer_time", "customer_id", "occurred_at"),
        Index("ix_consent_time_status", "occurred_at", "new_status"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    phone: str = Field(max_length=20)
    old_status: Optional[SmsStatus] = Field(default=None, sa_type=_enum(SmsStatus))
    new_status: SmsStatus = Field(sa_type=_enum(SmsStatus))
    occurred_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    channel: Channel = Field(sa_type=_enum(Channel))
    # evidence: {"inbound_text": ...} | {"form": ..., "disclosure_version": ..., "signature": ...}
    #           | {"file": ..., "row": ..., "attested": ...} | {"reason": ..., "by": ...}
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # makes imports and syncs idempotent: the same row never records twice
    dedupe_key: Optional[str] = Field(default=None, unique=True, max_length=200)
    # denormalised by customers.set_status: seconds the customer had been pending when this
    # event moved them out of pending (the reports' median time to confirm); else None
    pending_seconds: Optional[int] = None
    # denormalised by customers.set_status: where the customer came from ("signup_form",
    # "pos_sync:Dutchie", ...), so the reports count opt-ins by source without a join
    customer_source: Optional[str] = Field(default=None, max_length=120)
    # when the consent was originally given, if earlier than this record (an import's original consent date,
    # §11); the reports' opt-ins by date use it. occurred_at stays when Opt-In Desk recorded the event.
    consented_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())


class Message(SQLModel, table=True):
    """Every text, both directions (§4)."""

    __table_args__ = (
        Index("ix_message_phone_time", "phone", "created_at"),
        Index("ix_message_status_send_at", "status", "send_at"),
        Index("ix_message_kind_phone", "kind", "phone"),
        Index("ix_message_provider_sid", "provider_sid", unique=True),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: Optional[int] = Field(default=None, foreign_key="customer.id", index=True)
    phone: str = Field(max_length=20)
    shop_number: str = Field(default="", max_length=20)
    direction: Direction = Field(sa_type=_enum(Direction))
    body: str = Field(sa_column=Column(Text, nullable=False))
    kind: Optional[MessageKind] = Field(default=None, sa_type=_enum(MessageKind))
    status: MessageStatus = Field(sa_type=_enum(MessageStatus))
    reason: str = Field(default="", max_length=300)  # why blocked or queued
    encoding: str = Field(default="GSM-7", max_length=10)
    segments: int = 1
    created_at: dt.datetime = Field(default_factory=utcnow, index=True, sa_type=DateTime())
    send_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())  # when a queued message will go
    sent_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    bulk: bool = False  # started by the shop in bulk (sync, import, resend)
    dedupe_key: Optional[str] = Field(default=None, unique=True, max_length=200)
    # live texting (core/messaging/sender.py, webhooks.py): the provider's id (Twilio's MessageSid, both
    # directions: a retried webhook finds it), its own status word and error code, and the sender's claim
    provider_sid: Optional[str] = Field(default=None, max_length=64)  # unique: ix_message_provider_sid
    provider_status: Optional[str] = Field(default=None, max_length=20)
    error_code: Optional[int] = None
    attempts: Optional[int] = None  # provider calls so far (None: never tried)
    claimed_by: Optional[str] = Field(default=None, max_length=64)
    claimed_until: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())  # the claim's lease
    next_attempt_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())  # after a 429 / 5xx


class TextingDefaults(SQLModel, table=True):
    """The shop's texting settings; a single row with id 1 (§5)."""

    __tablename__ = "texting_defaults"

    id: Optional[int] = Field(default=1, primary_key=True)
    brand: str = Field(default="Green Leaf Goods", max_length=60)
    opt_in_request: str = Field(sa_column=Column(Text, nullable=False))
    opt_in_confirmation: str = Field(sa_column=Column(Text, nullable=False))
    opt_out_confirmation: str = Field(sa_column=Column(Text, nullable=False))
    resubscribe_confirmation: str = Field(sa_column=Column(Text, nullable=False))
    help_reply: str = Field(sa_column=Column(Text, nullable=False))
    help_contact: str = Field(default="", max_length=120)
    main_number: str = Field(default="", max_length=20)
    join_number: str = Field(default="", max_length=20)
    join_keyword: str = Field(default="JOIN", max_length=20)
    window_start: dt.time = Field(default=dt.time(8, 0))  # texts may go out from (quiet hours end)
    window_end: dt.time = Field(default=dt.time(20, 0))  # until (quiet hours start)
    timezone: str = Field(default="America/Los_Angeles", max_length=64)
    default_region: str = Field(default="US", max_length=2)
    max_opt_in_requests: int = 2
    base_url: str = Field(default="", max_length=300)  # public address of sign-up pages
    # §10: extra opt-out and help words in other languages, space-separated (keywords.EXTRA_CHOICES);
    # the FCC words are never among them and never removed
    extra_opt_out_words: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": text("''")})
    extra_help_words: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": text("''")})
    # §10: one confirmation text after an opt-out the owner records or confirms (within 5 minutes)
    confirm_recorded_opt_outs: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())


class PossibleOptOut(SQLModel, table=True):
    """A message that may revoke consent, waiting for the owner (§3, FCC 24-24)."""

    __tablename__ = "possible_opt_out"

    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    phone: str = Field(max_length=20)
    message_id: Optional[int] = Field(default=None, foreign_key="message.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: dt.datetime = Field(default_factory=utcnow, index=True, sa_type=DateTime())
    deadline: dt.date
    decision: Optional[Decision] = Field(default=None, sa_type=_enum(Decision), index=True)
    decided_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    reason: str = Field(default="", max_length=500)


class Setting(SQLModel, table=True):
    """Small key/value settings (owner password hash, first-start choice, ...)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", sa_column=Column(Text, nullable=False))


class SignInThrottle(SQLModel, table=True):
    """Wrong owner passwords per client, and one shop-wide row ("*") for the global ceiling.

    `client_key` is a keyed hash of the client's address (core/auth.py), never the address itself.
    """

    __tablename__ = "sign_in_throttle"

    client_key: str = Field(primary_key=True, max_length=64)
    failures: int = 0  # wrong passwords in a row (attempts are counted before the password is checked)
    locked_until: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    last_success_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    updated_at: dt.datetime = Field(default_factory=utcnow, index=True, sa_type=DateTime())


class Suppression(SQLModel, table=True):
    """A deleted customer's promise (§11): the phone as a keyed hash (core/consent/suppression.py), never the
    number, so no import, POS sync or form re-subscribes them. Only their own START/YES or sign-up lifts it
    (the row is then deleted; the new consent event says it was lifted)."""

    phone_hash: str = Field(primary_key=True, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    reason: str = Field(default="", max_length=500)
    by: str = Field(default="owner", max_length=100)
    # the deleted record's id (a number, not personal data): "already deleted" says when
    customer_id: Optional[int] = Field(default=None, index=True)
    # what the customer's SMS status was when their data was deleted (the opt-out list counts them)
    last_status: str = Field(default="", max_length=20)


# --- Sign-up forms (rulebook §6) -------------------------------------------------


class SignupForm(SQLModel, table=True):
    __tablename__ = "signup_form"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    slug: str = Field(unique=True, index=True, max_length=60)
    is_main: bool = False
    # {"first_name": "required" | "optional" | "hidden", ...}
    fields: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    collects_sms: bool = True
    double_opt_in: bool = True
    auto_opt_in: bool = False
    disclosure: str = Field(sa_column=Column(Text, nullable=False))
    disclosure_version: int = 1
    views: int = 0
    submissions: int = 0
    # sign-ups refused by the age gate: the only thing an under-age attempt leaves behind (§11)
    age_refusals: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())


class FormSubmission(SQLModel, table=True):
    __tablename__ = "form_submission"
    __table_args__ = (Index("ix_submission_form_time", "form_id", "submitted_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    form_id: int = Field(foreign_key="signup_form.id")
    customer_id: Optional[int] = Field(default=None, foreign_key="customer.id")
    disclosure_version: int = 1
    outcome: str = Field(max_length=30)
    submitted_at: dt.datetime = Field(default_factory=utcnow, index=True, sa_type=DateTime())
    # what the customer typed, cleaned (visible fields only): a record even without a phone
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SignupAttempt(SQLModel, table=True):
    """One accepted public sign-up, counted against the sign-up limits (core/signup_limits.py) for an hour.

    Keys are hashes (of the client address, of the phone), never the values; rows older than the
    window are deleted as new ones come in. No foreign key: deleting a form keeps its recent count."""

    __tablename__ = "signup_attempt"
    __table_args__ = (
        Index("ix_signup_attempt_client", "client_key", "at"),
        Index("ix_signup_attempt_phone", "phone_key", "at"),
        Index("ix_signup_attempt_form", "form_id", "at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True, sa_type=DateTime())
    form_id: int
    client_key: str = Field(max_length=32)
    phone_key: str = Field(default="", max_length=32)  # "" when the form took no phone


class FormView(SQLModel, table=True):
    """One row per day and form: views counted for the reports' chart."""

    __tablename__ = "form_view"
    __table_args__ = (UniqueConstraint("form_id", "day"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    form_id: int = Field(foreign_key="signup_form.id", index=True)
    day: dt.date
    views: int = 0


# --- POS sync and import (rulebook §7, §8) ----------------------------------------


class PosSource(SQLModel, table=True):
    __tablename__ = "pos_source"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    request_after: Optional[dt.date] = None  # the double opt-in date setting; None = off
    # every change of that date: [{"date": "YYYY-MM-DD" | None, "at": ISO time}] (the walkthrough reads it)
    request_after_log: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # bumped each time the date is turned on or moved back ("go back in time"): opt-in requests of a
    # sync are deduplicated per round, so a new round may ask a contact again (within the limits)
    request_round: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_sync_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    last_counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())


class PosContact(SQLModel, table=True):
    """Which customers a POS source has synced, and when they were first synced."""

    __tablename__ = "pos_contact"
    __table_args__ = (UniqueConstraint("source_id", "customer_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="pos_source.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    synced_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())


class ImportRun(SQLModel, table=True):
    __tablename__ = "import_run"

    id: Optional[int] = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=255)
    file_hash: str = Field(default="", max_length=64, index=True)
    origin: str = Field(default="csv_import", max_length=20)
    started_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    finished_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    by: str = Field(default="owner", max_length=100)
    attested: bool = False
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    errors_csv: str = Field(default="", sa_column=Column(Text, nullable=False))


# --- Audiences ----------------------------------------------------------------------


class SavedAudience(SQLModel, table=True):
    __tablename__ = "saved_audience"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    conditions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())


# --- Indexes for audiences and reports (core/audiences/query.py, core/reports/) ---------------
# Each lets one audience condition or one report figure read an index range instead of
# the whole table (figures in bench/audiences_bench.py).
from sqlalchemy import extract as _extract  # noqa: E402

_customer = Customer.__table__
Index("ix_customer_birthday_month", _extract("month", _customer.c.birthday))  # Birthday month is ...
Index("ix_customer_zip", _customer.c.zip)  # Zip code is / starts with
Index("ix_customer_source_detail", _customer.c.source, _customer.c.source_detail)  # Source: POS by name
Index(
    "ix_customer_status_changed", _customer.c.sms_status, _customer.c.status_changed_at, _customer.c.id
)  # Pending for more than N days; the Member Club list, longest waiting first
# An audience that combines an SMS status with other broad conditions (source, created, email...)
# is counted from this index alone: a slice of it per status, no table reads.
# the age gate's condition on every audience and export (core/consent/age.py)
Index("ix_customer_verified_birth", _customer.c.verified_birth_date)
Index(
    "ix_customer_audience",
    _customer.c.sms_status,
    _customer.c.source,
    _customer.c.created_at,
    _customer.c.email,
    _customer.c.source_detail,
    _customer.c.status_changed_at,
    _customer.c.zip,
    _customer.c.birthday,
)
_event = ConsentEvent.__table__
# The reports read events by the status they moved to (or from) and a date range, from these
# indexes alone (covering): status counts on a past day, confirmations and their waits,
# opt-ins/outs per day and by source, the funnel's requests.
Index(
    "ix_consent_new_time",
    _event.c.new_status,
    _event.c.occurred_at,
    _event.c.old_status,
    _event.c.customer_id,
    _event.c.pending_seconds,
    _event.c.customer_source,
)
Index("ix_consent_old_time", _event.c.old_status, _event.c.occurred_at)
# the few events with an original consent date (imports, §11): the opt-ins-by-date chart moves them to it
Index("ix_consent_original", _event.c.consented_at, _event.c.occurred_at, _event.c.new_status)
# the funnel follows each customer's later events without reading the table
Index(
    "ix_consent_customer_change", _event.c.customer_id, _event.c.occurred_at, _event.c.new_status, _event.c.old_status
)
_message = Message.__table__
Index("ix_message_kind_sent", _message.c.kind, _message.c.sent_at, _message.c.customer_id)  # requests sent


# --- Indexes for the Personas search (core/personas.py; figures in bench/personas_bench.py) --------
# Name and email "starts with", case-insensitive: SQLite reads a range of the lower() index,
# PostgreSQL a LIKE 'x%' on the text_pattern_ops one. A partial phone ("867-5309") is matched
# on its last 4 digits, then filtered: ~1 in 10,000 customers share them.
from sqlalchemy import func as _func  # noqa: E402
from sqlalchemy import literal_column as _literal_column  # noqa: E402

Index(
    "ix_customer_first_lower",
    _func.lower(_customer.c.first_name).label("first_lower"),
    postgresql_ops={"first_lower": "text_pattern_ops"},
)
Index(
    "ix_customer_last_lower",
    _func.lower(_customer.c.last_name).label("last_lower"),
    postgresql_ops={"last_lower": "text_pattern_ops"},
)
Index(
    "ix_customer_email_lower",
    _func.lower(_customer.c.email).label("email_lower"),
    postgresql_ops={"email_lower": "text_pattern_ops"},
)
Index(
    "ix_customer_phone_last4", _func.substr(_customer.c.phone, _func.length(_customer.c.phone) - _literal_column("3"))
)


# --- Staff accounts, roles and the activity trail (core/staff/, core/activity.py) -------------


class Person(SQLModel, table=True):
    """Someone who signs in to the dashboard: the owner, a manager, a budtender (core/staff/accounts.py).

    The built-in owner (`builtin`) is the shop's original owner: their password stays where it always
    was (core/auth.py, the Setting "owner_password"), so the console reset and the first-start setup
    keep working; everyone else's Argon2id hash is in `password_hash`. A disabled person cannot sign
    in; their rows in the ledger and the activity trail stay, under their name."""

    __tablename__ = "person"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    sign_in_name: str = Field(unique=True, index=True, max_length=60)  # stored lower-case
    role: str = Field(max_length=20)  # core.staff.roles.Role
    builtin: bool = False
    password_hash: str = Field(default="", max_length=255)
    disabled_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    last_seen_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())


class StaffSession(SQLModel, table=True):
    """One signed-in browser session. Ended by sign-out, inactivity, "sign out everywhere", a disabled
    account or a new password; only a hash of its token is stored."""

    __tablename__ = "staff_session"
    __table_args__ = (Index("ix_staff_session_person", "person_id", "ended_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    token_hash: str = Field(unique=True, max_length=64)
    started_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    last_seen_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    ended_at: Optional[dt.datetime] = Field(default=None, sa_type=DateTime())
    end_reason: str = Field(default="", max_length=40)


class Activity(SQLModel, table=True):
    """Who did what: one row per action a signed-in person took (core/activity.py). Append-only.

    `person_name` and `person_role` are as they were at the time (a renamed or disabled person's
    history keeps reading right); `person_id` is None for actions from outside the dashboard (console)."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_at", "at", "id"),
        Index("ix_activity_person_at", "person_id", "at", "id"),
        Index("ix_activity_kind_at", "kind", "at", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime())
    # no foreign key: a demo or training shop's trail names people of the real shop
    person_id: Optional[int] = None
    person_name: str = Field(max_length=100)
    person_role: str = Field(default="", max_length=20)
    kind: str = Field(max_length=20)  # core.activity.Kind
    summary: str = Field(sa_column=Column(Text, nullable=False))
    customer_id: Optional[int] = Field(default=None, index=True)  # no foreign key: a deleted customer's trail stays
