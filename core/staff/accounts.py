"""People who sign in, their passwords and their sessions (issue 17).

The owner adds people (name, sign-in name, role) and sets or resets their passwords; each person signs
in as themselves. Passwords are Argon2id hashes (core.auth.hash_password), never stored as typed.
Sign-in is throttled per client (as before) and per sign-in name (core.auth.attempt).

The built-in owner is the shop's original owner (Person.builtin): their password stays in the Setting
core/auth.py has always used, so the first-start setup, OPTIN_DESK_PASSWORD and the console's
`optin-desk reset-password` keep working; their Person row gives them a name and an id in the trail.
A shop where nobody else was added signs in with the password alone, as before.

A session is a row of StaffSession holding a hash of a random token the browser session keeps. It ends
on sign-out, after the inactivity setting (default 30 minutes) without a click, when the owner signs
the person out everywhere, disables them or resets their password. `check_session` runs at every click:
it reads the person fresh, so a changed role applies at the next click.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from core import auth
from core.activity import Kind, record
from core.clock import as_utc
from core.db import lock_for_write, run_write
from core.errors import OwnerError
from core.models import Person, Setting, StaffSession, utcnow
from core.staff.roles import Actor, Role, allow
from core.text import clean_text

log = logging.getLogger(__name__)

PEOPLE_LOCK = "people"
MAX_NAME = 100
MAX_SIGN_IN_NAME = 60
OWNER_SIGN_IN_NAME = "owner"
OWNER_NAME = "Owner"

TIMEOUT_KEY = "session_timeout_minutes"
DEFAULT_TIMEOUT_MINUTES = 30
MIN_TIMEOUT_MINUTES = 5
MAX_TIMEOUT_MINUTES = 12 * 60
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen is written at most this often per session


class AccountError(OwnerError):
    """Something about a person's account the owner can fix; the message says what."""


class NoSuchPerson(AccountError):
    pass


class LastOwner(AccountError):
    """The shop must always keep one owner who can sign in."""


class SessionEnded(AccountError):
    """The browser session is over; the message says why (shown on the sign-in page)."""

    def __init__(self, reason: str, *, minutes: int = DEFAULT_TIMEOUT_MINUTES):
        self.reason = reason
        super().__init__(END_MESSAGES.get(reason, END_MESSAGES["missing"]).format(minutes=minutes))


END_MESSAGES = {
    "inactive": "You were signed out after {minutes} minutes without activity. Sign in again.",
    "signed_out": "You signed out.",
    "everywhere": "The owner signed you out. Sign in again.",
    "disabled": "Your account was disabled. Ask the shop's owner.",
    "password": "Your password was changed. Sign in with the new one.",
    "missing": "You were signed out. Sign in again.",
}


# --- validation (pure) ----------------------------------------------------------------------


def validate_name(name: object) -> str:
    text = clean_text("" if name is None else name)
    if not text:
        raise AccountError("Type the person's name, as the activity list should show it.", "name")
    if len(text) > MAX_NAME:
        raise AccountError(f"Keep the name under {MAX_NAME} characters (this one has {len(text):,}).", "name")
    return text


def validate_sign_in_name(value: object) -> str:
    text = clean_text("" if value is None else value).lower()
    if not text:
        raise AccountError("Choose a sign-in name: what this person types to sign in, e.g. maria.", "sign_in_name")
    if len(text) > MAX_SIGN_IN_NAME:
        raise AccountError(f"Keep the sign-in name under {MAX_SIGN_IN_NAME} characters.", "sign_in_name")
    if not all(c.isalnum() or c in "._-@" for c in text):
        raise AccountError("Use letters, digits and . _ - @ in a sign-in name (no spaces).", "sign_in_name")
    return text


def validate_role(role: object) -> Role:
    try:
        return Role(str(role).strip().lower())
    except ValueError:
        raise AccountError("Choose a role: Owner, Manager or Staff.", "role") from None


