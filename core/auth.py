"""The owner's password and the sign-in throttle.

The password is stored salted and hashed with Argon2id (argon2-cffi), never in plain text.
Hashes from older versions ("scrypt$n$r$p$salt_b64$hash_b64") still verify and are replaced
by an Argon2id hash at the next successful sign-in.

Wrong passwords are counted per client in the sign_in_throttle table, keyed by a keyed hash
of the client's address, so a stranger's guesses pause the stranger, not the owner's browser.
Each attempt is counted *before* its password is checked, in one locked write, so parallel
guesses cannot slip past the count: at most FREE_ATTEMPTS of them are ever checked before
sign-in pauses. A shop-wide ceiling (GLOBAL_FREE_ATTEMPTS wrong passwords from all clients)
slows guessing spread over many addresses; clients that signed in recently are exempt from it,
so the owner's usual connection still gets in.
"""

from __future__ import annotations

import logging
import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import math
import secrets
from dataclasses import dataclass
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import Session

from core.clock import as_utc
from core.db import lock_for_write, run_write
from core.models import Setting, SignInThrottle, utcnow
from core.errors import OwnerError

log = logging.getLogger(__name__)

PASSWORD_KEY = "owner_password"
CLIENT_SALT_KEY = "signin_client_salt"  # secret for hashing client addresses
FIRST_START_KEY = "first_start"

MIN_LENGTH = 8
MAX_LENGTH = 1024

FREE_ATTEMPTS = 5  # wrong passwords from one client before its sign-in pauses
FIRST_PAUSE = 30  # seconds; doubles with each further failure
MAX_PAUSE = 3600

# The shop-wide ceiling: after this many wrong passwords from all clients together (with no
# quiet hour between them) sign-in pauses for clients that have not signed in lately.
GLOBAL_FREE_ATTEMPTS = 100
GLOBAL_QUIET = dt.timedelta(hours=1)  # an hour without a wrong password clears the shop-wide count
TRUSTED_FOR = dt.timedelta(days=30)  # a client that signed in this recently is exempt from the ceiling
SHOP_ROW = "*"  # the shop-wide row's key (client rows are 64 hex digits)
LOCAL_CLIENT = "local"  # Streamlit reports no address for connections through localhost
THROTTLE_LOCK = "signin_throttle"

HASHER = PasswordHasher()  # Argon2id with the library's defaults (RFC 9106's low-memory profile)
ARGON2_PREFIX = "$argon2id$"

FIRST_START_CHOICES = ("demo", "empty")


class AuthError(OwnerError):
    """A password problem the owner can fix; the message says how."""


class WeakPassword(AuthError):
    pass


class PasswordExists(AuthError):
    pass


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    return f"{math.ceil(seconds / 60)} minutes"


class Locked(AuthError):
    """Sign-in is paused after too many wrong passwords; `seconds` says for how long.

    `shop_wide` when the pause comes from the shop-wide ceiling, not this client's own tries.
    """

    def __init__(self, seconds: int, *, after_failure: bool = False, shop_wide: bool = False, account: bool = False):
        self.seconds = seconds
        self.after_failure = after_failure
        self.shop_wide = shop_wide
        self.account = account
        lead = "Wrong password. " if after_failure else ""
        if account:
            text = (
                f"{lead}Sign-in with this sign-in name is paused for {_duration(seconds)} after too many "
                "wrong passwords. Try again after the pause."
            )
        elif shop_wide:
            text = (
                f"Sign-in paused for {_duration(seconds)}: there have been many wrong passwords for "
                "this shop lately. Try again after the pause."
            )
        else:
            text = (
                f"{lead}Sign-in paused for {_duration(seconds)} after too many wrong passwords. "
                "Try again after the pause."
            )
        super().__init__(text)


# --- hashing (pure) -------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An Argon2id hash of `password` ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), salted."""
    return HASHER.hash(password)


