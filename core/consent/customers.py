"""Customers and their consent: the only place a status changes (rulebook §1, §2)."""

from __future__ import annotations

import logging
import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from sqlmodel import Session, col, select

from core import names, phones
from core.clock import as_utc, business_deadline, local_date
from core.db import lock_phones, run_write
from core.models import (
    OPT_OUT_CHANNELS,
    Channel,
    ConsentEvent,
    Customer,
    Message,
    MessageKind,
    MessageStatus,
    SmsStatus,
    Source,
    utcnow,
)
from core.text import valid_email
from core.text import clean_text as _clean_text
from core.errors import OwnerError
from core.phones import redact
from core import activity
from core.staff.roles import Actor, allow

log = logging.getLogger(__name__)

MAX_NAME = 100


class CustomerError(OwnerError):
    """Something the owner asked for cannot be done; the message says why."""


class NotFound(CustomerError):
    pass


class OptOutWins(CustomerError):
    """Only the customer texting START can lift an opt-out (rulebook §2)."""


class MissingEvidence(CustomerError):
    """Nothing becomes opted in without evidence (rulebook §2)."""


class InvalidDetails(CustomerError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()), errors=errors)


def validate_details(
    *, first_name: Any = None, last_name: Any = None, email: Any = None, birthday: Any = None, zip: Any = None
) -> dict[str, Any]:
    """Clean what a person typed; InvalidDetails names each field that is wrong."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, label, value in (("first_name", "First name", first_name), ("last_name", "Last name", last_name)):
        if value is None:
            continue
        text = _clean_text(value)
        if len(text) > MAX_NAME:
            errors[key] = f"{label} is too long ({len(text):,} characters; at most {MAX_NAME})."
        elif names.message(label, text):  # no links, phone numbers or markup (the sign-up form's rule)
            errors[key] = names.message(label, text)
        out[key] = text
    if email is not None:
        text = _clean_text(email)
        if text:
            if not valid_email(text):
                errors["email"] = "Email doesn't look like an address (name@example.com)."
        out["email"] = text.lower()
    if birthday is not None:
        if isinstance(birthday, str) and birthday.strip():
            try:
                birthday = dt.date.fromisoformat(birthday.strip())
            except ValueError:
                errors["birthday"] = "Birthday is not a real date (use YYYY-MM-DD)."
                birthday = None
        elif isinstance(birthday, str):
            birthday = None
        if isinstance(birthday, dt.datetime):
            birthday = birthday.date()
        if isinstance(birthday, dt.date) and not (dt.date(1900, 1, 1) <= birthday <= dt.date.today()):
            errors["birthday"] = "Birthday must be a date in the past."
        out["birthday"] = birthday
    if zip is not None:
        text = _clean_text(zip)
        if len(text) > 10 or (text and not all(c.isalnum() or c in " -" for c in text)):
            errors["zip"] = "Zip code should be 5 digits (or ZIP+4)."
        out["zip"] = text
    if errors:
        raise InvalidDetails(errors)
    return out


def get(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer with id {customer_id}")
    return customer


def locked(session: Session, *, customer_id: Optional[int] = None, phone: Optional[str] = None) -> Optional[Customer]:
    """Take the phone's consent lock (db.lock_phones) and return the customer as it is now in the
    database, whatever this session read before. Every writer of a customer's consent starts here."""
    if phone is None:
        if customer_id is None:
            raise ValueError("locked() needs a customer id or a phone")
        phone = session.exec(select(Customer.phone).where(Customer.id == customer_id)).first()
        if phone is None:
            raise NotFound(f"No customer with id {customer_id}")
    lock_phones(session, [phone])
    return session.exec(
        select(Customer).where(Customer.phone == phone).execution_options(populate_existing=True)
    ).first()


def get_by_phone(session: Session, phone: str, region: Optional[str] = None) -> Optional[Customer]:
    """The customer with this phone, written in any format; None when unknown or not a phone."""
    if region is None:
        from core.messaging.texting import get_defaults

        region = get_defaults(session).default_region
    try:
        e164 = phones.normalize(phone, region)
    except phones.InvalidPhone:
        return None
    return session.exec(select(Customer).where(Customer.phone == e164)).first()