def validate_timeout(minutes: object) -> int:
    try:
        value = int(str(minutes).strip())
    except ValueError:
        raise AccountError("Type the minutes as a whole number.", "timeout") from None
    if not MIN_TIMEOUT_MINUTES <= value <= MAX_TIMEOUT_MINUTES:
        raise AccountError(
            f"Choose between {MIN_TIMEOUT_MINUTES} and {MAX_TIMEOUT_MINUTES} minutes "
            f"({MAX_TIMEOUT_MINUTES // 60} hours).",
            "timeout",
        )
    return value


# --- reading ----------------------------------------------------------------------------------


def ensure_owner(session: Session) -> Person:
    """The built-in owner's row (made once; its password is core.auth's)."""
    row = session.exec(select(Person).where(Person.builtin == True)).first()  # noqa: E712
    if row is not None:
        return row
    row = Person(
        name=OWNER_NAME, sign_in_name=_free_name(session, OWNER_SIGN_IN_NAME), role=Role.owner.value, builtin=True
    )
    session.add(row)
    session.flush()
    return row


def _free_name(session: Session, wanted: str) -> str:
    name, n = wanted, 1
    while session.exec(select(Person.id).where(Person.sign_in_name == name)).first() is not None:
        n += 1
        name = f"{wanted}{n}"
    return name


def owner(session: Session) -> Person:
    row = session.exec(select(Person).where(Person.builtin == True)).first()  # noqa: E712
    if row is None:
        row = run_write(session, lambda: ensure_owner(session))
    return row


def actor_for(person: Person) -> Actor:
    return Actor(id=person.id, name=person.name, role=Role(person.role))


def owner_actor(session: Session) -> Actor:
    return actor_for(owner(session))


def get(session: Session, person_id: int) -> Person:
    row = session.get(Person, person_id, populate_existing=True)
    if row is None:
        raise NoSuchPerson("That person is no longer in the list.")
    return row


def people(session: Session) -> list[Person]:
    """Everyone, the built-in owner first, then by name; disabled people last."""
    rows = session.exec(select(Person)).all()
    return sorted(rows, key=lambda p: (p.disabled_at is not None, not p.builtin, p.name.lower(), p.id))


def others_exist(session: Session) -> bool:
    """Someone besides the built-in owner can sign in: the sign-in page asks for a sign-in name."""
    return (
        session.exec(
            select(Person.id).where(
                Person.builtin == False,  # noqa: E712
                col(Person.disabled_at).is_(None),
            )
        ).first()
        is not None
    )


def active_sessions(session: Session, person_id: int, now: Optional[dt.datetime] = None) -> int:
    now = as_utc(now)
    cutoff = now - dt.timedelta(minutes=timeout_minutes(session))
    return session.exec(
        select(func.count())
        .select_from(StaffSession)
        .where(
            StaffSession.person_id == person_id,
            col(StaffSession.ended_at).is_(None),
            StaffSession.last_seen_at >= cutoff,
        )
    ).one()


def _active_owners(session: Session, *, besides: Optional[int] = None) -> int:
    q = (
        select(func.count())
        .select_from(Person)
        .where(Person.role == Role.owner.value, col(Person.disabled_at).is_(None))
    )
    if besides is not None:
        q = q.where(Person.id != besides)
    return session.exec(q).one()


# --- the owner's changes ------------------------------------------------------------------------