def _check_scrypt(password: str, stored: str) -> bool:
    scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
    if scheme != "scrypt":
        return False
    salt = base64.b64decode(salt_b64)
    expected = base64.b64decode(hash_b64)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=256 * 1024 * 1024
    )
    return hmac.compare_digest(digest, expected)


def check_hash(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash: Argon2id, or an older "scrypt$..." one."""
    try:
        if stored.startswith("$argon2"):
            return HASHER.verify(stored, password)
        return _check_scrypt(password, stored)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_upgrade(stored: str) -> bool:
    """True when the stored hash is not Argon2id with today's parameters."""
    if not stored.startswith(ARGON2_PREFIX):
        return True
    try:
        return HASHER.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


def validate_password(password: Optional[str]) -> str:
    if password is None or not str(password).strip():
        raise WeakPassword("Choose a password: it cannot be empty.", "password")
    password = str(password)
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters (this one has {len(password)}).", "password")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Keep the password under {MAX_LENGTH:,} characters.", "password")
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
    """Check a password without counting the attempt (sign_in counts; use that for sign-in)."""
    stored = _get(session, PASSWORD_KEY)
    if not stored or password is None or len(str(password)) > MAX_LENGTH:
        return False
    return check_hash(str(password), stored)


def _upgrade_hash(session: Session, password: str, stored: str) -> None:
    """Replace an old or weaker stored hash with a fresh Argon2id one (the password was just right)."""
    if not needs_upgrade(stored):
        return
    hashed = hash_password(password)

    def work() -> None:
        lock_for_write(session, PASSWORD_KEY)
        if _get(session, PASSWORD_KEY) == stored:  # unless the password changed meanwhile
            _put(session, PASSWORD_KEY, hashed)

    run_write(session, work)


def preset_from(session: Session, value: Optional[str]) -> bool:
    """Install a preset password (OPTIN_DESK_PASSWORD) when none is stored. True when installed."""
    if value is None or not str(value).strip() or has_password(session):
        return False
    try:
        set_password(session, str(value))
    except PasswordExists:  # another replica got there first
        return False
    return True


# --- throttle ---------------------------------------------------------------------------


def client_key(ip: Optional[str]) -> str:
    """Who is signing in, for the throttle: the address Streamlit reports (st.context.ip_address).

    An IPv6 address counts by its /64 network (one household or server gets a whole /64).
    Streamlit reports no address for localhost: those connections share LOCAL_CLIENT. (Not a
    per-browser-session id: a reload would start a new session and reset the count.)
    """
    raw = ip.strip() if isinstance(ip, str) else ""  # (a test harness may hand over a mock)
    if not raw:
        return LOCAL_CLIENT
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError:
        return "ip:" + raw.lower()[:100]
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped:
            return f"ip:{addr.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((addr, 64), strict=False)}"
    return f"ip:{addr}"


def _hashed(salt: str, client: str) -> str:
    return hmac.new(salt.encode("ascii"), client.encode("utf-8"), hashlib.sha256).hexdigest()


def _row(session: Session, key: str, now: dt.datetime, *, create: bool) -> Optional[SignInThrottle]:
    row = session.get(SignInThrottle, key, populate_existing=True)  # fresh: another replica may count
    if row is None and create:
        row = SignInThrottle(client_key=key, updated_at=now)
        session.add(row)
    return row


def pause_after(failures: int, *, free: int = FREE_ATTEMPTS) -> int:
    """Seconds sign-in pauses after `failures` wrong passwords in a row (0 before the `free`th)."""
    if failures < free:
        return 0
    return min(MAX_PAUSE, FIRST_PAUSE * 2 ** min(failures - free, 20))


def _seconds_left(until: Optional[dt.datetime], now: dt.datetime) -> int:
    if until is None or until <= now:
        return 0
    return math.ceil((until - now).total_seconds())


def _shop_row_fresh(shop: SignInThrottle, now: dt.datetime) -> None:
    """A quiet hour clears the shop-wide count."""
    if shop.failures and shop.updated_at < now - GLOBAL_QUIET and _seconds_left(shop.locked_until, now) == 0:
        shop.failures = 0
        shop.locked_until = None


