"""Submitting a sign-up form (rulebook §6): validate, save the customer, act on consent.

`submit` checks every field first and writes nothing while one is wrong
(InvalidSubmission names each field). A valid submission is one transaction:
the customer (the same phone is always the same customer), the FormSubmission,
the consent event when the status changes, and the one text §6 allows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping, Optional

from sqlalchemy import update as sa_update
from sqlmodel import Session, col

from core.consent import age, customers, suppression
from core.signups import forms, signup_limits
from core import names, phones
from core.messaging import texting
from core.messaging import outbox
from core.clock import as_utc
from core.db import lock_for_write, run_write
from core.models import (
    Channel,
    Customer,
    FormSubmission,
    Message,
    MessageKind,
    MessageStatus,
    SignupForm,
    SmsStatus,
    Source,
    utcnow,
)
from core.text import MAX_EMAIL, clean_text, valid_email
from core.errors import OwnerError

MAX_LENGTHS = {
    "first_name": customers.MAX_NAME,
    "last_name": customers.MAX_NAME,
    "phone": phones.MAX_INPUT_LENGTH,
    "email": MAX_EMAIL,
    "birthday": 20,
    "zip": 10,
    "signature": 200,
}
_PHONE_CHARS = re.compile(r"^[0-9+().\-\s]*$")
_MARKUP = re.compile(r"[<>]")
_DATE_FORMATS = ("%m/%d/%Y", "%m-%d-%Y", "%Y-%m-%d", "%m/%d/%y", "%m.%d.%Y")


class Outcome(str, Enum):
    """What a submission did, each with the sentence the customer sees (§6)."""

    check_phone = "check_phone"  # double opt-in: pending, opt-in request sent
    already_requested = "already_requested"  # double opt-in, but the request limits say no new text
    subscribed = "subscribed"  # auto opt-in: opted in, post opt-in confirmation sent
    already_subscribed = "already_subscribed"  # was opted in: no text
    text_start = "text_start"  # was opted out: no text; text START to rejoin
    thank_you = "thank_you"  # no SMS consent asked (or both toggles off): no text
    under_age = "under_age"  # the age gate refused: nothing stored but a count (§11)


@dataclass
class SignupResult:
    outcome: Outcome
    sentence: str
    form_slug: str
    customer_id: Optional[int] = None
    submission_id: Optional[int] = None
    message_id: Optional[int] = None  # the text sent (or blocked) in reply, if any
    status: Optional[SmsStatus] = None  # the customer's status afterwards

    @property
    def headline(self) -> str:
        return HEADLINES[self.outcome]


HEADLINES = {
    Outcome.check_phone: "Check your phone",
    Outcome.already_requested: "Check your texts",
    Outcome.subscribed: "You're subscribed!",
    Outcome.already_subscribed: "You're already subscribed",
    Outcome.text_start: "Text START to rejoin",
    Outcome.thank_you: "Thank you!",
    Outcome.under_age: "Sorry, we can't sign you up",
}


def sentence(outcome: Outcome, *, brand: str, shop_number: str = "", region: str = "US", min_age: int = 0) -> str:
    number = phones.format_display(shop_number, region) if shop_number else "our number"
    return {
        Outcome.under_age: (
            f"Texts from {brand} are only for customers {min_age} or older, so we can't sign you up. "
            "We haven't kept any of your details."
        ),
        Outcome.check_phone: f"Almost done! We just texted you: reply Y to confirm you want texts from {brand}.",
        Outcome.already_requested: (
            f"We already sent you a request — reply Y to it to confirm you want texts from {brand}."
        ),
        Outcome.subscribed: f"You're subscribed to texts from {brand}. We just sent you a welcome text.",
        Outcome.already_subscribed: f"You're already subscribed to texts from {brand}, so there's nothing more "
        f"to do. Thanks!",
        Outcome.text_start: (
            f"You opted out of texts from {brand} earlier. To rejoin, text START to {number} from this phone."
        ),
        Outcome.thank_you: f"Thank you! {brand} has your details.",
    }[outcome]


class InvalidSubmission(OwnerError):
    """One or more fields are wrong; `errors` maps each field to its message. Nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Please check: " + " ".join(errors.values()), errors=errors)


# --- Validation (pure) --------------------------------------------------------------------