def add_person(
    session: Session,
    *,
    name: object,
    sign_in_name: object,
    role: object,
    password: object,
    by: Optional[Actor] = None,
    now: Optional[dt.datetime] = None,
) -> Person:
    """The owner adds someone who can sign in. Every field is checked first; nothing is stored on a problem."""
    by = allow(session, by, "people")
    errors: dict[str, str] = {}
    clean: dict[str, object] = {}
    for field, check, value in (
        ("name", validate_name, name),
        ("sign_in_name", validate_sign_in_name, sign_in_name),
        ("role", validate_role, role),
        ("password", auth.validate_password, password),
    ):
        try:
            clean[field] = check(value)
        except OwnerError as exc:
            errors[field] = str(exc)
    if errors:
        raise AccountError(errors=errors)
    hashed = auth.hash_password(str(clean["password"]))  # slow: outside the lock
    now = as_utc(now)

    def work() -> Person:
        lock_for_write(session, PEOPLE_LOCK)
        taken = session.exec(select(Person).where(Person.sign_in_name == clean["sign_in_name"])).first()
        if taken is not None:
            raise AccountError(
                f"The sign-in name “{clean['sign_in_name']}” is taken (by {taken.name}). Choose another.",
                "sign_in_name",
            )
        person = Person(
            name=clean["name"],
            sign_in_name=clean["sign_in_name"],
            role=clean["role"].value,
            password_hash=hashed,
            created_at=now,
            updated_at=now,
        )
        session.add(person)
        session.flush()
        record(
            session,
            by,
            Kind.people,
            f"Added {person.name} ({person.sign_in_name}) as {Role(person.role).label}",
            now=now,
        )
        return person

    person = run_write(session, work)
    log.info("people: %s added person %s as %s", by.name, person.id, person.role)
    return person


def update_person(
    session: Session,
    *,
    person_id: int,
    name: object = None,
    sign_in_name: object = None,
    role: object = None,
    by: Optional[Actor] = None,
    now: Optional[dt.datetime] = None,
) -> Person:
    """Rename someone, change their sign-in name or role. Their next click follows the new role."""
    by = allow(session, by, "people")
    errors: dict[str, str] = {}
    clean: dict[str, object] = {}
    for field, check, value in (
        ("name", validate_name, name),
        ("sign_in_name", validate_sign_in_name, sign_in_name),
        ("role", validate_role, role),
    ):
        if value is None:
            continue
        try:
            clean[field] = check(value)
        except OwnerError as exc:
            errors[field] = str(exc)
    if errors:
        raise AccountError(errors=errors)
    now = as_utc(now)

    def work() -> Person:
        lock_for_write(session, PEOPLE_LOCK)
        person = get(session, person_id)
        changes = []
        if "sign_in_name" in clean and clean["sign_in_name"] != person.sign_in_name:
            taken = session.exec(
                select(Person).where(Person.sign_in_name == clean["sign_in_name"], Person.id != person.id)
            ).first()
            if taken is not None:
                raise AccountError(
                    f"The sign-in name “{clean['sign_in_name']}” is taken (by {taken.name}). Choose another.",
                    "sign_in_name",
                )
            changes.append(f"sign-in name {person.sign_in_name} → {clean['sign_in_name']}")
            person.sign_in_name = clean["sign_in_name"]
        if "role" in clean and clean["role"].value != person.role:
            if person.role == Role.owner.value and not _active_owners(session, besides=person.id):
                raise LastOwner(
                    f"{person.name} is the only owner: make someone else an owner first, so the shop always has one.",
                    "role",
                )
            if person.builtin and clean["role"] is not Role.owner:
                raise LastOwner(
                    "The shop's original owner stays an owner (their password is the one the console can reset).",
                    "role",
                )
            changes.append(f"role {Role(person.role).label} → {clean['role'].label}")
            person.role = clean["role"].value
        if "name" in clean and clean["name"] != person.name:
            changes.append(f"name {person.name} → {clean['name']}")
            person.name = clean["name"]
        if not changes:
            return person
        person.updated_at = now
        session.add(person)
        record(session, by, Kind.people, f"Changed {person.name}: " + "; ".join(changes), now=now)
        return person

    return run_write(session, work)