def create(
    session: Session,
    *,
    phone: str,
    source: Source | str,
    now: Optional[dt.datetime] = None,
    source_detail: str = "",
    region: str = "US",
    **details: Any,
) -> Customer:
    """A new customer, not opted in (no commit). The phone must be new."""
    now = as_utc(now)
    e164 = phones.normalize(phone, region)
    clean = validate_details(**details)
    customer = Customer(
        phone=e164,
        source=Source(source).value,
        source_detail=source_detail[:200],
        sms_status=SmsStatus.not_opted_in,
        created_at=now,
        updated_at=now,
        **clean,
    )
    session.add(customer)
    session.flush()
    return customer


def set_status(
    session: Session,
    customer: Customer,
    new_status: SmsStatus,
    *,
    channel: Channel,
    evidence: dict[str, Any],
    now: Optional[dt.datetime] = None,
    dedupe_key: Optional[str] = None,
) -> Optional[ConsentEvent]:
    """Change a status and append its consent event (no commit). None when nothing changes.

    Enforces: opt-out wins (only an SMS reply can lift it); opted in needs evidence.
    """
    now = as_utc(now)
    new_status = SmsStatus(new_status)
    old = SmsStatus(customer.sms_status)
    if old is new_status:
        return None
    if old is SmsStatus.opted_out and channel is not Channel.sms_reply:
        raise OptOutWins("This customer opted out; only the customer texting START can opt back in.")
    if new_status is SmsStatus.opted_in and not evidence:
        raise MissingEvidence("Opting in needs evidence: the customer's reply, a signed form or an attested import.")
    pending_since = customer.status_changed_at if old is SmsStatus.pending else None
    customer.sms_status = new_status
    customer.status_changed_at = now
    customer.updated_at = now
    session.add(customer)
    event = ConsentEvent(
        customer_id=customer.id,
        phone=customer.phone,
        old_status=old,
        new_status=new_status,
        occurred_at=now,
        channel=channel,
        evidence=evidence,
        dedupe_key=dedupe_key,
    )
    if pending_since is not None:  # denormalised for the reports' median time to confirm
        event.pending_seconds = max(0, int((now - pending_since).total_seconds()))
    event.customer_source = source_key(customer.source, customer.source_detail)  # reports: by source
    session.add(event)
    log.info(
        "consent: customer %s (%s) %s -> %s by %s",
        customer.id,
        redact(customer.phone),
        old.value,
        new_status.value,
        Channel(channel).value,
    )
    return event


def source_key(source: str, detail: str = "") -> str:
    """'pos_sync:Dutchie' for a named POS source, else the source word ('signup_form')."""
    source = Source(source).value if source else Source.dashboard.value
    if source == Source.pos_sync.value and detail:
        return f"{source}:{detail}"[:120]
    return source


def who(label_customer: Customer) -> str:
    """How the activity trail names a customer: their name, else the phone's last 4 digits."""
    return label_customer.name or redact(label_customer.phone)


def ledger(session: Session, customer_id: int) -> list[ConsentEvent]:
    """The customer's consent history, newest first."""
    return list(
        session.exec(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == customer_id)
            .order_by(col(ConsentEvent.occurred_at).desc(), col(ConsentEvent.id).desc())
        ).all()
    )


# --- Dashboard actions (the shop owner) ------------------------------------------------


def send_opt_in_request(
    session: Session,
    customer: Customer,
    *,
    channel: Channel,
    evidence: dict[str, Any],
    now: dt.datetime,
    bulk: bool = False,
    shop_number: Optional[str] = None,
    defaults=None,
    dedupe_key: Optional[str] = None,
    customer_asked: bool = False,
):
    """The one way an opt-in request goes out (dashboard, resend, inbox, sign-up; the importer's
    set-wise path applies the same rules): through the outbox's rules (§4: limits, 24 hours,
    quiet hours for bulk sends), and a customer not yet asked becomes pending with its consent
    event. `customer_asked`: the customer's own text or sign-up asked for it (it replaces a request
    still queued for the window). No commit; the caller holds the phone's lock (`locked`).
    Returns the logged message."""
    from core.messaging import outbox

    msg = outbox.send(
        session,
        customer=customer,
        kind=MessageKind.opt_in_request,
        now=now,
        bulk=bulk,
        shop_number=shop_number,
        defaults=defaults,
        dedupe_key=dedupe_key,
        customer_asked=customer_asked,
    )
    if msg.status is not MessageStatus.blocked and SmsStatus(customer.sms_status) is SmsStatus.not_opted_in:
        set_status(session, customer, SmsStatus.pending, channel=channel, evidence=evidence, now=now)
    return msg