def parse_birthday(value: Any) -> Optional[dt.date]:
    """A real date from 07/14/1990, 1990-07-14 (and a few more); None when it is not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = clean_text(value)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def validate(
    form: SignupForm, answers: Mapping[str, Any], *, region: str, today: dt.date, min_age: int = 0
) -> dict[str, Any]:
    """The cleaned answers for the form's visible fields; InvalidSubmission lists every problem.
    `min_age`: the shop's age gate (§11): the birthday is then required and must be a plausible date of birth."""
    modes = age.form_modes(forms.field_modes(form), min_age)
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, label in forms.FIELDS.items():
        mode = modes[key]
        if mode == forms.HIDDEN:
            continue
        raw = answers.get(key)
        if key == "birthday" and isinstance(raw, (dt.date, dt.datetime)):
            text = raw.isoformat()[:10]
        else:
            text = clean_text(raw)
        if not text:
            if mode == forms.REQUIRED:
                errors[key] = f"{label} is required."
            continue
        limit = MAX_LENGTHS[key]
        if len(text) > limit:
            errors[key] = f"{label} is too long ({len(text):,} characters; at most {limit})."
            continue
        if key in ("first_name", "last_name"):
            problem = names.message(label, text)  # the same rule as Add a customer and imports
            if problem:
                errors[key] = problem
                continue
        elif _MARKUP.search(text) and key not in ("phone", "birthday"):
            errors[key] = f"{label} can't contain < or > — type plain text, please."
            continue
        if key == "phone":
            if not _PHONE_CHARS.match(text):
                errors[key] = "A phone number has only digits (and + ( ) - spaces) — no letters."
                continue
            try:
                clean[key] = phones.normalize_mobile(text, region)
            except phones.NotAMobile as exc:
                errors[key] = exc.sentence
            except phones.InvalidPhone as exc:
                errors[key] = f"That isn't a mobile number we can text: {exc.reason}."
        elif key == "email":
            if not valid_email(text):
                errors[key] = "That doesn't look like an email address (name@example.com)."
            else:
                clean[key] = text.lower()
        elif key == "birthday" and min_age:
            try:
                clean[key] = age.parse_birth_date(raw if isinstance(raw, (dt.date, dt.datetime)) else text, today=today)
            except age.InvalidBirthDate as exc:
                errors[key] = str(exc)
        elif key == "birthday":
            day = parse_birthday(raw if isinstance(raw, (dt.date, dt.datetime)) else text)
            if day is None:
                errors[key] = "That isn't a real date — write it like 07/14/1990."
            elif not (dt.date(1900, 1, 1) <= day <= today):
                errors[key] = "Your birthday must be a date in the past."
            else:
                clean[key] = day
        elif key == "zip":
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 \-]{1,9}", text):
                errors[key] = "Zip code should be 5 digits (or ZIP+4)."
            else:
                clean[key] = text.upper()
        else:
            clean[key] = text
    if form.collects_sms and "phone" not in clean and "phone" not in errors:
        errors["phone"] = f"{forms.FIELDS['phone']} is required."
    if errors:
        raise InvalidSubmission({k: errors[k] for k in forms.FIELDS if k in errors})
    return clean


# --- Submitting -----------------------------------------------------------------------


def _fill_blanks(customer: Customer, clean: dict[str, Any], now: dt.datetime) -> None:
    """A returning customer's blank details are filled in; what they had stays."""
    changed = False
    for key in ("first_name", "last_name", "email", "zip", "birthday"):
        value = clean.get(key)
        if value and not getattr(customer, key):
            setattr(customer, key, value)
            changed = True
    if changed:
        customer.updated_at = now


def _answers_record(clean: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in clean.items()}


