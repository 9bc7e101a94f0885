"""The one door every outbound message goes through (rulebook §4).

Simulated texting (the default; always in the demo and training shops): a message that passes
the rules is logged `sent`. Live texting (Settings › Texting provider): it is logged `sending` and
the background sender (core/messaging/sender.py) hands it to the provider, then records `sent`.
Either way,
one the rules forbid is logged `blocked` with its reason; a bulk opt-in
request outside the recipient's sending window is logged `queued` with the
time it will go, and `release_due` sends it once that time has come.
"""

from __future__ import annotations

import logging
import datetime as dt
from dataclasses import dataclass, field
from typing import Optional, Sequence

from sqlmodel import Session, col, select

from core import phones
from core.messaging import segments, texting, windows
from core.clock import as_utc
from core.db import lock_phones, run_write
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
from core.errors import OwnerError
from core.phones import redact

log = logging.getLogger(__name__)

REQUEST_GAP = dt.timedelta(hours=24)


class OutboxError(OwnerError):
    """A send the caller asked for cannot even be attempted (no customer, unknown kind)."""


@dataclass
class SendSummary:
    """What a bulk action did, so a page can say how many were sent, queued and refused, and why."""

    sent: int = 0
    queued: int = 0
    blocked: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, msg: Message) -> None:
        if msg.status in (MessageStatus.sent, MessageStatus.sending):  # sending: live, going out now
            self.sent += 1
        elif msg.status is MessageStatus.queued:
            self.queued += 1
        else:
            self.blocked += 1
            self.reasons[msg.reason] = self.reasons.get(msg.reason, 0) + 1


#: Kinds a state's cap counts and its window holds when the shop starts them (rulebook §9). The product's
#: only marketing-like text is the opt-in request; a marketing kind added later belongs here too.
CAPPED_KINDS = (MessageKind.opt_in_request,)
#: An opt-out confirmation after an opt-out the owner recorded goes within this long, or not at all (§10).
CONFIRMATION_WITHIN = dt.timedelta(minutes=5)


def place_of(phone: str, zip_code: str = "") -> windows.Place:
    """Where the recipient is: the customer's zip code when real, else the number's area code (§9)."""
    return windows.place(phone, zip_code, phones.time_zones(phone))


def hold(
    phone: str, now: dt.datetime, defaults: TextingDefaults, *, zip: str = "", recent: Sequence[dt.datetime] = ()
) -> windows.Hold:
    """Whether a marketing or request text to `phone` must wait, until when and why (rulebook §9, extending
    §4's quiet hours): the window of the recipient's state narrowed by the shop's quiet hours, in the
    recipient's local time, and the state's cap counted from `recent` (see recent_capped)."""
    return windows.hold(
        where=place_of(phone, zip),
        now=as_utc(now),
        shop_start=defaults.window_start,
        shop_end=defaults.window_end,
        shop_zone=defaults.timezone,
        recent=recent,
    )


def next_send_time(phone: str, now: dt.datetime, defaults: TextingDefaults, *, zip: str = "") -> Optional[dt.datetime]:
    """When a bulk message to `phone` may go: None for now, else a UTC time (the window only; see hold)."""
    return hold(phone, now, defaults, zip=zip).until


def recent_capped(session: Session, phone_list: Sequence[str], now: dt.datetime) -> dict[str, list[dt.datetime]]:
    """phone -> when each capped text (CAPPED_KINDS) went to it in the 24 hours before `now`: what a
    state's cap counts. One query per 500 phones."""
    now = as_utc(now)
    out: dict[str, list[dt.datetime]] = {}
    wanted = sorted(set(p for p in phone_list if p))
    for i in range(0, len(wanted), 500):
        rows = session.exec(
            select(Message.phone, Message.sent_at).where(
                col(Message.phone).in_(wanted[i : i + 500]),
                col(Message.kind).in_(CAPPED_KINDS),
                Message.status == MessageStatus.sent,
                col(Message.sent_at) > now - dt.timedelta(hours=24),
            )
        ).all()
        for phone, at in rows:
            out.setdefault(phone, []).append(at)
    return out


