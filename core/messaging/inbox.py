"""Inbound texts: log them and let the rulebook act (§3)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlmodel import Session, col, select

from core.consent import age, customers, suppression
from core.messaging import outbox, texting
from core import phones
from core.clock import REVIEW_BUSINESS_DAYS, as_utc, review_deadline  # noqa: F401 (inbox.review_deadline)
from core.consent.rules import NOTHING, decide
from core.db import run_write
from core.consent.keywords import Keyword, classify, parse_extra
from core.models import (
    Channel,
    ConsentEvent,
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
from core.messaging.segments import count as count_segments
from core.text import strip_bidi
from core.errors import OwnerError
from core import activity
from core.staff.roles import Actor, allow

MAX_BODY = 1600  # ten concatenated segments: longer is not a text message


class InvalidMessage(OwnerError):
    """An inbound text that cannot be processed; the message says why."""


def clean_body(body: Optional[str]) -> str:
    if body is None:
        raise InvalidMessage("The message is empty: type what the customer texts.")
    body = strip_bidi(str(body).replace("\x00", ""))
    if not body.strip():
        raise InvalidMessage("The message is empty: type what the customer texts.")
    if len(body) > MAX_BODY:
        raise InvalidMessage(f"A text message is at most {MAX_BODY:,} characters; this one has {len(body):,}.")
    return body


def receive(
    session: Session,
    *,
    phone: str,
    body: str,
    to: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    provider_sid: Optional[str] = None,
    by: Optional[Actor] = None,
) -> list[Message]:
    """Log an inbound text, apply §3, and return the outbound messages it produced.

    `to` is the shop number texted (the main number when None). Raises
    phones.InvalidPhone or InvalidMessage before anything is written.
    `provider_sid`: the provider's id of a real text (Twilio's MessageSid): a text already received
    under that id (a webhook the provider retried) changes nothing and returns [].
    `by`: the person typing it into the Inbox simulator (their name goes into the evidence and the
    activity trail); None for a real text.
    """
    simulated_by = None if by is None else allow(session, by, "simulate_text")
    body = clean_body(body)
    given_now = None if now is None else as_utc(now)
    defaults = texting.get_defaults(session)
    e164 = phones.normalize(phone, defaults.default_region)
    which = texting.which_number(defaults, to)
    shop_number = texting.shop_number(defaults, which)
    keyword = classify(
        body,
        extra_opt_out=parse_extra(defaults.extra_opt_out_words, Keyword.OPT_OUT),
        extra_help=parse_extra(defaults.extra_help_words, Keyword.HELP),
    )
    required = age.min_age(session)  # the age gate (§11): 0 when off
    unsaved: list[Message] = []  # a reply sent but not kept (the age gate's refusal)

    def work() -> list[int]:
        unsaved.clear()
        # the phone's lock, then the customer fresh from the database, whatever this session held before
        customer = customers.locked(session, phone=e164)
        if provider_sid and session.exec(select(Message.id).where(Message.provider_sid == provider_sid)).first():
            return []  # already received: the provider retried its webhook
        now = given_now or utcnow()  # read under the lock: the ledger's times follow its order
        status = SmsStatus(customer.sms_status) if customer else None
        t = decide(status, keyword, which)
        if t.join_request and phones.not_mobile(e164):  # no opt-in request to premium-rate, toll-free, ...
            t = NOTHING
        asked = age.questions_asked(session, e164, now) if required else 0
        if age.gated(
            t, body=body, status=status, customer=customer, required=required, asked_recently=asked, today=now.date()
        ):
            seg = count_segments(body)
            inbound = Message(
                customer_id=customer.id if customer else None,
                phone=e164,
                shop_number=shop_number,
                direction=Direction.inbound,
                body=body,
                status=MessageStatus.received,
                encoding=seg.encoding,
                segments=seg.segments,
                created_at=now,
            )
            session.add(inbound)
            session.flush()
            replies = age.text_to_join(
                session,
                customer=customer,
                phone=e164,
                body=body,
                inbound=inbound,
                which=which,
                shop_number=shop_number,
                defaults=defaults,
                now=now,
                required=required,
                asked=asked,
            )
            session.flush()
            unsaved.extend(m for m in replies if m.id is None)
            if simulated_by is not None:
                activity.record(
                    session,
                    simulated_by,
                    activity.Kind.consent,
                    f"Simulated a text “{body[:60]}” from {phones.redact(e164)}",
                    customer_id=customer.id if customer else None,
                    now=now,
                )
            return [0] + [m.id for m in replies if m.id is not None]
        lifted = None
        if t.join_request or t.new_status in (SmsStatus.opted_in, SmsStatus.pending):
            lifted = suppression.lift(session, e164, how="their own text", now=now)  # §11: START, YES, join
        if customer is None and (t.changes or t.sends or t.review or t.join_request):
            customer = customers.create(
                session,
                phone=e164,
                region=defaults.default_region,
                now=now,
                source=Source.text_to_join if which == "join" else Source.inbound_sms,
                source_detail=shop_number,
            )
        seg = count_segments(body)
        inbound = Message(
            customer_id=customer.id if customer else None,
            phone=e164,
            shop_number=shop_number,
            direction=Direction.inbound,
            body=body,
            status=MessageStatus.received,
            encoding=seg.encoding,
            segments=seg.segments,
            created_at=now,
            provider_sid=provider_sid or None,
        )
        session.add(inbound)
        session.flush()
        evidence = {"inbound_text": body, "message_id": inbound.id, "to": shop_number}
        if simulated_by is not None:
            evidence.update(simulated=True, **simulated_by.evidence)
            activity.record(
                session,
                simulated_by,
                activity.Kind.consent,
                f"Simulated a text “{body[:60]}” from {phones.redact(e164)}",
                customer_id=customer.id if customer else None,
                now=now,
            )
        if t.new_status in (SmsStatus.opted_in, SmsStatus.pending):
            evidence.update(age.evidence_of(customer, required))
        if lifted:
            evidence["suppression_lifted"] = lifted
        out: list[Message] = []

        if t.review:
            session.add(
                PossibleOptOut(
                    customer_id=customer.id,
                    phone=e164,
                    message_id=inbound.id,
                    body=body,
                    received_at=now,
                    deadline=review_deadline(now, defaults.timezone),
                )
            )
        if t.join_request:
            channel = Channel.text_to_join if which == "join" else Channel.sms_reply
            out.append(
                customers.send_opt_in_request(
                    session,
                    customer,
                    channel=channel,
                    evidence=evidence,
                    now=now,
                    shop_number=shop_number,
                    defaults=defaults,
                    customer_asked=True,
                )
            )
        else:
            if t.changes:
                customers.set_status(
                    session, customer, t.new_status, channel=Channel.sms_reply, evidence=evidence, now=now
                )
            for kind in t.sends:
                out.append(
                    outbox.send(
                        session,
                        customer=customer,
                        kind=kind,
                        now=now,
                        shop_number=shop_number,
                        defaults=defaults,
                        reply_to_help=kind is MessageKind.help_reply,
                        confirming_opt_out=kind is MessageKind.opt_out_confirmation,
                    )
                )
        session.flush()
        return [inbound.id] + [m.id for m in out]

    ids = run_write(session, work)
    if not ids:
        return []
    rows = session.exec(select(Message).where(col(Message.id).in_(ids[1:])).order_by(Message.id)).all()
    return list(rows) + unsaved


# --- Possible opt-outs awaiting the owner ----------------------------------------------


def pending_reviews(session: Session, *, limit: int = 100) -> list[PossibleOptOut]:
    return list(
        session.exec(
            select(PossibleOptOut)
            .where(col(PossibleOptOut.decision).is_(None))
            .order_by(col(PossibleOptOut.received_at).desc(), col(PossibleOptOut.id).desc())
            .limit(limit)
        ).all()
    )


class NewerConsent(InvalidMessage):
    """The customer texted START or YES after the message under review: confirming the old message
    as an opt-out would silently undo that. The owner must look at the newer text and confirm again."""

    def __init__(self, body: str, at: dt.datetime, status: SmsStatus = SmsStatus.opted_in):
        self.body = body
        self.at = at
        what = "opted back in" if status is SmsStatus.opted_in else "asked to join the text list again"
        super().__init__(
            f'After this message the customer texted "{body}" and {what}. '
            "Confirm the opt-out anyway only if you are sure they want no more texts."
        )


def newer_consent(session: Session, review: PossibleOptOut) -> Optional[ConsentEvent]:
    """The customer's own reply (START, YES) after the review's message that moved them to opted in or
    pending, if any: the newest such event."""
    return session.exec(
        select(ConsentEvent)
        .where(
            ConsentEvent.customer_id == review.customer_id,
            col(ConsentEvent.occurred_at) >= review.received_at,
            col(ConsentEvent.new_status).in_([SmsStatus.opted_in, SmsStatus.pending]),
            col(ConsentEvent.channel).in_([Channel.sms_reply, Channel.text_to_join]),
        )
        .order_by(col(ConsentEvent.occurred_at).desc(), col(ConsentEvent.id).desc())
    ).first()


def decide_review(
    session: Session,
    *,
    review_id: int,
    confirm: bool,
    reason: str = "",
    override: bool = False,
    now: Optional[dt.datetime] = None,
    by: Optional[Actor] = None,
) -> PossibleOptOut:
    """Confirm a possible opt-out (→ opted out) or dismiss it with a reason.

    When the customer texted START or YES after the message, confirming raises NewerConsent
    unless `override` (the owner saw the newer text and confirms again)."""
    by = allow(session, by, "decide_review")
    given_now = None if now is None else as_utc(now)
    reason = (reason or "").strip()
    if not confirm and not reason:
        raise InvalidMessage("Say why you dismiss it: a reason is required.")
    phone = session.exec(select(PossibleOptOut.phone).where(PossibleOptOut.id == review_id)).first()
    if phone is None:
        raise InvalidMessage("That possible opt-out no longer exists.")

    def work() -> PossibleOptOut:
        customer = customers.locked(session, phone=phone)
        now = given_now or utcnow()
        review = session.exec(
            select(PossibleOptOut).where(PossibleOptOut.id == review_id).execution_options(populate_existing=True)
        ).first()
        if review is None:
            raise InvalidMessage("That possible opt-out no longer exists.")
        if review.decision is not None:
            raise InvalidMessage(f"Already {review.decision.value}.")
        if confirm and not override and (newer := newer_consent(session, review)) is not None:
            raise NewerConsent(
                str((newer.evidence or {}).get("inbound_text", "START")), newer.occurred_at, SmsStatus(newer.new_status)
            )
        review.decision = Decision.confirmed if confirm else Decision.dismissed
        review.decided_at = now
        review.reason = reason[:500]
        session.add(review)
        if confirm and customer is not None and customer.sms_status is not SmsStatus.opted_out:
            customers.set_status(
                session,
                customer,
                SmsStatus.opted_out,
                channel=Channel.sms_reply,
                evidence={
                    "inbound_text": review.body,
                    "message_id": review.message_id,
                    "reason": reason or "possible opt-out confirmed by the owner",
                    **by.evidence,
                    **({"override": True} if override else {}),
                },
                now=now,
            )
            defaults = texting.get_defaults(session)
            if defaults.confirm_recorded_opt_outs:  # §10: one confirmation, within 5 minutes, inside the window
                outbox.send(
                    session,
                    customer=customer,
                    kind=MessageKind.opt_out_confirmation,
                    now=now,
                    defaults=defaults,
                    confirming_opt_out=True,
                    owner_recorded=True,
                )
        what = (
            f"Confirmed a possible opt-out from {phones.redact(phone)}"
            if confirm
            else f"Dismissed a possible opt-out from {phones.redact(phone)} (reason: {reason[:200]})"
        )
        activity.record(
            session, by, activity.Kind.review, f"{what}: “{review.body[:60]}”", customer_id=review.customer_id, now=now
        )
        return review

    return run_write(session, work)


def thread(session: Session, phone: str, *, limit: int = 200) -> list[Message]:
    """The conversation with one phone, oldest first (the latest `limit` messages)."""
    rows = session.exec(
        select(Message)
        .where(Message.phone == phone)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))