def submit(
    session: Session,
    *,
    form_slug: Optional[str],
    answers: Mapping[str, Any],
    now: Optional[dt.datetime] = None,
    client_address: Optional[str] = None,
) -> SignupResult:
    """Validate and record one submission of the form at `form_slug` (the main form when empty).

    `client_address` is the visitor's IP address (None when unknown: all such visitors count as one).
    Raises forms.FormNotFound, InvalidSubmission or signup_limits.TooManySignups before anything is
    written.
    """
    given_now = None if now is None else as_utc(now)
    now = given_now or utcnow()
    form = forms.get_by_slug(session, form_slug)
    defaults = texting.get_defaults(session)
    region = defaults.default_region
    required = age.min_age(session)
    clean = validate(form, answers or {}, region=region, today=now.date(), min_age=required)
    form_id = form.id
    e164: Optional[str] = clean.get("phone")
    age_check = age.check(clean["birthday"], min_age=required, now=now, method="signup_form") if required else None
    if age_check is not None and not age_check.adult:  # nothing stored but the form's count (§11)
        run_write(session, lambda: age.count_form_refusal(session, form_id))
        return SignupResult(
            outcome=Outcome.under_age,
            form_slug=form.slug,
            sentence=sentence(Outcome.under_age, brand=defaults.brand, min_age=required),
        )

    def work() -> SignupResult:
        # the limits first, under their own lock: counting and recording one sign-up is one step
        lock_for_write(session, signup_limits.LOCK_KEY)
        customer: Optional[Customer] = None
        if e164:
            customer = customers.locked(session, phone=e164)  # the phone's consent lock, fresh row
        else:
            lock_for_write(session, f"form-{form_id}")
        now = given_now or utcnow()  # read under the lock: the ledger's times follow its order
        signup_limits.count(session, form_id=form_id, client_address=client_address, phone=e164, now=now)
        live = forms.get(session, form_id)
        session.refresh(live)
        lifted = suppression.lift(session, e164, how="their own sign-up", now=now) if e164 else None
        if e164:
            if customer is None:
                details = {k: clean[k] for k in ("first_name", "last_name", "email", "birthday", "zip") if k in clean}
                customer = customers.create(
                    session,
                    phone=e164,
                    source=Source.signup_form,
                    now=now,
                    source_detail=live.slug,
                    region=region,
                    **details,
                )
            else:
                _fill_blanks(customer, clean, now)
                session.add(customer)
            if age_check is not None:
                age.record_verified(session, customer, age_check)

        submission = FormSubmission(
            form_id=live.id,
            customer_id=customer.id if customer else None,
            disclosure_version=live.disclosure_version,
            outcome=Outcome.thank_you.value,
            submitted_at=now,
            answers=_answers_record(clean),
        )
        session.add(submission)
        session.flush()
        evidence = {
            "form": live.name,
            "form_slug": live.slug,
            "disclosure_version": live.disclosure_version,
            "disclosure": live.disclosure,
            "signature": clean.get("signature", ""),
            "submitted_at": now.isoformat(sep=" ", timespec="seconds"),
            "submission_id": submission.id,
        }
        if age_check is not None:
            evidence["age_check"] = age_check.evidence()
        if lifted:
            evidence["suppression_lifted"] = lifted

        outcome = Outcome.thank_you
        message: Optional[Message] = None
        status = SmsStatus(customer.sms_status) if customer else None
        if customer is not None and live.collects_sms:
            if status is SmsStatus.opted_out:
                outcome = Outcome.text_start  # opt-out wins: no text, only START lifts it
            elif status is SmsStatus.opted_in:
                outcome = Outcome.already_subscribed
            elif live.double_opt_in:
                message = customers.send_opt_in_request(
                    session,
                    customer,
                    channel=Channel.signup_form,
                    evidence=evidence,
                    now=now,
                    defaults=defaults,
                    customer_asked=True,
                )
                outcome = Outcome.already_requested if message.status is MessageStatus.blocked else Outcome.check_phone
            elif live.auto_opt_in:
                customers.set_status(
                    session, customer, SmsStatus.opted_in, channel=Channel.signup_form, evidence=evidence, now=now
                )
                message = outbox.send(
                    session,
                    customer=customer,
                    kind=MessageKind.opt_in_confirmation,
                    now=now,
                    bulk=False,
                    defaults=defaults,
                )
                outcome = Outcome.subscribed
            # both off: saved as not opted in, no text (thank_you)

        submission.outcome = outcome.value
        session.add(submission)
        session.execute(
            sa_update(SignupForm).where(col(SignupForm.id) == live.id).values(submissions=SignupForm.submissions + 1)
        )
        session.flush()
        return SignupResult(
            outcome=outcome,
            sentence=sentence(outcome, brand=defaults.brand, shop_number=defaults.main_number, region=region),
            form_slug=live.slug,
            customer_id=customer.id if customer else None,
            submission_id=submission.id,
            message_id=message.id if message is not None else None,
            status=SmsStatus(customer.sms_status) if customer else None,
        )

    result = run_write(session, work)
    session.expire_all()
    return result
