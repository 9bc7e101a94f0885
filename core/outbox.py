"""The one door every outbound message goes through (rulebook §4).

Sending is simulated: a message that passes the rules is logged `sent`;
one the rules forbid is logged `blocked` with its reason; a bulk opt-in
request outside the recipient's sending window is logged `queued` with the
time it will go, and `release_due` sends it once that time has come.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from core import phones, segments, texting
from core.clock import as_utc
from core.db import run_write
from core.models import (
    Customer,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    SmsStatus,
    TextingDefaults,
    utcnow,
)

REQUEST_GAP = dt.timedelta(hours=24)


class OutboxError(ValueError):
    """A send the caller asked for cannot even be attempted (no customer, unknown kind)."""


@dataclass
class SendSummary:
    """What a bulk action did, so a page can say how many were sent, queued and refused, and why."""

    sent: int = 0
    queued: int = 0
    blocked: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, msg: Message) -> None:
        if msg.status is MessageStatus.sent:
            self.sent += 1
        elif msg.status is MessageStatus.queued:
            self.queued += 1
        else:
            self.blocked += 1
            self.reasons[msg.reason] = self.reasons.get(msg.reason, 0) + 1


def _in_window(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start < end:
        return start <= local < end
    return local >= start or local < end  # overnight window


@lru_cache(maxsize=4096)
def _next_open(now: dt.datetime, zones: tuple[str, ...], start: dt.time, end: dt.time) -> Optional[dt.datetime]:
    """None when `now` (UTC, naive) is inside the window in every zone; else the first UTC
    instant within three days when it is; else the sentinel `dt.datetime.max`."""
    aware = now.replace(tzinfo=dt.timezone.utc)

    def inside(t: dt.datetime) -> bool:
        return all(_in_window(t.astimezone(ZoneInfo(z)).time(), start, end) for z in zones)

    if inside(aware):
        return None
    candidates = []
    for z in zones:
        tz = ZoneInfo(z)
        local_day = aware.astimezone(tz).date()
        for d in range(0, 4):
            opening = dt.datetime.combine(local_day + dt.timedelta(days=d), start, tzinfo=tz)
            opening_utc = opening.astimezone(dt.timezone.utc)
            if opening_utc > aware:
                candidates.append(opening_utc)
    for c in sorted(candidates):
        if inside(c):
            return c.replace(tzinfo=None)
    return dt.datetime.max


def next_send_time(phone: str, now: dt.datetime, defaults: TextingDefaults) -> Optional[dt.datetime]:
    """When a bulk message to `phone` may go: None for now, else a UTC time.

    Every time zone phonenumbers gives for the number must be inside the window;
    when the number has no known zone, or its zones never share a moment inside
    the window, the shop's own time zone decides.
    """
    start, end = defaults.window_start, defaults.window_end
    now = as_utc(now).replace(second=0, microsecond=0)
    zones = tuple(phones.time_zones(phone))
    if zones:
        when = _next_open(now, zones, start, end)
        if when != dt.datetime.max:
            return when
    return _next_open(now, (defaults.timezone,), start, end)


def refusal(customer: Customer, kind: MessageKind, defaults: TextingDefaults, now: dt.datetime, *,
            reply_to_help: bool = False, confirming_opt_out: bool = False) -> str:
    """Why §4 forbids sending `kind` to `customer` now ('' when it may go)."""
    now = as_utc(now)
    status = SmsStatus(customer.sms_status)
    if status is SmsStatus.opted_out:
        if kind is MessageKind.opt_out_confirmation and confirming_opt_out:
            return ""
        if kind is MessageKind.help_reply and reply_to_help:
            return ""
        return "Unsubscribed recipient: this phone opted out (only START can change that)"
    if kind is MessageKind.opt_out_confirmation and not confirming_opt_out:
        return "An opt-out confirmation goes only once, right after an opt-out"
    if kind is MessageKind.opt_in_request:
        if status is SmsStatus.opted_in:
            return "Already opted in: no opt-in request needed"
        if customer.opt_in_requests >= defaults.max_opt_in_requests:
            n = customer.opt_in_requests
            return f"Request limit reached: {n} opt-in request{'s' if n != 1 else ''} already sent to this phone"
        if customer.last_request_at and now - customer.last_request_at < REQUEST_GAP:
            return "An opt-in request went to this phone less than 24 hours ago"
    if kind in (MessageKind.opt_in_confirmation, MessageKind.resubscribe_confirmation):
        if status is not SmsStatus.opted_in:
            return "A confirmation goes only to an opted-in phone"
    return ""


def send(session: Session, *, customer: Customer, kind: MessageKind | str, now: Optional[dt.datetime] = None,
         bulk: bool = False, reply_to_help: bool = False, confirming_opt_out: bool = False,
         shop_number: Optional[str] = None, defaults: Optional[TextingDefaults] = None,
         dedupe_key: Optional[str] = None) -> Message:
    """Log one outbound message as sent, queued or blocked (no commit: the caller's transaction).

    `bulk`: started by the shop for many customers (sync, import, resend): quiet hours apply.
    Replies to the customer's own text or form submission go immediately.
    """
    if customer is None or customer.id is None:
        raise OutboxError("A message needs a saved customer")
    kind = MessageKind(kind)
    now = as_utc(now)
    defaults = defaults or texting.get_defaults(session)
    body = texting.render(kind, customer, defaults)
    seg = segments.count(body)
    msg = Message(
        customer_id=customer.id,
        phone=customer.phone,
        shop_number=shop_number or defaults.main_number,
        direction=Direction.outbound,
        body=body,
        kind=kind,
        status=MessageStatus.sent,
        encoding=seg.encoding,
        segments=seg.segments,
        created_at=now,
        bulk=bulk,
        dedupe_key=dedupe_key,
    )
    reason = refusal(customer, kind, defaults, now, reply_to_help=reply_to_help,
                     confirming_opt_out=confirming_opt_out)
    if reason:
        msg.status = MessageStatus.blocked
        msg.reason = reason
    else:
        when = next_send_time(customer.phone, now, defaults) if bulk else None
        if when is not None:
            msg.status = MessageStatus.queued
            msg.send_at = when
            msg.reason = "Quiet hours: queued until the sending window opens for this customer"
        else:
            msg.sent_at = now
        if kind is MessageKind.opt_in_request:
            customer.opt_in_requests = (customer.opt_in_requests or 0) + 1
            customer.last_request_at = now
            customer.updated_at = now
            session.add(customer)
    session.add(msg)
    return msg


def release_due(session: Session, now: Optional[dt.datetime] = None, *, batch: int = 500) -> SendSummary:
    """Send the queued messages whose time has come; block those the rules now forbid
    (the customer opted out or already confirmed meanwhile); a bulk message that came due
    but finds the recipient in quiet hours now (no page loaded while the window was open)
    waits for the next window. Commits per batch."""
    now = as_utc(now)
    summary = SendSummary()
    defaults = texting.get_defaults(session)

    def one_batch() -> list[Message]:
        rows = session.exec(
            select(Message)
            .where(Message.status == MessageStatus.queued, col(Message.send_at) <= now)
            .order_by(Message.send_at, Message.id)
            .limit(batch)
        ).all()
        for msg in rows:
            customer = session.get(Customer, msg.customer_id) if msg.customer_id else None
            status = SmsStatus(customer.sms_status) if customer else None
            if status is SmsStatus.opted_out:
                msg.status = MessageStatus.blocked
                msg.reason = "Unsubscribed recipient: opted out while the message was queued"
            elif msg.kind is MessageKind.opt_in_request and status is SmsStatus.opted_in:
                msg.status = MessageStatus.blocked
                msg.reason = "Already opted in while the request was queued"
            elif msg.bulk and (later := next_send_time(msg.phone, now, defaults)) is not None and later > now:
                msg.send_at = later  # quiet hours again: stays queued
            else:
                msg.status = MessageStatus.sent
                msg.sent_at = now
                msg.reason = ""
            session.add(msg)
        return rows

    while True:
        rows = run_write(session, one_batch)
        for msg in rows:  # counted only once the batch is committed
            summary.add(msg)
        if len(rows) < batch:
            break
    return summary


def queued_count(session: Session) -> int:
    from sqlalchemy import func

    return session.exec(select(func.count()).select_from(Message).where(Message.status == MessageStatus.queued)).one()


def due_count(session: Session, now: Optional[dt.datetime] = None) -> int:
    from sqlalchemy import func

    now = as_utc(now)
    return session.exec(
        select(func.count()).select_from(Message)
        .where(Message.status == MessageStatus.queued, col(Message.send_at) <= now)
    ).one()


def next_release_at(session: Session) -> Optional[dt.datetime]:
    """When the earliest queued message is due to go (UTC), or None when nothing is queued."""
    from sqlalchemy import func

    return session.exec(
        select(func.min(Message.send_at)).where(Message.status == MessageStatus.queued)
    ).one()
