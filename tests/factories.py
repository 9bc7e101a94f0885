"""Small builders for tests: customers in a given status, with the evidence the rules need."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlmodel import Session

from core.consent import customers
from core.models import Channel, Customer, SmsStatus, Source

_seq = itertools.count(1)


def phone(n: int | None = None) -> str:
    """A valid San Francisco number, +1 415 555 01xx / 02xx ..., distinct per call."""
    n = next(_seq) if n is None else n
    return f"+1415{200 + (n // 10000) % 700:03d}{n % 10000:04d}"


def make_customer(
    session: Session,
    *,
    status: SmsStatus = SmsStatus.not_opted_in,
    phone_number: str | None = None,
    first_name: str = "Ada",
    last_name: str = "Lovelace",
    email: str = "",
    source: Source = Source.dashboard,
    now: dt.datetime | None = None,
    commit: bool = True,
    **details,
) -> Customer:
    """A customer in `status`, reached the way the rules allow (with a consent event as evidence)."""
    now = now or dt.datetime(2026, 11, 1, 18, 0)
    c = customers.create(session, phone=phone_number or phone(), source=source, now=now, email=email, **details)
    # names stored as given, unchecked: tests also need names saved before the name rule (core/names.py)
    c.first_name, c.last_name = first_name, last_name
    session.add(c)
    if status is SmsStatus.opted_out:
        customers.set_status(
            session, c, SmsStatus.opted_out, channel=Channel.sms_reply, evidence={"inbound_text": "STOP"}, now=now
        )
    elif status is SmsStatus.opted_in:
        customers.set_status(
            session, c, SmsStatus.opted_in, channel=Channel.sms_reply, evidence={"inbound_text": "YES"}, now=now
        )
    elif status is SmsStatus.pending:
        customers.set_status(session, c, SmsStatus.pending, channel=Channel.dashboard, evidence={"by": "test"}, now=now)
    if commit:
        session.commit()
        session.refresh(c)
    return c


def open_window_around_now(engine) -> None:
    """Make the real 'now' fall inside the shop's sending window, whatever the hour a test runs at
    (for page tests, which run on the real clock)."""
    from zoneinfo import ZoneInfo

    from core.messaging import texting

    with Session(engine) as s:
        tz = ZoneInfo(texting.get_defaults(s).timezone)
        local = dt.datetime.now(tz)
        texting.update_defaults(
            s,
            window_start=(local - dt.timedelta(hours=2)).time().replace(second=0, microsecond=0),
            window_end=(local + dt.timedelta(hours=2)).time().replace(second=0, microsecond=0),
        )
