"""The age gate (rulebook §11): a shop that sells to adults takes consent only with a verified adult
date of birth.

One shop-wide setting (Setting "min_age": 0 = off, 18 or 21). Shop-wide, not per form: Text To Join has
no form, and the audiences' rule ("never a customer whose age was not verified when the shop requires
it") needs one answer per shop. Every form asks for the date of birth while it is on.

What is kept
  * An adult: the customer's `verified_birth_date` and `age_verified_at` (the owner cannot edit them),
    and the opt-in's consent event carries `age_check` in its evidence: the minimum age, the date of
    birth as the customer stated it, their age that day and how it was given. The stated date is kept
    (not only "verified: yes") because an auditor can re-check a date, not a yes.
  * Under age: nothing about the person. A form counts one refusal on the form (SignupForm.age_refusals);
    a text counts one in Setting "age_refusals_text" and the texts of that attempt (the phone's texts
    while it is not a customer) are deleted.

Pure helpers first (parse, age, the Text To Join step), then the few services.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import and_, true
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, func, select

from core import activity
from core.clock import as_utc
from core.db import lock_for_write, run_write
from core.models import Customer, Direction, Message, MessageKind, MessageStatus, Setting, SignupForm
from core.staff.roles import Actor, allow
from core.text import clean_text

SETTING_KEY = "min_age"
TEXT_REFUSALS_KEY = "age_refusals_text"
CHOICES = (0, 18, 21)  # off, 18+, 21+
CHOICE_LABELS = {0: "Off", 18: "18 or older", 21: "21 or older"}
OLDEST = 120  # years: an older date of birth is a typo
TEXT_FORMAT = "MM/DD/YYYY"
QUESTION_WINDOW = dt.timedelta(hours=24)  # a date texted within this of our question answers it
MAX_QUESTIONS = 3  # per phone in that window: then the texts are logged only (no loop of replies)

_DATE_RE = re.compile(r"^\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{4})\s*$")
_ISO_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


class AgeError(ValueError):
    """A date of birth or an age-gate setting that cannot be used; the message says why."""


class InvalidBirthDate(AgeError):
    pass


# --- Pure ---------------------------------------------------------------------------------------


def looks_like_date(text: Any) -> bool:
    """Whether a text is written as a date (MM/DD/YYYY or YYYY-MM-DD), real or not."""
    t = clean_text(text)
    return bool(_DATE_RE.match(t) or _ISO_RE.match(t))


def parse_birth_date(value: Any, *, today: dt.date) -> dt.date:
    """A real, plausible date of birth from 07/14/1990, 7-14-1990 or 1990-07-14 (or a date).

    InvalidBirthDate for 02/31/1990 (no such day), a date in the future, or more than 120 years ago."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        born = value
    else:
        text = clean_text(value)
        if not text:
            raise InvalidBirthDate("Type your date of birth, like 07/14/1990.")
        m = _DATE_RE.match(text)
        iso = _ISO_RE.match(text)
        if m:
            month, day, year = (int(g) for g in m.groups())
        elif iso:
            year, month, day = (int(g) for g in iso.groups())
        else:
            raise InvalidBirthDate(f"Write your date of birth as {TEXT_FORMAT}, like 07/14/1990.")
        try:
            born = dt.date(year, month, day)
        except ValueError:
            raise InvalidBirthDate(f"{text} isn't a real date: check the day and the month ({TEXT_FORMAT}).") from None
    if born > today:
        raise InvalidBirthDate("Your date of birth can't be in the future: check the year.")
    if age_on(born, today) > OLDEST:
        raise InvalidBirthDate(f"That's more than {OLDEST} years ago: check the year.")
    return born


def age_on(born: dt.date, today: dt.date) -> int:
    """Whole years from `born` to `today` (a 29 February birthday has its birthday on 1 March)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def latest_adult_birth_date(min_age: int, today: dt.date) -> dt.date:
    """The latest date of birth that is `min_age` or older on `today`."""
    try:
        return today.replace(year=today.year - min_age)
    except ValueError:  # 29 February, and that year has none
        return today.replace(year=today.year - min_age, day=28)


@dataclass(frozen=True)
class AgeCheck:
    born: dt.date
    min_age: int
    age: int
    checked_at: dt.datetime
    method: str  # "signup_form" | "text"

    @property
    def adult(self) -> bool:
        return self.age >= self.min_age

    def evidence(self) -> dict[str, Any]:
        """What the consent event keeps (rulebook §11): the check, with the date as the customer stated it."""
        return {
            "minimum_age": self.min_age,
            "date_of_birth": self.born.isoformat(),
            "age_at_check": self.age,
            "checked_at": self.checked_at.isoformat(sep=" ", timespec="seconds"),
            "method": self.method,
            "verified": self.adult,
        }


def check(born: dt.date, *, min_age: int, now: dt.datetime, method: str) -> AgeCheck:
    now = as_utc(now)
    return AgeCheck(born=born, min_age=min_age, age=age_on(born, now.date()), checked_at=now, method=method)


def verified_for(customer: Optional[Customer], min_age: int, today: dt.date) -> bool:
    """Whether the customer's verified date of birth makes them `min_age` or older today (True when off)."""
    if not min_age:
        return True
    born = getattr(customer, "verified_birth_date", None) if customer is not None else None
    return born is not None and born <= latest_adult_birth_date(min_age, today)


