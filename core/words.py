"""The rulebook's words: statuses, channels, sources, message kinds and their labels (shared/consent-rules.md).

The single source of these words: the enum values are the column values and the labels' source.
core.models uses them for its columns and makes them importable from there too.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo (how every timestamp is stored)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class SmsStatus(str, Enum):
    not_opted_in = "not_opted_in"
    pending = "pending"
    opted_in = "opted_in"
    opted_out = "opted_out"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def icon(self) -> str:
        return "✓" if self is SmsStatus.opted_in else "✕"

    @property
    def badge(self) -> str:
        """Rulebook §1: green ✓ when opted in, red ✕ with the reason word otherwise."""
        if self is SmsStatus.opted_in:
            return "✓ opted in"
        return f"✕ {self.label}"


STATUS_LABELS = {
    SmsStatus.not_opted_in: "not opted in",
    SmsStatus.pending: "pending",
    SmsStatus.opted_in: "opted in",
    SmsStatus.opted_out: "opted out",
}


class Channel(str, Enum):
    """How a consent event came about (rulebook §2; §10 adds the ways a customer may revoke consent by
    any reasonable means: the owner records a phone call, an email, a visit, a letter; the public
    "Stop texting me" page is web_page)."""

    sms_reply = "sms_reply"
    signup_form = "signup_form"
    text_to_join = "text_to_join"
    csv_import = "csv_import"
    pos_sync = "pos_sync"
    dashboard = "dashboard"
    carrier = "carrier"  # the provider or carrier reported the opt-out (Twilio error 21610)
    phone_call = "phone_call"
    email = "email"
    in_person = "in_person"
    web_page = "web_page"
    letter = "letter"
    # a carrier's deactivation file voided consent given before the number changed hands (§11)
    number_deactivated = "number_deactivated"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    Channel.sms_reply: "Text from the customer",
    Channel.signup_form: "Sign-up form",
    Channel.text_to_join: "Text To Join",
    Channel.csv_import: "CSV import",
    Channel.pos_sync: "POS sync",
    Channel.dashboard: "Dashboard (the shop)",
    Channel.carrier: "Carrier (reported by Twilio)",
    Channel.phone_call: "Phone call",
    Channel.email: "Email",
    Channel.in_person: "In person",
    Channel.web_page: "Web page",
    Channel.letter: "Letter",
    Channel.number_deactivated: "Number deactivated",
}
#: How an owner may record an opt-out received outside a text (§10), in the order the form offers them.
OPT_OUT_CHANNELS = (Channel.phone_call, Channel.in_person, Channel.email, Channel.letter, Channel.web_page)


class Source(str, Enum):
    """Where a customer record came from."""

    signup_form = "signup_form"
    text_to_join = "text_to_join"
    csv_import = "csv_import"
    pos_sync = "pos_sync"
    dashboard = "dashboard"
    inbound_sms = "inbound_sms"
    stop_page = "stop_page"

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    Source.signup_form: "Sign-up form",
    Source.text_to_join: "Text To Join",
    Source.csv_import: "CSV import",
    Source.pos_sync: "POS sync",
    Source.dashboard: "Dashboard",
    Source.inbound_sms: "Texted the shop",
    Source.stop_page: "Stop texting me page",
}


class MessageKind(str, Enum):
    """The only kinds of outbound message the product sends (rulebook §4)."""

    opt_in_request = "opt_in_request"
    opt_in_confirmation = "opt_in_confirmation"
    opt_out_confirmation = "opt_out_confirmation"
    resubscribe_confirmation = "resubscribe_confirmation"
    help_reply = "help_reply"
    # the age gate's replies to a Text To Join (§11): the birth-date question and the calm refusal
    age_question = "age_question"
    age_refusal = "age_refusal"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @property
    def templated(self) -> bool:
        """An owner-edited template of Texting Defaults (the age gate's replies are fixed wording)."""
        return self not in (MessageKind.age_question, MessageKind.age_refusal)


KIND_LABELS = {
    MessageKind.opt_in_request: "Opt-in request",
    MessageKind.opt_in_confirmation: "Post opt-in confirmation",
    MessageKind.opt_out_confirmation: "Opt-out confirmation",
    MessageKind.resubscribe_confirmation: "Resubscribe confirmation",
    MessageKind.help_reply: "Help reply",
    MessageKind.age_question: "Date of birth question",
    MessageKind.age_refusal: "Under-age reply",
}


class Direction(str, Enum):
    inbound = "inbound"
    outbound = "outbound"


class MessageStatus(str, Enum):
    received = "received"  # inbound
    sent = "sent"
    queued = "queued"
    blocked = "blocked"
    # live texting (core/messaging/sender.py): handed to the background sender, then the provider's word
    sending = "sending"
    delivered = "delivered"
    undelivered = "undelivered"
    failed = "failed"


class Decision(str, Enum):
    confirmed = "confirmed"
    dismissed = "dismissed"