def _dispatch(msg: Message, now: dt.datetime, live: bool) -> None:
    """The message may go now: `sent` in simulation, `sending` (for the background sender) when live."""
    if live:
        msg.status = MessageStatus.sending
        msg.sent_at = None
    else:
        msg.status = MessageStatus.sent
        msg.sent_at = now


UNREACHABLE_LABELS = {"unreachable": "unreachable", "unknown": "not a working number", "landline": "a landline"}


def unreachable_reason(customer) -> str:
    """Why no opt-in request goes to a phone the carrier reported it cannot text ('' when it can)."""
    mark = getattr(customer, "unreachable", "") or ""
    if not mark:
        return ""
    code = getattr(customer, "unreachable_code", None)
    return (
        f"The carrier reported this phone as {UNREACHABLE_LABELS.get(mark, mark)}"
        + (f" (error {code})" if code else "")
        + ": no opt-in requests go to it"
    )


def refusal(
    customer: Customer,
    kind: MessageKind,
    defaults: TextingDefaults,
    now: dt.datetime,
    *,
    reply_to_help: bool = False,
    confirming_opt_out: bool = False,
    superseding: bool = False,
) -> str:
    """Why §4 forbids sending `kind` to `customer` now ('' when it may go).

    Opt-in requests: at most `max_opt_in_requests` per phone, sent or queued; never two within
    24 hours of the last one that went out; one queued at a time. `superseding`: the customer
    asked for it themselves (a text, a form), so a request still queued for the window is
    replaced by this one rather than refusing it."""
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
        if why := unreachable_reason(customer):
            return why
        queued = 0 if superseding else (getattr(customer, "queued_requests", 0) or 0)
        n = (customer.opt_in_requests or 0) + queued
        if n >= defaults.max_opt_in_requests:
            if queued:
                return (
                    f"Request limit reached: {n} opt-in request{'s' if n != 1 else ''} sent or waiting "
                    "in the outbox for this phone"
                )
            return f"Request limit reached: {n} opt-in request{'s' if n != 1 else ''} already sent to this phone"
        if customer.last_request_at and now - customer.last_request_at < REQUEST_GAP:
            return "An opt-in request went to this phone less than 24 hours ago"
        if queued:
            return "An opt-in request to this phone is already queued for the sending window"
    if kind in (MessageKind.opt_in_confirmation, MessageKind.resubscribe_confirmation):
        if status is not SmsStatus.opted_in:
            return "A confirmation goes only to an opted-in phone"
    return ""


