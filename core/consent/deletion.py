"""Delete a customer's data, keeping the promise not to text them (rulebook §11).

What goes: the customer record (names, email, birthday, zip, verified date of birth), every message to
or from the phone, their possible opt-outs, their POS contact rows, the answers of their form
submissions (the submission rows stay, emptied, so the forms' counts do not change) and their consent
events.

The consent ledger is append-only evidence while the customer is a customer; it is evidence *about a
person*, so it goes with the person: what would be left (a phone, what they texted, the signature they
typed) is the personal data they asked us to delete. What stays is the suppression record: the phone as
a keyed hash, when and why the data was deleted, who did it and what their status was — enough to prove
the request was honoured and to keep them from being re-subscribed by an import or a sync. The reports'
past counts lose their events (a deletion is rare; a report that still counted a deleted person would
need their data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, or_, select

from core import activity
from core.clock import as_utc
from core.consent import customers, suppression
from core.db import run_write
from core.models import (
    Activity,
    ConsentEvent,
    Customer,
    FormSubmission,
    Message,
    PosContact,
    PossibleOptOut,
    SignupAttempt,
    SmsStatus,
    Suppression,
    utcnow,
)
from core.staff.roles import Actor, allow
from core.text import clean_text

DEFAULT_REASON = "The customer asked for their data to be deleted."
SCRUBBED = "About a customer whose data was later deleted (details removed)."


class AlreadyDeleted(customers.NotFound):
    """The customer's data was deleted before: nothing left to delete."""


@dataclass(frozen=True)
class Deleted:
    """What a deletion removed (counts only: the data itself is gone)."""

    messages: int
    events: int
    submissions: int
    status: SmsStatus
    at: dt.datetime


def _already(session: Session, customer_id: int) -> Optional[Suppression]:
    return session.exec(select(Suppression).where(Suppression.customer_id == customer_id)).first()


def delete_customer_data(
    session: Session,
    *,
    customer_id: int,
    reason: str = "",
    by: Optional[Actor | str] = None,
    now: Optional[dt.datetime] = None,
) -> Deleted:
    """Delete everything about one customer but the suppression record (commits), as `by` (the owner's
    alone: roles.NotAllowed otherwise, nothing deleted; a plain name is the shop itself, e.g. the console).

    The activity trail keeps who did what and when about them, its sentences emptied of their name, phone
    and texts; the deletion itself is recorded there (without them either).
    Raises AlreadyDeleted when it was done before (with the date), customers.NotFound for an unknown id."""
    name = clean_text(by) if isinstance(by, str) else ""
    by = allow(session, by if isinstance(by, Actor) else None, "delete_customer_data")
    name = name or by.name
    reason = clean_text(reason) or DEFAULT_REASON
    if len(reason) > 500:
        raise customers.CustomerError("Keep the reason under 500 characters.")
    given_now = None if now is None else as_utc(now)

    def work() -> Deleted:
        customer: Optional[Customer] = None
        phone = session.exec(select(Customer.phone).where(Customer.id == customer_id)).first()
        if phone is not None:
            customer = customers.locked(session, phone=phone)
        if customer is None or customer.id != customer_id:
            done = _already(session, customer_id)
            if done is not None:
                when = done.created_at.strftime("%d %b %Y").lstrip("0")
                raise AlreadyDeleted(
                    f"This customer's data was already deleted on {when}: there is nothing left "
                    "to delete. Their number stays suppressed."
                )
            raise customers.NotFound(f"No customer with id {customer_id}")
        now = given_now or utcnow()
        status = SmsStatus(customer.sms_status)
        cid = customer.id
        messages = (
            session.execute(
                sa_delete(Message).where(or_(col(Message.phone) == phone, col(Message.customer_id) == cid))
            ).rowcount
            or 0
        )
        session.execute(sa_delete(PossibleOptOut).where(col(PossibleOptOut.customer_id) == cid))
        session.execute(sa_delete(PosContact).where(col(PosContact.customer_id) == cid))
        submissions = (
            session.execute(
                sa_update(FormSubmission)
                .where(col(FormSubmission.customer_id) == cid)
                .values(customer_id=None, answers={})
            ).rowcount
            or 0
        )
        events = session.execute(sa_delete(ConsentEvent).where(col(ConsentEvent.customer_id) == cid)).rowcount or 0
        from core.signups import signup_limits

        session.execute(
            sa_delete(SignupAttempt).where(col(SignupAttempt.phone_key) == signup_limits._key("phone", phone))
        )
        session.delete(customer)
        session.flush()
        session.execute(sa_update(Activity).where(col(Activity.customer_id) == cid).values(summary=SCRUBBED))
        suppression.record(session, phone, reason=reason, by=name, customer_id=cid, last_status=status.value, now=now)
        activity.record(
            session,
            by,
            activity.Kind.customer,
            f"Deleted a customer's data (reason: {reason})",
            customer_id=cid,
            now=now,
        )
        session.flush()
        return Deleted(messages=messages, events=events, submissions=submissions, status=status, at=now)

    result = run_write(session, work)
    session.expire_all()
    return result


def deleted_on(session: Session, customer_id: int) -> Optional[dt.datetime]:
    """When this customer's data was deleted (None when it was not)."""
    row = _already(session, customer_id)
    return row.created_at if row is not None else None