def _refusal(row: Optional[SignInThrottle], shop: Optional[SignInThrottle], now: dt.datetime) -> Optional[Locked]:
    left = _seconds_left(row.locked_until, now) if row else 0
    if left:
        return Locked(left)
    trusted = bool(row and row.last_success_at and row.last_success_at >= now - TRUSTED_FOR)
    shop_left = _seconds_left(shop.locked_until, now) if shop else 0
    if shop_left and not trusted:
        return Locked(shop_left, shop_wide=True)
    return None


@dataclass(frozen=True)
class _Reservation:
    key: str  # the client's hashed key
    pause: int  # seconds sign-in pauses if this attempt's password is wrong
    account_key: Optional[str] = None  # the account's hashed key, when a sign-in name was given
    account_paused: bool = False  # the pause comes from the account's count, not the client's


def account_key(sign_in_name: str) -> str:
    """The throttle's name for an account (a sign-in name, known or not: unknown names pause alike,
    so the pause says nothing about which names exist)."""
    return "account:" + str(sign_in_name).strip().lower()[:100]


def _reserve(session: Session, client: str, now: dt.datetime, account: Optional[str] = None) -> _Reservation:
    """Count one attempt for `client` (and for `account`, and shop-wide) before its password is checked.

    Raises Locked, counting nothing, while the client or the account is paused.
    """

    def work() -> _Reservation:
        lock_for_write(session, THROTTLE_LOCK)
        salt = _get(session, CLIENT_SALT_KEY)
        if not salt:
            salt = secrets.token_hex(32)
            _put(session, CLIENT_SALT_KEY, salt)
        key = _hashed(salt, client)
        row = _row(session, key, now, create=True)
        shop = _row(session, SHOP_ROW, now, create=True)
        _shop_row_fresh(shop, now)
        refusal = _refusal(row, shop, now)
        acct = _row(session, _hashed(salt, account), now, create=True) if account else None
        if refusal is None and acct is not None and _seconds_left(acct.locked_until, now):
            refusal = Locked(_seconds_left(acct.locked_until, now), account=True)
        if refusal:
            log.warning(
                "sign-in refused: client %s paused for %s s%s",
                _log_key(key),
                refusal.seconds,
                " (shop-wide)" if refusal.shop_wide else " (account)" if refusal.account else "",
            )
            raise refusal  # run_write rolls back: nothing counted
        row.failures += 1
        row.updated_at = now
        pause = pause_after(row.failures)
        if pause:
            row.locked_until = now + dt.timedelta(seconds=pause)
        account_pause = 0
        if acct is not None:
            acct.failures += 1
            acct.updated_at = now
            account_pause = pause_after(acct.failures)
            if account_pause:
                acct.locked_until = now + dt.timedelta(seconds=account_pause)
            session.add(acct)
        shop.failures += 1
        shop.updated_at = now
        shop_pause = pause_after(shop.failures, free=GLOBAL_FREE_ATTEMPTS)
        if shop_pause:
            shop.locked_until = now + dt.timedelta(seconds=shop_pause)
        session.add_all([row, shop])
        session.flush()
        return _Reservation(
            key, max(pause, account_pause), _hashed(salt, account) if account else None, account_pause > pause
        )

    return run_write(session, work)


def _release(session: Session, key: str, now: dt.datetime, account_key: Optional[str] = None) -> None:
    """The password was right: clear the client's (and the account's) count, take the attempt off the
    shop-wide count, remember the client as trusted, and forget clients unseen for TRUSTED_FOR."""

    def work() -> None:
        lock_for_write(session, THROTTLE_LOCK)
        if account_key:
            acct = _row(session, account_key, now, create=False)
            if acct is not None:
                session.delete(acct)
        row = _row(session, key, now, create=True)
        row.failures = 0
        row.locked_until = None
        row.last_success_at = now
        row.updated_at = now
        session.add(row)
        shop = _row(session, SHOP_ROW, now, create=False)
        if shop is not None and shop.failures:
            shop.failures -= 1
            if shop.failures < GLOBAL_FREE_ATTEMPTS:
                shop.locked_until = None
            session.add(shop)
        session.flush()
        session.execute(
            delete(SignInThrottle).where(
                SignInThrottle.updated_at < now - TRUSTED_FOR, SignInThrottle.client_key != SHOP_ROW
            )
        )

    run_write(session, work)