def send(
    session: Session,
    *,
    customer: Customer,
    kind: MessageKind | str,
    now: Optional[dt.datetime] = None,
    bulk: bool = False,
    reply_to_help: bool = False,
    confirming_opt_out: bool = False,
    shop_number: Optional[str] = None,
    defaults: Optional[TextingDefaults] = None,
    dedupe_key: Optional[str] = None,
    customer_asked: bool = False,
    owner_recorded: bool = False,
) -> Message:
    """Log one outbound message as sent, queued or blocked (no commit: the caller's transaction,
    which holds db.lock_phones for this customer's phone).

    `bulk`: started by the shop for many customers (sync, import, resend), logged as such.
    Rulebook §9 (extending §4): every opt-in request the shop starts (bulk or from the dashboard) waits
    for the recipient's state window and cap (see `hold`), queued with the rule that held it.
    Replies to the customer's own text or form submission go immediately; an opt-in request
    the customer asked for (`customer_asked`) replaces one still queued for the window (never
    two within 24 h); any other request is refused while one is queued.
    `owner_recorded` (§10): an opt-out confirmation after an opt-out the owner recorded goes now if the
    recipient's window is open, within 5 minutes if it opens by then, else not at all (blocked, with why).
    The request counter counts requests sent; a queued one counts when it is released.
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
    superseding = (
        kind is MessageKind.opt_in_request and customer_asked and not bulk and (customer.queued_requests or 0) > 0
    )
    reason = refusal(
        customer,
        kind,
        defaults,
        now,
        reply_to_help=reply_to_help,
        confirming_opt_out=confirming_opt_out,
        superseding=superseding,
    )
    if reason:
        msg.status = MessageStatus.blocked
        msg.reason = reason
    else:
        if superseding:
            _supersede_queued_requests(session, customer, now)
        held = windows.GO
        if kind in CAPPED_KINDS and not customer_asked:
            recent = recent_capped(session, [customer.phone], now).get(customer.phone, ())
            held = hold(customer.phone, now, defaults, zip=customer.zip or "", recent=recent)
        elif kind is MessageKind.opt_out_confirmation and owner_recorded:
            held = hold(customer.phone, now, defaults, zip=customer.zip or "")
        when = held.until
        if when is not None and owner_recorded and when - now > CONFIRMATION_WITHIN:
            msg.status = MessageStatus.blocked
            msg.reason = (f"{held.reason}; a confirmation goes only within 5 minutes of the opt-out, so none was sent")[
                :300
            ]
            when = None
        elif when is not None:
            msg.status = MessageStatus.queued
            msg.send_at = when
            msg.reason = held.reason[:300]
        else:
            from core.messaging import providers

            _dispatch(msg, now, providers.is_live(session))
        if kind is MessageKind.opt_in_request and msg.status is not MessageStatus.blocked:
            if when is not None:
                customer.queued_requests = (customer.queued_requests or 0) + 1
            else:
                customer.opt_in_requests = (customer.opt_in_requests or 0) + 1
                customer.last_request_at = now
            customer.updated_at = now
            session.add(customer)
    session.add(msg)
    log.info(
        "send: %s to customer %s (%s) %s%s",
        kind.value,
        customer.id,
        redact(customer.phone),
        msg.status.value,
        f": {msg.reason}" if msg.reason else "",
    )
    return msg


SUPERSEDED = "Replaced: the customer asked, so a request went at once instead"


def _supersede_queued_requests(session: Session, customer: Customer, now: dt.datetime) -> None:
    for queued in session.exec(
        select(Message).where(
            Message.phone == customer.phone,
            Message.kind == MessageKind.opt_in_request,
            Message.status == MessageStatus.queued,
        )
    ).all():
        queued.status = MessageStatus.blocked
        queued.reason = SUPERSEDED
        session.add(queued)
    customer.queued_requests = 0


def release_due(session: Session, now: Optional[dt.datetime] = None, *, batch: int = 200) -> SendSummary:
    """Send the queued messages whose time has come; block those the rules now forbid
    (the customer opted out or already confirmed meanwhile, or a request went out less
    than 24 hours ago); a bulk message that came due but finds the recipient in quiet
    hours now (no page loaded while the window was open) waits for the next window.

    Safe from several sessions or replicas at once: each batch takes the phones' locks
    (db.lock_phones) and then claims only the messages still queued, so every message is
    sent exactly once and the summary counts only what this call did. Commits per batch."""
    from core.messaging import providers

    given_now = None if now is None else as_utc(now)
    summary = SendSummary()
    defaults = texting.get_defaults(session)
    live = providers.is_live(session)
    after_id = 0

    def one_batch() -> tuple[list[Message], int]:
        now = given_now or utcnow()
        due = session.exec(
            select(Message.id, Message.phone)
            .where(Message.status == MessageStatus.queued, col(Message.send_at) <= now, col(Message.id) > after_id)
            .order_by(Message.id)
            .limit(batch)
        ).all()
        if not due:
            return [], -1
        lock_phones(session, [phone for _id, phone in due])
        # claimed: only what is still queued once the phones are locked (another session may have sent it)
        rows = session.exec(
            select(Message)
            .where(col(Message.id).in_([i for i, _p in due]), Message.status == MessageStatus.queued)
            .order_by(Message.id)
            .execution_options(populate_existing=True)
        ).all()
        customers_by_id = {}
        ids = {m.customer_id for m in rows if m.customer_id}
        if ids:
            customers_by_id = {
                c.id: c
                for c in session.exec(
                    select(Customer).where(col(Customer.id).in_(ids)).execution_options(populate_existing=True)
                ).all()
            }
        recent = recent_capped(session, [m.phone for m in rows if m.kind in CAPPED_KINDS], now)
        for msg in rows:
            _release_one(session, msg, customers_by_id.get(msg.customer_id), now, defaults, recent, live)
        session.flush()
        return list(rows), due[-1][0]

    while True:
        rows, last_id = run_write(session, one_batch)
        for msg in rows:  # counted only once the batch is committed
            summary.add(msg)
        if last_id < 0:
            break
        after_id = last_id
    return summary


def _release_one(
    session: Session,
    msg: Message,
    customer: Optional[Customer],
    now: dt.datetime,
    defaults: TextingDefaults,
    recent: dict[str, list[dt.datetime]],
    live: bool = False,
) -> None:
    """One due message, its customer locked: sent, blocked with the reason, or queued again (§9: the
    window or cap holds it again; an owner-recorded opt-out's confirmation only within its 5 minutes)."""
    is_request = msg.kind is MessageKind.opt_in_request
    status = SmsStatus(customer.sms_status) if customer else None
    reason = ""
    if status is SmsStatus.opted_out and msg.kind is not MessageKind.opt_out_confirmation:
        reason = "Unsubscribed recipient: opted out while the message was queued"
    elif is_request and status is SmsStatus.opted_in:
        reason = "Already opted in while the request was queued"
    elif (
        is_request
        and customer is not None
        and customer.last_request_at
        and now - customer.last_request_at < REQUEST_GAP
    ):
        reason = "An opt-in request went to this phone less than 24 hours ago"
    elif is_request and customer is not None and unreachable_reason(customer):
        reason = unreachable_reason(customer)
    elif msg.kind is MessageKind.opt_out_confirmation and now - msg.created_at > CONFIRMATION_WITHIN:
        reason = "Not sent: a confirmation goes only within 5 minutes of the opt-out"
    held = windows.GO
    if not reason and msg.kind in CAPPED_KINDS:
        held = hold(
            msg.phone, now, defaults, zip=(customer.zip if customer else "") or "", recent=recent.get(msg.phone, ())
        )
    if reason:
        msg.status = MessageStatus.blocked
        msg.reason = reason
    elif held.until is not None and held.until > now:
        msg.send_at = held.until  # the window or the cap again: stays queued, saying which
        msg.reason = held.reason[:300]
        session.add(msg)
        return
    else:
        _dispatch(msg, now, live)
        msg.reason = ""
        if msg.kind in CAPPED_KINDS:
            recent.setdefault(msg.phone, []).append(now)
    session.add(msg)
    log.info(
        "release: queued %s %s to customer %s (%s) %s%s",
        msg.kind.value if msg.kind else "message",
        msg.id,
        msg.customer_id,
        redact(msg.phone),
        msg.status.value,
        f": {msg.reason}" if msg.reason else "",
    )
    if is_request and customer is not None:
        customer.queued_requests = max(0, (customer.queued_requests or 0) - 1)
        if msg.status in (MessageStatus.sent, MessageStatus.sending):  # the 24 hours count from when it goes out
            customer.opt_in_requests = (customer.opt_in_requests or 0) + 1
            customer.last_request_at = now
        customer.updated_at = now
        session.add(customer)


def queued_count(session: Session) -> int:
    from sqlalchemy import func

    return session.exec(select(func.count()).select_from(Message).where(Message.status == MessageStatus.queued)).one()


def due_count(session: Session, now: Optional[dt.datetime] = None) -> int:
    from sqlalchemy import func

    now = as_utc(now)
    return session.exec(
        select(func.count())
        .select_from(Message)
        .where(Message.status == MessageStatus.queued, col(Message.send_at) <= now)
    ).one()


def next_release_at(session: Session) -> Optional[dt.datetime]:
    """When the earliest queued message is due to go (UTC), or None when nothing is queued."""
    from sqlalchemy import func

    return session.exec(select(func.min(Message.send_at)).where(Message.status == MessageStatus.queued)).one()
