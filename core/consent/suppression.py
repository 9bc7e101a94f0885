"""Suppression records (rulebook §11): a deleted customer's phone, kept only as a keyed hash.

The hash is HMAC-SHA256 of the E.164 number with a per-shop secret (Setting "suppression_key", 32
random bytes, made by the first deletion). Not a plain SHA-256: there are only about 10^10 US mobile
numbers, so an unkeyed hash of one is undone by hashing them all (minutes on a laptop) — it would be
the phone number in disguise. The key means a copy of the suppression table alone, or another shop's,
matches nothing. Someone holding the whole database holds the key too and can still test a number they
already know; the records promise "not re-subscribed", not "unfindable". The key lives with the rows it
hashes (not in an environment variable), so a restored backup or a moved database keeps its promise.

Who may lift a suppression: only the customer's own action, a sign-up they make or their own START, YES
or join text. The row is then deleted and the new consent event says `suppression_lifted`.
Imports and POS syncs skip a suppressed phone's rows entirely (names and email too: a deleted customer
is not rebuilt from an old file), each reported with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any, Iterable, Optional

from sqlmodel import Session, col, func, select

from core.clock import as_utc
from core.db import lock_for_write
from core.models import Setting, Suppression

KEY_SETTING = "suppression_key"
REASON = (
    "this customer's data was deleted at their request: not imported (only their own sign-up or "
    "their own START or YES text subscribes them again)"
)


def _key(session: Session, *, create: bool = False) -> Optional[bytes]:
    row = session.get(Setting, KEY_SETTING)
    if row is None and create:
        lock_for_write(session, "suppression-key")
        row = session.get(Setting, KEY_SETTING, populate_existing=True)
        if row is None:
            row = Setting(key=KEY_SETTING, value=secrets.token_hex(32))
            session.add(row)
            session.flush()
    return bytes.fromhex(row.value) if row is not None and row.value else None


def phone_hash(key: bytes, e164: str) -> str:
    return hmac.new(key, e164.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def hash_for(session: Session, e164: str, *, create: bool = False) -> Optional[str]:
    key = _key(session, create=create)
    return phone_hash(key, e164) if key is not None else None


def any_suppressed(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(Suppression)).one() > 0


def get(session: Session, e164: str) -> Optional[Suppression]:
    h = hash_for(session, e164)
    return session.get(Suppression, h) if h else None


def is_suppressed(session: Session, e164: str) -> bool:
    return get(session, e164) is not None


def suppressed(session: Session, e164s: Iterable[str]) -> set[str]:
    """Which of these phones (E.164) are suppressed: one query per 1,000 phones, none when no one is."""
    phones_ = list(e164s)
    key = _key(session)
    if key is None or not phones_ or not any_suppressed(session):
        return set()
    by_hash = {phone_hash(key, p): p for p in phones_}
    found: set[str] = set()
    hashes = list(by_hash)
    for i in range(0, len(hashes), 1000):
        rows = session.exec(select(Suppression.phone_hash).where(col(Suppression.phone_hash).in_(hashes[i : i + 1000])))
        found.update(by_hash[h] for h in rows)
    return found


def lift(session: Session, e164: str, *, how: str, now: Optional[dt.datetime] = None) -> Optional[dict[str, Any]]:
    """The customer's own action lifts their suppression (no commit; the caller holds the phone's lock).
    Returns what the new consent event keeps about it, or None when the phone was not suppressed."""
    row = get(session, e164)
    if row is None:
        return None
    note = {
        "deleted_at": row.created_at.isoformat(sep=" ", timespec="seconds"),
        "lifted_by": how,
        "lifted_at": as_utc(now).isoformat(sep=" ", timespec="seconds"),
    }
    session.delete(row)
    session.flush()
    return note


def record(
    session: Session, e164: str, *, reason: str, by: str, customer_id: Optional[int], last_status: str, now: dt.datetime
) -> Suppression:
    """Keep (or renew) the phone's suppression (no commit)."""
    h = hash_for(session, e164, create=True)
    row = session.get(Suppression, h)
    if row is None:
        row = Suppression(phone_hash=h)
    row.created_at = now
    row.reason = reason[:500]
    row.by = by[:100]
    row.customer_id = customer_id
    row.last_status = last_status
    session.add(row)
    return row


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Suppression)).one())


def skip_in_plan(session: Session, plan, report, phone_header: str) -> int:
    """Drop the suppressed phones from an import's (or POS sync's) plan, reporting each row (importer hook).
    Returns how many were dropped."""
    if not plan.phones or not any_suppressed(session):
        return 0
    from core.importing.report import RowError

    hit = suppressed(session, ("+" + str(p) for p in plan.phones))
    if not hit:
        return 0
    keep = [i for i, p in enumerate(plan.phones) if "+" + str(p) not in hit]
    for i, p in enumerate(plan.phones):
        if "+" + str(p) in hit:
            report.invalid.append(RowError(plan.rows[i], phone_header, REASON, ""))
    dropped = len(plan.phones) - len(keep)
    plan.rows = [plan.rows[i] for i in keep]
    plan.phones = [plan.phones[i] for i in keep]
    plan.verdicts = [plan.verdicts[i] for i in keep]
    return dropped