def request_opt_in(
    session: Session, *, customer_id: int, now: Optional[dt.datetime] = None, by: Optional[Actor] = None
):
    """Send one opt-in request from the dashboard. Returns the logged message (sent or blocked)."""
    by = allow(session, by, "request_opt_in")
    given_now = None if now is None else as_utc(now)

    def work():
        customer = locked(session, customer_id=customer_id)
        if customer is None:
            raise NotFound(f"No customer with id {customer_id}")
        now = given_now or utcnow()  # read under the lock: the ledger's times follow its order
        msg = send_opt_in_request(
            session,
            customer,
            channel=Channel.dashboard,
            now=now,
            evidence={**by.evidence, "action": "sent an opt-in request"},
        )
        outcome = (
            "Sent"
            if msg.status is MessageStatus.sent
            else ("Queued" if msg.status is MessageStatus.queued else "Tried to send (blocked)")
        )
        activity.record(
            session,
            by,
            activity.Kind.consent,
            f"{outcome} an opt-in request to {who(customer)}",
            customer_id=customer.id,
            now=now,
        )
        session.flush()
        return msg

    return run_write(session, work)


def can_request_opt_in(session: Session, customer: Customer, now: Optional[dt.datetime] = None) -> str:
    """'' when the dashboard may send an opt-in request now, else why not."""
    from core.messaging import outbox, texting

    return outbox.refusal(customer, MessageKind.opt_in_request, texting.get_defaults(session), as_utc(now))


