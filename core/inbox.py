"""Inbound texts: log them and let the rulebook act (§3)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import numpy as np
from sqlmodel import Session, col, select

from core import customers, outbox, phones, texting
from core.consent import NOTHING, decide
from core.db import lock_for_write, run_write
from core.keywords import Keyword, classify
from core.models import (
    Channel,
    Customer,
    Decision,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    PossibleOptOut,
    SmsStatus,
    Source,
    utcnow,
)
from core.segments import count as count_segments

MAX_BODY = 1600  # ten concatenated segments: longer is not a text message
REVIEW_BUSINESS_DAYS = 10  # FCC 24-24: honour a revocation within 10 business days


class InvalidMessage(ValueError):
    """An inbound text that cannot be processed; the message says why."""


def clean_body(body: Optional[str]) -> str:
    if body is None:
        raise InvalidMessage("The message is empty: type what the customer texts.")
    body = str(body).replace("\x00", "")
    if not body.strip():
        raise InvalidMessage("The message is empty: type what the customer texts.")
    if len(body) > MAX_BODY:
        raise InvalidMessage(f"A text message is at most {MAX_BODY:,} characters; this one has {len(body):,}.")
    return body


def review_deadline(received: dt.datetime) -> dt.date:
    """10 business days (Mon–Fri) after the day it was received."""
    return np.busday_offset(np.datetime64(received.date(), "D"), REVIEW_BUSINESS_DAYS, roll="forward").astype(
        dt.date)


def receive(session: Session, *, phone: str, body: str, to: Optional[str] = None,
            now: Optional[dt.datetime] = None) -> list[Message]:
    """Log an inbound text, apply §3, and return the outbound messages it produced.

    `to` is the shop number texted (the main number when None). Raises
    phones.InvalidPhone or InvalidMessage before anything is written.
    """
    body = clean_body(body)
    given_now = now
    defaults = texting.get_defaults(session)
    e164 = phones.normalize(phone, defaults.default_region)
    which = texting.which_number(defaults, to)
    shop_number = texting.shop_number(defaults, which)
    keyword = classify(body)

    def work() -> list[int]:
        lock_for_write(session, e164)
        now = given_now or utcnow()  # read under the lock: the ledger's times follow its order
        # fresh from the database, whatever this session held before the lock
        customer = session.exec(select(Customer).where(Customer.phone == e164)
                                .execution_options(populate_existing=True)).first()
        status = SmsStatus(customer.sms_status) if customer else None
        t = decide(status, keyword, which)
        if t.join_request and phones.not_mobile(e164):  # no opt-in request to premium-rate, toll-free, ...
            t = NOTHING
        if customer is None and (t.changes or t.sends or t.review or t.join_request):
            customer = customers.create(
                session, phone=e164, region=defaults.default_region, now=now,
                source=Source.text_to_join if which == "join" else Source.inbound_sms,
                source_detail=shop_number)
        seg = count_segments(body)
        inbound = Message(customer_id=customer.id if customer else None, phone=e164, shop_number=shop_number,
                          direction=Direction.inbound, body=body, status=MessageStatus.received,
                          encoding=seg.encoding, segments=seg.segments, created_at=now)
        session.add(inbound)
        session.flush()
        evidence = {"inbound_text": body, "message_id": inbound.id, "to": shop_number}
        out: list[Message] = []

        if t.review:
            session.add(PossibleOptOut(customer_id=customer.id, phone=e164, message_id=inbound.id, body=body,
                                       received_at=now, deadline=review_deadline(now)))
        if t.join_request:
            msg = outbox.send(session, customer=customer, kind=MessageKind.opt_in_request, now=now,
                              shop_number=shop_number, defaults=defaults)
            out.append(msg)
            if msg.status is not MessageStatus.blocked and customer.sms_status is not SmsStatus.pending:
                channel = Channel.text_to_join if which == "join" else Channel.sms_reply
                customers.set_status(session, customer, SmsStatus.pending, channel=channel,
                                     evidence=evidence, now=now)
        else:
            if t.changes:
                customers.set_status(session, customer, t.new_status, channel=Channel.sms_reply,
                                     evidence=evidence, now=now)
            for kind in t.sends:
                out.append(outbox.send(session, customer=customer, kind=kind, now=now, shop_number=shop_number,
                                       defaults=defaults, reply_to_help=kind is MessageKind.help_reply,
                                       confirming_opt_out=kind is MessageKind.opt_out_confirmation))
        session.flush()
        return [inbound.id] + [m.id for m in out]

    ids = run_write(session, work)
    rows = session.exec(select(Message).where(col(Message.id).in_(ids[1:])).order_by(Message.id)).all()
    return list(rows)


# --- Possible opt-outs awaiting the owner ----------------------------------------------

def pending_reviews(session: Session, *, limit: int = 100) -> list[PossibleOptOut]:
    return list(session.exec(
        select(PossibleOptOut).where(col(PossibleOptOut.decision).is_(None))
        .order_by(col(PossibleOptOut.received_at).desc(), col(PossibleOptOut.id).desc()).limit(limit)
    ).all())


def decide_review(session: Session, *, review_id: int, confirm: bool, reason: str = "",
                  now: Optional[dt.datetime] = None) -> PossibleOptOut:
    """Confirm a possible opt-out (→ opted out) or dismiss it with a reason."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not confirm and not reason:
        raise InvalidMessage("Say why you dismiss it: a reason is required.")

    def work() -> PossibleOptOut:
        review = session.get(PossibleOptOut, review_id)
        if review is None:
            raise InvalidMessage("That possible opt-out no longer exists.")
        lock_for_write(session, review.phone)
        session.refresh(review)
        if review.decision is not None:
            raise InvalidMessage(f"Already {review.decision.value}.")
        review.decision = Decision.confirmed if confirm else Decision.dismissed
        review.decided_at = now
        review.reason = reason[:500]
        session.add(review)
        if confirm:
            customer = customers.get(session, review.customer_id)
            if customer.sms_status is not SmsStatus.opted_out:
                customers.set_status(session, customer, SmsStatus.opted_out, channel=Channel.sms_reply,
                                     evidence={"inbound_text": review.body, "message_id": review.message_id,
                                               "reason": reason or "possible opt-out confirmed by the owner",
                                               "by": "owner"}, now=now)
        return review

    return run_write(session, work)


def thread(session: Session, phone: str, *, limit: int = 200) -> list[Message]:
    """The conversation with one phone, oldest first (the latest `limit` messages)."""
    rows = session.exec(
        select(Message).where(Message.phone == phone)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(limit)
    ).all()
    return list(reversed(rows))