def set_password(
    session: Session, *, person_id: int, password: object, by: Optional[Actor] = None, now: Optional[dt.datetime] = None
) -> Person:
    """Set or reset someone's password. Resetting another person's signs them out everywhere."""
    by = allow(session, by, "people")
    password = auth.validate_password(password if password is None else str(password))
    now = as_utc(now)
    person = get(session, person_id)
    if person.builtin:
        auth.set_password(session, password, replace=True)
        hashed = ""
    else:
        hashed = auth.hash_password(password)

    def work() -> Person:
        lock_for_write(session, PEOPLE_LOCK)
        row = get(session, person_id)
        if not row.builtin:
            row.password_hash = hashed
        row.updated_at = now
        session.add(row)
        if row.id != by.id:
            _end_all(session, row.id, "password", now)
        record(session, by, Kind.people, f"Set a new password for {row.name}", now=now)
        return row

    return run_write(session, work)


def set_disabled(
    session: Session, *, person_id: int, disabled: bool, by: Optional[Actor] = None, now: Optional[dt.datetime] = None
) -> Person:
    """Disable an account (signed out everywhere, can't sign in; their history stays) or enable it again."""
    by = allow(session, by, "people")
    now = as_utc(now)

    def work() -> Person:
        lock_for_write(session, PEOPLE_LOCK)
        person = get(session, person_id)
        if disabled == (person.disabled_at is not None):
            return person
        if disabled and person.role == Role.owner.value and not _active_owners(session, besides=person.id):
            raise LastOwner(
                f"{person.name} is the only owner who can sign in: the shop can't be left "
                "without one. Make someone else an owner first."
            )
        if disabled and person.id == by.id:
            raise AccountError("You can't disable your own account while you use it.")
        person.disabled_at = now if disabled else None
        person.updated_at = now
        session.add(person)
        if disabled:
            _end_all(session, person.id, "disabled", now)
        record(session, by, Kind.people, f"{'Disabled' if disabled else 'Enabled'} {person.name}'s account", now=now)
        return person

    return run_write(session, work)


def sign_out_everywhere(
    session: Session, *, person_id: int, by: Optional[Actor] = None, now: Optional[dt.datetime] = None
) -> int:
    """End every session of a person (their next click shows the sign-in page). Returns how many ended."""
    by = allow(session, by, "people")
    now = as_utc(now)

    def work() -> int:
        person = get(session, person_id)
        ended = _end_all(session, person.id, "everywhere", now)
        record(
            session,
            by,
            Kind.people,
            f"Signed {person.name} out everywhere ({ended} session{'' if ended == 1 else 's'})",
            now=now,
        )
        return ended

    return run_write(session, work)


def timeout_minutes(session: Session) -> int:
    row = session.get(Setting, TIMEOUT_KEY)
    try:
        return validate_timeout(row.value) if row is not None else DEFAULT_TIMEOUT_MINUTES
    except AccountError:
        return DEFAULT_TIMEOUT_MINUTES


def set_timeout(session: Session, minutes: object, *, by: Optional[Actor] = None) -> int:
    """How long a session may sit without a click before it ends."""
    by = allow(session, by, "people")
    value = validate_timeout(minutes)

    def work() -> int:
        lock_for_write(session, TIMEOUT_KEY)
        row = session.get(Setting, TIMEOUT_KEY) or Setting(key=TIMEOUT_KEY)
        if row.value != str(value):
            row.value = str(value)
            session.add(row)
            record(session, by, Kind.people, f"Set sign-out after inactivity to {value} minutes")
        return value

    return run_write(session, work)


# --- signing in ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    person: Person
    token: str  # kept by the browser session (st.session_state), never stored: the database has its hash


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "ignore")).hexdigest()