def describe(evidence: dict[str, Any]) -> str:
    """'age checked: 21+ (born 1990-07-14, 35 that day)' for the history and the proof of consent."""
    ac = evidence.get("age_check") if isinstance(evidence, dict) else None
    if not isinstance(ac, dict):
        return ""
    if ac.get("age_at_check") is None:
        return f"age verified: {ac.get('minimum_age')}+ (born {ac.get('date_of_birth')})"
    return f"age checked: {ac.get('minimum_age')}+ (born {ac.get('date_of_birth')}, {ac.get('age_at_check')} that day)"


# --- The setting --------------------------------------------------------------------------------


def min_age(session: Session) -> int:
    """The shop's minimum age for consent: 0 (off), 18 or 21."""
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        return 0
    try:
        value = int(row.value or 0)
    except ValueError:
        return 0
    return value if value in CHOICES else 0


def set_min_age(session: Session, value: Any, *, by: Optional[Actor] = None) -> int:
    """Turn the age gate off (0) or require 18 or 21, as `by` (roles: "age_gate"). Commits."""
    by = allow(session, by, "age_gate")
    try:
        value = int(value or 0)
    except (TypeError, ValueError):
        raise AgeError("Choose Off, 18 or older, or 21 or older.") from None
    if value not in CHOICES:
        raise AgeError("Choose Off, 18 or older, or 21 or older.")

    def work() -> int:
        lock_for_write(session, "setting-min-age")
        row = session.get(Setting, SETTING_KEY)
        before = row.value if row is not None else "0"
        if row is None:
            session.add(Setting(key=SETTING_KEY, value=str(value)))
        else:
            row.value = str(value)
            session.add(row)
        if str(before or "0") != str(value):
            activity.record(
                session, by, activity.Kind.settings, f"Set the age gate to {f'{value} or older' if value else 'off'}"
            )
        return value

    return run_write(session, work)


# --- Audiences and exports ---------------------------------------------------------------------


def audience_clause(session: Session, today: Optional[dt.date] = None):
    """The condition every audience and export adds: with the gate on, only customers whose verified
    date of birth makes them old enough today."""
    required = min_age(session)
    if not required:
        return true()
    today = today or as_utc(None).date()
    return and_(
        Customer.verified_birth_date.is_not(None),
        Customer.verified_birth_date <= latest_adult_birth_date(required, today),
    )


def unverified_count(session: Session, today: Optional[dt.date] = None) -> int:
    """Customers an audience leaves out because their age is not verified (0 when the gate is off)."""
    if not min_age(session):
        return 0
    total = session.exec(select(func.count()).select_from(Customer)).one()
    kept = session.exec(select(func.count()).select_from(Customer).where(audience_clause(session, today))).one()
    return int(total) - int(kept)


# --- Recording --------------------------------------------------------------------------------------


def record_verified(session: Session, customer: Customer, result: AgeCheck) -> None:
    """Keep the verified date of birth on the customer (no commit; the caller holds the phone's lock)."""
    customer.verified_birth_date = result.born
    customer.age_verified_at = result.checked_at
    if not customer.birthday:
        customer.birthday = result.born
    customer.updated_at = result.checked_at
    session.add(customer)


def count_form_refusal(session: Session, form_id: int) -> None:
    """An under-age sign-up: one more on the form's count, nothing else (no commit)."""
    session.execute(
        sa_update(SignupForm).where(col(SignupForm.id) == form_id).values(age_refusals=SignupForm.age_refusals + 1)
    )