def _client_row(session: Session, client: str) -> Optional[SignInThrottle]:
    salt = _get(session, CLIENT_SALT_KEY)
    if not salt:
        return None
    return _row(session, _hashed(salt, client), utcnow(), create=False)


def paused(session: Session, *, client: str, now: Optional[dt.datetime] = None) -> Optional[Locked]:
    """Why `client` may not try a password now (a Locked to show), or None when it may."""
    now = as_utc(now)
    shop = _row(session, SHOP_ROW, now, create=False)
    return _refusal(_client_row(session, client), shop, now)


def check_lockout(session: Session, *, client: str, now: Optional[dt.datetime] = None) -> int:
    """Whole seconds left before `client` may try a password again (0 = go ahead)."""
    refusal = paused(session, client=client, now=now)
    return refusal.seconds if refusal else 0


def attempts_left(session: Session, *, client: str) -> int:
    """Wrong passwords `client` may still type before its sign-in pauses."""
    row = _client_row(session, client)
    return max(0, FREE_ATTEMPTS - (row.failures if row else 0))


def _log_key(key: str) -> str:
    """A short, non-reversible tag of a client for the log (never its address): "c-3f2a-91b0". Split in
    two so it never reads as a phone number."""
    return f"c-{key[:4]}-{key[4:8]}"


def attempt(
    session: Session,
    password: Optional[str],
    *,
    client: str,
    stored: Optional[str],
    account: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> bool:
    """Check `password` against the `stored` hash for `client` (and the `account`'s sign-in name),
    counting the attempt first. True when right (the counts are cleared); False when wrong. Raises
    Locked while the client or the account is paused, or when this wrong password pauses it."""
    now = as_utc(now)
    reservation = _reserve(session, client, now, account_key(account) if account else None)
    ok = (
        bool(stored) and password is not None and len(str(password)) <= MAX_LENGTH and check_hash(str(password), stored)
    )
    if not ok:
        # the client's hashed key, shortened: enough to tell clients apart, never the address or password
        log.warning(
            "sign-in failed: wrong password from client %s%s",
            _log_key(reservation.key),
            f"; sign-in paused {reservation.pause} s" if reservation.pause else "",
        )
        if reservation.pause:
            raise Locked(reservation.pause, after_failure=True, account=reservation.account_paused)
        return False
    _release(session, reservation.key, now, reservation.account_key)
    return True


def sign_in(
    session: Session,
    password: Optional[str],
    *,
    client: str,
    now: Optional[dt.datetime] = None,
    account: Optional[str] = None,
) -> bool:
    """Check the owner password for `client` (see client_key), counting the attempt first.

    True when right (the client's count is cleared and an old hash upgraded to Argon2id); False
    when wrong. Raises Locked while the client is paused, or when this wrong password pauses it.
    """
    stored = _get(session, PASSWORD_KEY)
    if not attempt(session, password, client=client, stored=stored, account=account, now=now):
        return False
    _upgrade_hash(session, str(password), stored)
    return True


# --- first start ------------------------------------------------------------------------


def first_start_done(session: Session) -> bool:
    return bool(_get(session, FIRST_START_KEY))


def mark_first_start(session: Session, choice: str, *, by=None) -> None:
    from core.staff.roles import allow

    allow(session, by, "first_start")
    if choice not in FIRST_START_CHOICES:
        raise AuthError(f"First start is 'demo' or 'empty', not {choice!r}.")
    run_write(session, lambda: _put(session, FIRST_START_KEY, choice))
