"""What the Inbox page shows, computed: the simulator's sender and status line, the possible opt-outs as
cards (deadline, who, a newer text), every time in the shop's time zone with its zone (core.clock).

The page draws these; the rules themselves are in core/messaging/inbox.py and core/consent/."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlmodel import Session

from core import phones
from core.clock import shop_date, shop_time, utcnow
from core.consent import customers
from core.consent import evidence
from core.messaging import inbox
from core.messaging.messages import deadline_state
from core.messaging.texting import get_defaults
from core.models import Customer, PossibleOptOut, SmsStatus


def not_a_phone(typed: str, reason: str) -> str:
    """A sentence for a phone the simulator cannot text from (the typed message stays in its box)."""
    reason = (reason or "").strip().rstrip(".")
    why = "" if not reason or reason.lower() == "not a phone number" else f" ({reason})"
    return (
        f"That is not a phone number{why}: “{typed[:40]}”. Type a mobile number such as (415) 555-0199, "
        "or pick a customer."
    )


def customer_label(c: Customer, region: str) -> str:
    """A customer in the simulator's picker: name · phone · status."""
    return f"{c.name or '(no name)'} · {phones.format_display(c.phone, region)} · {SmsStatus(c.sms_status).badge}"


def delivered_sentence(replies: int) -> str:
    """What the simulator says after a text was delivered to the shop."""
    if not replies:
        return "Delivered. No automatic reply: the rules log it only."
    return f"Delivered. {replies} automatic repl{'y' if replies == 1 else 'ies'}."


@dataclass
class SenderStatus:
    """The status line above the simulated conversation: a known customer, or a new number (customer None)."""

    customer: Optional[Customer]
    sentence: str


def sender_status(session: Session, phone: str) -> Optional[SenderStatus]:
    """None when `phone` is empty or not a number; else the customer (fresh) and their status sentence."""
    defaults = get_defaults(session)
    try:
        e164 = phones.normalize(phone, defaults.default_region) if phone else ""
    except phones.InvalidPhone:
        return None
    if not e164:
        return None
    c = customers.get_by_phone(session, e164)
    if c is None:
        return SenderStatus(None, "Not a customer yet. Texting the Text To Join number, Y/YES or START makes them one.")
    session.refresh(c)
    events = customers.ledger(session, c.id)
    return SenderStatus(c, evidence.status_sentence(c, events[0] if events else None, defaults.timezone))


@dataclass
class ReviewCard:
    review: PossibleOptOut
    customer: Optional[Customer]
    due: str  # 'overdue', 'due_soon' or 'open'
    due_text: str  # "Overdue: was due 2 Dec 2026", "Due soon: 2 Dec 2026", "Decide by 2 Dec 2026"
    who: str  # "Ada Lovelace · (415) 867-5309 · received 30 Nov 2026, 11:00 AM PST"
    newer: str  # the customer's newer START/YES, in a sentence ('' when none)


def review_cards(session: Session, *, limit: int = 100, now: Optional[dt.datetime] = None) -> list[ReviewCard]:
    """The possible opt-outs waiting for the owner, newest first, as the page shows them."""
    defaults = get_defaults(session)
    tz, region = defaults.timezone, defaults.default_region
    today = shop_date(now or utcnow(), tz)
    cards = []
    for r in inbox.pending_reviews(session, limit=limit):
        c = session.get(Customer, r.customer_id)
        due = deadline_state(r.deadline, today)
        when = shop_time(r.deadline, tz)
        due_text = {"overdue": f"Overdue: was due {when}", "due_soon": f"Due soon: {when}"}.get(
            due.state, f"Decide by {when}"
        )
        who = (
            f"{c.name if c and c.name else '(no name)'} · {phones.format_display(r.phone, region)} · "
            f"received {shop_time(r.received_at, tz)}"
        )
        newer = inbox.newer_consent(session, r)
        newer_text = (
            ""
            if newer is None
            else (
                f"Newer text: after this message the customer texted "
                f"“{(newer.evidence or {}).get('inbound_text', 'START')}” ({shop_time(newer.occurred_at, tz)}) "
                f"and is {newer.new_status.label} now."
            )
        )
        cards.append(ReviewCard(r, c, due.state, due_text, who, newer_text))
    return cards