def count_text_refusal(session: Session, phone: str) -> None:
    """An under-age Text To Join: one more on the count, and the phone's texts while it is not a
    customer (the join request, our question, the date) are deleted (no commit)."""
    lock_for_write(session, TEXT_REFUSALS_KEY)
    row = session.get(Setting, TEXT_REFUSALS_KEY)
    if row is None:
        session.add(Setting(key=TEXT_REFUSALS_KEY, value="1"))
    else:
        row.value = str(int(row.value or 0) + 1)
        session.add(row)
    session.execute(sa_delete(Message).where(col(Message.phone) == phone, col(Message.customer_id).is_(None)))


def text_refusals(session: Session) -> int:
    row = session.get(Setting, TEXT_REFUSALS_KEY)
    return int(row.value or 0) if row is not None else 0


def form_refusals(session: Session) -> list[tuple[str, int]]:
    """(form name, refusals) for every form, most first."""
    rows = session.exec(
        select(SignupForm.name, SignupForm.age_refusals).order_by(col(SignupForm.age_refusals).desc(), SignupForm.name)
    ).all()
    return [(name, int(n or 0)) for name, n in rows]


# --- Text To Join: the birth-date question -------------------------------------------------------------


def question_text(brand: str, required: int) -> str:
    return (
        f"{brand}: to join our texts you must be {required} or older. Reply with your date of birth "
        f"({TEXT_FORMAT}). Reply HELP for help, STOP to opt out."
    )


def retry_text(brand: str, problem: str) -> str:
    return f"{brand}: {problem} Reply with your date of birth ({TEXT_FORMAT}), e.g. 07/14/1990."


def refusal_text(brand: str, required: int) -> str:
    return (
        f"{brand}: sorry, our texts are only for customers {required} or older, so we can't sign you up. "
        "We haven't kept your details."
    )


