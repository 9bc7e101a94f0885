"""The owner's password and sign-in lockout, kept in the Setting table.

The password is stored salted and hashed with scrypt (standard library), never
in plain text: "scrypt$n$r$p$salt_b64$hash_b64". Failed sign-ins and the
lockout time live in the Setting table too, so a page reload does not reset
them and several app replicas share them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Optional

from sqlmodel import Session

from core.clock import as_utc
from core.db import lock_for_write, run_write
from core.models import Setting, utcnow

PASSWORD_KEY = "owner_password"
FAILURES_KEY = "signin_failures"
LOCKED_UNTIL_KEY = "signin_locked_until"
FIRST_START_KEY = "first_start"

MIN_LENGTH = 8
MAX_LENGTH = 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32

FREE_ATTEMPTS = 5  # wrong passwords before sign-in pauses
FIRST_PAUSE = 30  # seconds; doubles with each further failure
MAX_PAUSE = 3600

FIRST_START_CHOICES = ("demo", "empty")


class AuthError(ValueError):
    """A password problem the owner can fix; the message says how."""


class WeakPassword(AuthError):
    pass


class PasswordExists(AuthError):
    pass


class Locked(AuthError):
    """Sign-in is paused after too many wrong passwords; `seconds` says for how long."""

    def __init__(self, seconds: int, *, after_failure: bool = False):
        self.seconds = seconds
        lead = "Wrong password. " if after_failure else ""
        super().__init__(f"{lead}Sign-in paused for {seconds} seconds after too many wrong passwords.")


# --- hashing (pure) -------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, salt: Optional[bytes] = None, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES,
                            maxmem=256 * 1024 * 1024)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def check_hash(password: str, stored: str) -> bool:
    """True when `password` matches the stored "scrypt$..." string (constant-time compare)."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(hash_b64)
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def validate_password(password: Optional[str]) -> str:
    if password is None or not str(password).strip():
        raise WeakPassword("Choose a password: it cannot be empty.")
    password = str(password)
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters (this one has {len(password)}).")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Keep the password under {MAX_LENGTH:,} characters.")
    return password


# --- settings helpers -------------------------------------------------------------------

def _get(session: Session, key: str) -> Optional[str]:
    row = session.get(Setting, key)
    if row is None:
        return None
    session.refresh(row)  # another replica may have changed it
    return row.value


def _put(session: Session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
        session.add(row)
    session.flush()


# --- password ---------------------------------------------------------------------------

def has_password(session: Session) -> bool:
    return bool(_get(session, PASSWORD_KEY))


def set_password(session: Session, password: str, *, replace: bool = False) -> None:
    """Store the owner password (hashed). Refuses to overwrite one unless replace=True."""
    password = validate_password(password)
    hashed = hash_password(password)  # slow part outside the write lock

    def work() -> None:
        lock_for_write(session, PASSWORD_KEY)
        if not replace and _get(session, PASSWORD_KEY):
            raise PasswordExists("An owner password is already set; sign in with it.")
        _put(session, PASSWORD_KEY, hashed)

    run_write(session, work)


def verify(session: Session, password: Optional[str]) -> bool:
    stored = _get(session, PASSWORD_KEY)
    if not stored or password is None:
        return False
    return check_hash(str(password), stored)


def preset_from(session: Session, value: Optional[str]) -> bool:
    """Install a preset password (OPTIN_DESK_PASSWORD) when none is stored. True when installed."""
    if value is None or not str(value).strip() or has_password(session):
        return False
    try:
        set_password(session, str(value))
    except PasswordExists:  # another replica got there first
        return False
    return True


# --- lockout ----------------------------------------------------------------------------

def _failures(session: Session) -> int:
    try:
        return int(_get(session, FAILURES_KEY) or 0)
    except ValueError:
        return 0


def _locked_until(session: Session) -> Optional[dt.datetime]:
    raw = _get(session, LOCKED_UNTIL_KEY)
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        return None


def attempts_left(session: Session) -> int:
    """Wrong passwords still allowed before sign-in pauses."""
    return max(0, FREE_ATTEMPTS - _failures(session))


def pause_after(failures: int) -> int:
    """Seconds sign-in pauses after `failures` wrong passwords in a row (0 before the 5th)."""
    if failures < FREE_ATTEMPTS:
        return 0
    return min(MAX_PAUSE, FIRST_PAUSE * 2 ** (failures - FREE_ATTEMPTS))


def check_lockout(session: Session, now: Optional[dt.datetime] = None) -> int:
    """Whole seconds left before sign-in may be tried again (0 = go ahead)."""
    now = as_utc(now)
    until = _locked_until(session)
    if until is None or until <= now:
        return 0
    left = (until - now).total_seconds()
    return max(1, int(left) + (1 if left % 1 else 0))


def record_failure(session: Session, now: Optional[dt.datetime] = None) -> int:
    """Count a wrong password; returns the seconds sign-in now pauses (0 if it doesn't)."""
    now = as_utc(now)

    def work() -> int:
        lock_for_write(session, FAILURES_KEY)
        failures = _failures(session) + 1
        _put(session, FAILURES_KEY, str(failures))
        pause = pause_after(failures)
        if pause:
            _put(session, LOCKED_UNTIL_KEY, (now + dt.timedelta(seconds=pause)).isoformat())
        return pause

    return run_write(session, work)


def record_success(session: Session) -> None:
    def work() -> None:
        lock_for_write(session, FAILURES_KEY)
        _put(session, FAILURES_KEY, "0")
        _put(session, LOCKED_UNTIL_KEY, "")

    run_write(session, work)


def sign_in(session: Session, password: Optional[str], now: Optional[dt.datetime] = None) -> bool:
    """Verify the password, honouring and updating the lockout. Raises Locked while paused."""
    now = as_utc(now)
    left = check_lockout(session, now)
    if left:
        raise Locked(left)
    if verify(session, password):
        record_success(session)
        return True
    pause = record_failure(session, now)
    if pause:
        raise Locked(pause, after_failure=True)
    return False


# --- first start ------------------------------------------------------------------------

def first_start_done(session: Session) -> bool:
    return bool(_get(session, FIRST_START_KEY))


def mark_first_start(session: Session, choice: str) -> None:
    if choice not in FIRST_START_CHOICES:
        raise AuthError(f"First start is 'demo' or 'empty', not {choice!r}.")
    run_write(session, lambda: _put(session, FIRST_START_KEY, choice))