class InvalidOptOut(CustomerError):
    """An opt-out record the owner typed that cannot be saved; `field` names which input is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class OptOutRecorded:
    """What recording an opt-out did: the ledger event and the confirmation text (None when off)."""

    event: ConsentEvent
    confirmation: Optional[Message] = None
    deadline: Optional[dt.date] = None
    late: bool = False


MAX_BY = 100


def record_revocation(
    session: Session,
    *,
    customer_id: int,
    channel: Channel | str = Channel.dashboard,
    received_at: Optional[dt.datetime] = None,
    by: Optional[Actor | str] = None,
    reason: str = "",
    confirm: Optional[bool] = None,
    taken_by: str = "",
    now: Optional[dt.datetime] = None,
) -> OptOutRecorded:
    """The shop records an opt-out it received by any reasonable means (rulebook §10, extending §2): a
    phone call, an email, in person, a letter, a web page (or, as before, the dashboard with a reason).

    `by`: the signed-in person recording it (the role check "record_opt_out"; their name and id go into the
    evidence and the activity trail); a plain name (earlier callers, the console) is the shop itself under that
    name. `taken_by`: who received it when that was someone else (typed on Personas); it becomes the
    evidence's "by", with the person who entered it as "entered_by".

    The ledger's event keeps the channel, who recorded it (`by`) and when it was received (`received_at`,
    which may be earlier than now, never later), with the 10-business-day deadline counted from receipt
    in the shop's time zone (clock.business_deadline) and whether it was recorded after that deadline.
    `confirm` (None: the shop's setting "confirm_recorded_opt_outs", default on): one opt-out confirmation
    through the outbox, within 5 minutes and never outside the recipient's window (outbox.send,
    owner_recorded). Raises InvalidOptOut naming the input that is wrong; nothing is saved then."""
    from core.messaging import outbox, texting

    channel = Channel(channel)
    reason = _clean_text(reason)
    name = _clean_text(taken_by) or (_clean_text(by) if isinstance(by, str) else "")
    by = allow(session, by if isinstance(by, Actor) else None, "record_opt_out")
    if channel is Channel.dashboard and not reason:
        raise InvalidOptOut("reason", "Say why: a reason is required to record an opt-out.")
    if len(reason) > 500:
        raise InvalidOptOut("reason", "Keep the reason under 500 characters.")
    if len(name) > MAX_BY:
        raise InvalidOptOut("by", f"Keep the name of who recorded it under {MAX_BY} characters.")
    if channel not in OPT_OUT_CHANNELS and channel is not Channel.dashboard:
        raise InvalidOptOut("channel", "Pick how the customer asked: phone call, in person, email, letter or web page.")
    given_now = None if now is None else as_utc(now)
    given_received = None if received_at is None else as_utc(received_at)
    if given_received is not None and given_received > (given_now or utcnow()) + dt.timedelta(minutes=1):
        raise InvalidOptOut(
            "received_at",
            "The opt-out can't have been received in the future: check the date and time you received it.",
        )
    defaults = texting.get_defaults(session)

    def work() -> OptOutRecorded:
        customer = locked(session, customer_id=customer_id)
        if customer is None:
            raise NotFound(f"No customer with id {customer_id}")
        if customer.sms_status is SmsStatus.opted_out:
            raise CustomerError("This customer has already opted out.")
        now = given_now or utcnow()
        received = min(given_received or now, now)
        deadline = business_deadline(received, defaults.timezone)
        late = local_date(now, defaults.timezone) > deadline
        evidence: dict[str, Any] = dict(by.evidence)
        if name and name != by.name:
            evidence["by"] = name
            if by.id is not None:
                evidence["entered_by"] = by.name
        if reason:
            evidence["reason"] = reason
        if channel is not Channel.dashboard:
            evidence.update(
                received_at=received.isoformat(timespec="seconds"),
                recorded_at=now.isoformat(timespec="seconds"),
                deadline=deadline.isoformat(),
            )
            if late:
                evidence["late"] = True
        event = set_status(session, customer, SmsStatus.opted_out, channel=channel, evidence=evidence, now=now)
        how = [] if channel is Channel.dashboard else [channel.label.lower()]
        how += [f"reason: {reason}"] if reason else []
        how += [f"taken by {evidence['by']}"] if evidence.get("entered_by") else []
        activity.record(
            session,
            by,
            activity.Kind.consent,
            f"Recorded an opt-out for {who(customer)}" + (f" ({', '.join(how)})" if how else ""),
            customer_id=customer.id,
            now=now,
        )
        message = None
        if defaults.confirm_recorded_opt_outs if confirm is None else confirm:
            message = outbox.send(
                session,
                customer=customer,
                kind=MessageKind.opt_out_confirmation,
                now=now,
                defaults=defaults,
                confirming_opt_out=True,
                owner_recorded=True,
            )
        session.flush()
        return OptOutRecorded(event, message, deadline if channel is not Channel.dashboard else None, late)

    return run_write(session, work)


def record_opt_out(
    session: Session,
    *,
    customer_id: int,
    reason: str,
    by: Optional[Actor | str] = None,
    now: Optional[dt.datetime] = None,
    confirm: Optional[bool] = False,
) -> ConsentEvent:
    """The owner records an opt-out from the dashboard (e.g. asked in store). A reason is required.
    No confirmation text unless `confirm` (see record_revocation for the §10 form with channel and receipt)."""
    return record_revocation(
        session, customer_id=customer_id, reason=reason, by=by, now=now, channel=Channel.dashboard, confirm=confirm
    ).event


def update_details(session: Session, *, customer_id: int, by: Optional[Actor] = None, **details: Any) -> Customer:
    """Edit name, email, birthday, zip. The phone is not editable: a new number has no consent."""
    by = allow(session, by, "edit_customer")
    if "phone" in details:
        raise CustomerError("A changed phone is a new number without consent: add it as a new customer.")
    clean = validate_details(**details)

    def work():
        customer = locked(session, customer_id=customer_id)
        if customer is None:
            raise NotFound(f"No customer with id {customer_id}")
        changed = [k for k, v in clean.items() if getattr(customer, k) != v]
        for k, v in clean.items():
            setattr(customer, k, v)
        customer.updated_at = utcnow()
        session.add(customer)
        if changed:
            activity.record(
                session,
                by,
                activity.Kind.customer,
                f"Edited {who(customer)}'s details (" + ", ".join(k.replace("_", " ") for k in changed) + ")",
                customer_id=customer.id,
            )
        return customer

    return run_write(session, work)


def add_customer(
    session: Session, *, phone: str, now: Optional[dt.datetime] = None, by: Optional[Actor] = None, **details: Any
) -> Customer:
    """The shop adds a customer by hand (source: dashboard), not opted in."""
    from core.messaging.texting import get_defaults

    by = allow(session, by, "add_customer")
    region = get_defaults(session).default_region
    e164 = phones.normalize_mobile(phone, region)  # NotAMobile for premium-rate, toll-free, ...
    validate_details(**details)  # every problem shown before anything is written

    def work():
        if locked(session, phone=e164) is not None:
            raise CustomerError(f"{phones.format_display(e164, region)} is already a customer.")
        customer = create(session, phone=e164, source=Source.dashboard, now=now, region=region, **details)
        activity.record(
            session,
            by,
            activity.Kind.customer,
            f"Added {who(customer)} as a customer",
            customer_id=customer.id,
            now=now,
        )
        return customer

    return run_write(session, work)