def questions_asked(session: Session, phone: str, now: dt.datetime) -> int:
    """Birth-date questions sent to this phone in the last 24 hours."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Message)
            .where(
                Message.phone == phone,
                Message.kind == MessageKind.age_question,
                col(Message.created_at) >= now - QUESTION_WINDOW,
            )
        ).one()
    )


def reply(
    session: Session,
    *,
    phone: str,
    customer_id: Optional[int],
    body: str,
    kind: MessageKind,
    shop_number: str,
    now: dt.datetime,
    keep: bool = True,
) -> Message:
    """An immediate reply to the customer's own text (the question or the refusal). Logged unless `keep`
    is False (the refusal to an under-age texter: nothing about them is kept)."""
    from core.messaging.segments import count as count_segments

    seg = count_segments(body)
    msg = Message(
        customer_id=customer_id,
        phone=phone,
        shop_number=shop_number,
        direction=Direction.outbound,
        body=body,
        kind=kind,
        status=MessageStatus.sent,
        encoding=seg.encoding,
        segments=seg.segments,
        created_at=now,
        sent_at=now,
    )
    if keep:
        session.add(msg)
    return msg


@dataclass(frozen=True)
class JoinStep:
    """What a join request does while the age gate is on (pure: see `join_step`)."""

    action: str  # "ask" | "retry" | "adult" | "refuse" | "quiet" (logged only: too many questions)
    born: Optional[dt.date] = None
    problem: str = ""


def join_step(body: str, *, asked: int, today: dt.date, required: int) -> JoinStep:
    """A join request from a phone whose age is not verified: the text is a date of birth (adult or not,
    or not a real date: ask again) or anything else (ask for it). At most MAX_QUESTIONS questions a day."""
    if looks_like_date(body):
        try:
            born = parse_birth_date(body, today=today)
        except InvalidBirthDate as exc:
            return JoinStep("retry" if asked < MAX_QUESTIONS else "quiet", problem=str(exc))
        return JoinStep("adult" if age_on(born, today) >= required else "refuse", born=born)
    return JoinStep("ask" if asked < MAX_QUESTIONS else "quiet")


def gated(
    transition, *, body: str, status, customer: Optional[Customer], required: int, asked_recently: int, today: dt.date
) -> bool:
    """Whether the age gate takes this inbound text: the gate is on, the phone's age is not verified, and
    the text would give consent (a join request, YES or START) or answers our birth-date question."""
    from core.models import SmsStatus

    if not required or verified_for(customer, required, today):
        return False
    gives_consent = transition.join_request or transition.new_status in (SmsStatus.opted_in, SmsStatus.pending)
    answers = asked_recently > 0 and looks_like_date(body) and status is not SmsStatus.opted_in
    return bool(gives_consent or answers)


def confirmed_text(brand: str, opted_out: bool) -> str:
    if opted_out:
        return f"{brand}: thanks, your date of birth is confirmed. Text START again to rejoin our texts."
    return f"{brand}: thanks, your date of birth is confirmed. Reply YES to the text we sent you to join."


def text_to_join(
    session: Session,
    *,
    customer: Optional[Customer],
    phone: str,
    body: str,
    inbound: Message,
    which: str,
    shop_number: str,
    defaults,
    now: dt.datetime,
    required: int,
    asked: int,
) -> list[Message]:
    """A consent-giving text from a phone whose age is not verified (inside receive's transaction, under
    the phone's lock; `inbound` is logged). Returns the replies, saved or not (an under-age refusal is
    sent but not kept)."""
    from core.consent import customers
    from core.models import Channel, SmsStatus, Source

    step = join_step(body, asked=asked, today=now.date(), required=required)
    brand = defaults.brand
    cid = customer.id if customer is not None else None
    if step.action == "quiet":
        return []
    if step.action in ("ask", "retry"):
        text = question_text(brand, required) if step.action == "ask" else retry_text(brand, step.problem)
        return [
            reply(
                session,
                phone=phone,
                customer_id=cid,
                body=text,
                kind=MessageKind.age_question,
                shop_number=shop_number,
                now=now,
            )
        ]
    if step.action == "refuse":
        if customer is None:
            count_text_refusal(session, phone)
        else:  # a customer already (an import, a POS sync): their record stays, the date they typed does not
            count_text_refusal(session, phone)
            inbound.body = "(date of birth withheld: under the minimum age)"
            session.add(inbound)
        return [
            reply(
                session,
                phone=phone,
                customer_id=cid,
                body=refusal_text(brand, required),
                kind=MessageKind.age_refusal,
                shop_number=shop_number,
                now=now,
                keep=customer is not None,
            )
        ]
    # an adult: the customer (new ones are created now), the verified date, then the opt-in request
    from core.consent import suppression

    result = check(step.born, min_age=required, now=now, method="text")
    lifted = suppression.lift(session, phone, how="their own text", now=now)  # their own join request (§11)
    if customer is None:
        customer = customers.create(
            session,
            phone=phone,
            region=defaults.default_region,
            now=now,
            source=Source.text_to_join if which == "join" else Source.inbound_sms,
            source_detail=shop_number,
        )
        session.execute(
            sa_update(Message)
            .where(col(Message.phone) == phone, col(Message.customer_id).is_(None))
            .values(customer_id=customer.id)
        )
        inbound.customer_id = customer.id
    record_verified(session, customer, result)
    status = SmsStatus(customer.sms_status)
    if status is SmsStatus.opted_out:
        return [
            reply(
                session,
                phone=phone,
                customer_id=customer.id,
                body=confirmed_text(brand, True),
                kind=MessageKind.age_question,
                shop_number=shop_number,
                now=now,
            )
        ]
    evidence = {"inbound_text": body, "message_id": inbound.id, "to": shop_number, "age_check": result.evidence()}
    if lifted:
        evidence["suppression_lifted"] = lifted
    channel = Channel.text_to_join if which == "join" else Channel.sms_reply
    msg = customers.send_opt_in_request(
        session,
        customer,
        channel=channel,
        evidence=evidence,
        now=now,
        shop_number=shop_number,
        defaults=defaults,
        customer_asked=True,
    )
    out = [msg]
    if msg.status is MessageStatus.blocked and status is SmsStatus.pending:
        out.append(
            reply(
                session,
                phone=phone,
                customer_id=customer.id,
                body=confirmed_text(brand, False),
                kind=MessageKind.age_question,
                shop_number=shop_number,
                now=now,
            )
        )
    return out


def evidence_of(customer: Optional[Customer], required: int) -> dict[str, Any]:
    """{"age_check": ...} from a verified customer's record, for the consent events of their later texts
    (YES, START) while the gate is on; {} otherwise."""
    if not required or customer is None or customer.verified_birth_date is None:
        return {}
    at = customer.age_verified_at
    return {
        "age_check": {
            "minimum_age": required,
            "date_of_birth": customer.verified_birth_date.isoformat(),
            "verified_at": at.isoformat(sep=" ", timespec="seconds") if at else "",
            "verified": True,
        }
    }


# --- Sign-up forms ----------------------------------------------------------------------------------


def form_modes(modes: dict[str, str], required: int) -> dict[str, str]:
    """A form's field modes with the gate on: the birthday is asked, and required, on every form."""
    if not required:
        return modes
    return {**modes, "birthday": "required"}


def form_note(required: int) -> str:
    """What the public form says above its fields while the gate is on."""
    return f"You must be {required} or older to join. We ask for your date of birth to check." if required else ""
