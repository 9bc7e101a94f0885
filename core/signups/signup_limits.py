"""Sign-up limits: how many public sign-ups are accepted in a rolling hour (issue 11: the public
sign-up form must not be an SMS pump).

Three limits, each a shop setting the owner can change (Settings > Sign-up Forms > Sign-up limits):

- per device (client address): 5. A person, or a family signing up together, needs a few; a script
  needs hundreds. A shared tablet in the shop counts as one device: the owner raises this for it.
- per phone number: 3. Someone who mistyped a detail may send the form again; more than that in an
  hour is someone else signing the number up (the texts themselves are limited by the opt-in request
  rules as well: at most 2 per phone, never two within 24 hours).
- per form: 100. A small shop's busiest hour (a promotion, an event with a QR code) stays under it,
  while someone using many addresses can cost at most 100 texts an hour per form.

Counted in the database, so several app replicas share them; `count` runs inside the sign-up's write
transaction, after `lock_for_write(session, LOCK_KEY)`, so parallel sign-ups cannot overshoot.
Only accepted sign-ups count; a refused one stores nothing. Keys are hashes, kept for an hour.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Optional

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from core.db import run_write
from core.models import Setting, SignupAttempt
from core.errors import OwnerError
from core import activity
from core.staff.roles import Actor, allow

SETTING_KEY = "signup_limits"
LOCK_KEY = "signup-limits"  # one advisory lock for every sign-up's count (PostgreSQL)
WINDOW = dt.timedelta(hours=1)
UNKNOWN_CLIENT = "unknown"  # no client address (local use, tests): all such sign-ups are one client

FIELDS = ("per_client", "per_phone", "per_form")
LABELS = {
    "per_client": "Sign-ups per device per hour",
    "per_phone": "Sign-ups per phone number per hour",
    "per_form": "Sign-ups per form per hour",
}
MAXIMUMS = {"per_client": 1_000, "per_phone": 20, "per_form": 10_000}


@dataclass(frozen=True)
class Limits:
    per_client: int = 5
    per_phone: int = 3
    per_form: int = 100


DEFAULTS = Limits()

#: What the customer reads when a limit is reached (the public page shows it; nothing was saved).
MESSAGES = {
    "per_client": "Too many sign-ups from this device in the last hour. Please try again later.",
    "per_phone": "This phone number has been signed up several times in the last hour. Please try again later.",
    "per_form": "This sign-up form is very busy right now. Please try again later.",
}


class InvalidLimits(OwnerError):
    """Limits the owner typed that cannot be saved; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors=errors)


class TooManySignups(OwnerError):
    """A sign-up past one of the limits; `limit` names which, `message` is what the customer reads."""

    def __init__(self, limit: str):
        self.limit = limit
        self.message = MESSAGES[limit]
        super().__init__(self.message)


def get_limits(session: Session) -> Limits:
    """The shop's limits (the defaults for any not set)."""
    row = session.get(Setting, SETTING_KEY)
    values: dict[str, Any] = {}
    if row is not None:
        try:
            stored = json.loads(row.value or "{}")
        except ValueError:
            stored = {}
        if isinstance(stored, dict):
            for field in FIELDS:
                value = stored.get(field)
                if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAXIMUMS[field]:
                    values[field] = value
    return Limits(**{**asdict(DEFAULTS), **values})


def validate(**values: Any) -> Limits:
    """Whole numbers from 1 to each maximum; InvalidLimits names every field that is wrong."""
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for field in FIELDS:
        value = values.get(field)
        top = MAXIMUMS[field]
        number: Optional[int] = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        if number is None or not 1 <= number <= top:
            errors[field] = f"{LABELS[field]}: enter a whole number from 1 to {top:,}."
        else:
            clean[field] = number
    if errors:
        raise InvalidLimits(errors)
    return Limits(**clean)


def save_limits(session: Session, *, by: Optional[Actor] = None, **values: Any) -> Limits:
    """Validate and save the three limits together (nothing is saved if one is wrong)."""
    by = allow(session, by, "change_signup_limits")
    limits = validate(**values)

    def write() -> None:
        row = session.get(Setting, SETTING_KEY) or Setting(key=SETTING_KEY)
        row.value = json.dumps(asdict(limits))
        session.add(row)
        activity.record(
            session,
            by,
            activity.Kind.form,
            "Changed the sign-up limits: " + ", ".join(f"{LABELS.get(k, k)} {v}" for k, v in asdict(limits).items()),
        )

    run_write(session, write)
    return get_limits(session)


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode("utf-8", "replace")).hexdigest()[:32]


def client_key(address: Optional[str]) -> str:
    """The hashed client address; anything but a non-blank string (None, or AppTest's stand-in object) is
    the one "unknown" client."""
    text = address.strip() if isinstance(address, str) else ""
    return _key("client", text or UNKNOWN_CLIENT)


def count(
    session: Session, *, form_id: int, client_address: Optional[str], phone: Optional[str], now: dt.datetime
) -> None:
    """Count one sign-up against the limits, or raise TooManySignups (writing nothing).

    Call inside the sign-up's write transaction, after lock_for_write(session, LOCK_KEY): the counts
    and the new row are then one step no other sign-up can interleave with."""
    limits = get_limits(session)
    since = now - WINDOW
    ckey = client_key(client_address)
    pkey = _key("phone", phone) if phone else ""

    def recent(*where) -> int:
        return session.exec(
            select(func.count()).select_from(SignupAttempt).where(col(SignupAttempt.at) > since, *where)
        ).one()

    if recent(SignupAttempt.client_key == ckey) >= limits.per_client:
        raise TooManySignups("per_client")
    if pkey and recent(SignupAttempt.phone_key == pkey) >= limits.per_phone:
        raise TooManySignups("per_phone")
    if recent(SignupAttempt.form_id == form_id) >= limits.per_form:
        raise TooManySignups("per_form")
    session.execute(delete(SignupAttempt).where(col(SignupAttempt.at) <= since))  # kept for the window only
    session.add(SignupAttempt(at=now, form_id=form_id, client_key=ckey, phone_key=pkey))
    session.flush()