def sign_in(
    session: Session,
    sign_in_name: Optional[str],
    password: Optional[str],
    *,
    client: str,
    now: Optional[dt.datetime] = None,
) -> Optional[SignedIn]:
    """Check a sign-in name and password for `client`, counting the attempt first (per client and per
    sign-in name). A blank name is the built-in owner. Returns the new session, or None when the name or
    password is wrong (the same answer for both) or the account is disabled. Raises auth.Locked while paused."""
    now = as_utc(now)
    typed = clean_text(sign_in_name or "").lower()[: MAX_SIGN_IN_NAME + 1]
    person = owner(session) if not typed else session.exec(select(Person).where(Person.sign_in_name == typed)).first()
    if person is None or person.disabled_at is not None:
        stored = None
    elif person.builtin:
        stored = auth._get(session, auth.PASSWORD_KEY)
    else:
        stored = person.password_hash
    account = person.sign_in_name if person is not None else (typed or OWNER_SIGN_IN_NAME)
    if person is not None and person.builtin:
        ok = auth.sign_in(session, password, client=client, now=now, account=account)
    else:
        ok = auth.attempt(session, password, client=client, stored=stored, account=account, now=now)
    if not ok or person is None or stored is None:
        return None
    token = secrets.token_urlsafe(32)

    def work() -> Person:
        row = get(session, person.id)
        row.last_seen_at = now
        session.add(row)
        session.add(StaffSession(person_id=row.id, token_hash=_token_hash(token), started_at=now, last_seen_at=now))
        return row

    row = run_write(session, work)
    log.info("signed in: person %s", row.id)
    return SignedIn(row, token)


def check_session(session: Session, *, person_id: int, token: str, now: Optional[dt.datetime] = None) -> Actor:
    """At every click: the person behind a browser session as they are now, or SessionEnded (why)."""
    now = as_utc(now)
    row = session.exec(
        select(StaffSession)
        .where(StaffSession.token_hash == _token_hash(token), StaffSession.person_id == person_id)
        .execution_options(populate_existing=True)
    ).first()
    person = session.get(Person, person_id, populate_existing=True)
    if row is None or person is None:
        raise SessionEnded("missing")
    if row.ended_at is not None:
        raise SessionEnded(row.end_reason or "missing")
    if person.disabled_at is not None:
        _end(session, row, "disabled", now)
        raise SessionEnded("disabled")
    minutes = timeout_minutes(session)
    if now - row.last_seen_at > dt.timedelta(minutes=minutes):
        _end(session, row, "inactive", now)
        raise SessionEnded("inactive", minutes=minutes)
    if now - row.last_seen_at >= TOUCH_EVERY:

        def touch() -> None:
            session.execute(update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now))
            session.execute(update(Person).where(Person.id == person_id).values(last_seen_at=now))

        run_write(session, touch)
    return actor_for(person)


def sign_out(session: Session, *, token: str, now: Optional[dt.datetime] = None) -> None:
    row = session.exec(select(StaffSession).where(StaffSession.token_hash == _token_hash(token))).first()
    if row is not None and row.ended_at is None:
        _end(session, row, "signed_out", as_utc(now))


def _end(session: Session, row: StaffSession, reason: str, now: dt.datetime) -> None:
    def work() -> None:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id == row.id, col(StaffSession.ended_at).is_(None))
            .values(ended_at=now, end_reason=reason)
        )

    run_write(session, work)


def _end_all(session: Session, person_id: int, reason: str, now: dt.datetime) -> int:
    """End every open session of a person (in the caller's transaction)."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.person_id == person_id, col(StaffSession.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason)
    )
    return result.rowcount or 0


def reset_owner_password(session: Session, password: str) -> Person:
    """The console's reset (optin-desk reset-password): a new built-in owner password, the owner's
    account enabled again and every session of theirs ended. Never reachable from the web."""
    auth.set_password(session, password, replace=True)
    now = utcnow()

    def work() -> Person:
        row = owner(session)
        row = get(session, row.id)
        row.disabled_at = None
        row.updated_at = now
        session.add(row)
        _end_all(session, row.id, "password", now)
        record(session, None, Kind.people, f"Reset {row.name}'s password from the console", now=now)
        return row

    return run_write(session, work)
