"""Saved audiences: a name and its conditions, kept to load, edit, delete (and warned about when stale)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Optional

from sqlalchemy import func
from sqlmodel import Session
from sqlmodel import select as sm_select

from core import activity
from core.audiences.conditions import POS_PREFIX, AudienceError, InvalidCondition, normalize
from core.clock import as_utc
from core.db import run_write
from core.models import PosSource, SavedAudience
from core.staff.roles import Actor, allow
from core.text import clean_text

MAX_NAME = 100


class AudienceNotFound(AudienceError):
    pass


class InvalidAudienceName(AudienceError):
    pass


def list_saved(session: Session) -> list[SavedAudience]:
    return list(session.exec(sm_select(SavedAudience).order_by(SavedAudience.name)).all())


def get_saved(session: Session, audience_id: int) -> SavedAudience:
    row = session.get(SavedAudience, audience_id)
    if row is None:
        raise AudienceNotFound("That saved audience no longer exists; it may have been deleted.")
    return row


def _clean_name(name: Any) -> str:
    text = clean_text(name)
    if not text:
        raise InvalidAudienceName("Give the audience a name.")
    if len(text) > MAX_NAME:
        raise InvalidAudienceName(f"Keep the name under {MAX_NAME} characters.")
    return text


def save(
    session: Session,
    *,
    name: Any,
    conditions: Iterable[Any],
    audience_id: Optional[int] = None,
    now: Optional[dt.datetime] = None,
    by: Optional[Actor] = None,
) -> SavedAudience:
    """Save a new audience, or replace the name and conditions of `audience_id`."""
    by = allow(session, by, "save_audience")
    name = _clean_name(name)
    conds = normalize(conditions)
    now = as_utc(now)

    def work() -> int:
        clash = session.exec(sm_select(SavedAudience).where(func.lower(SavedAudience.name) == name.lower())).first()
        if clash is not None and clash.id != audience_id:
            raise InvalidAudienceName(f"An audience called “{clash.name}” already exists: choose another name.")
        if audience_id is None:
            row = SavedAudience(name=name, conditions=conds, created_at=now, updated_at=now)
        else:
            row = get_saved(session, audience_id)
            row.name, row.conditions, row.updated_at = name, conds, now
        session.add(row)
        session.flush()
        activity.record(
            session,
            by,
            activity.Kind.audience,
            f"{'Saved' if audience_id is None else 'Changed'} the audience “{name}”",
            now=now,
        )
        return row.id

    new_id = run_write(session, work)
    return get_saved(session, new_id)


def delete_saved(session: Session, audience_id: int, *, by: Optional[Actor] = None) -> str:
    by = allow(session, by, "save_audience")

    def work() -> str:
        row = get_saved(session, audience_id)
        session.delete(row)
        activity.record(session, by, activity.Kind.audience, f"Deleted the audience “{row.name}”")
        return row.name

    return run_write(session, work)


def problems(session: Session, conditions: Iterable[Any]) -> list[str]:
    """Warnings about a (saved) audience that still works but has changed meaning:
    a POS source it names was deleted since."""
    try:
        conds = normalize(conditions)
    except InvalidCondition as exc:
        return [str(exc)]
    existing = set(session.exec(sm_select(PosSource.name)).all())
    out = []
    for i, c in enumerate(conds, start=1):
        if c["trait"] != "source":
            continue
        for token in c["value"]:
            if token.startswith(POS_PREFIX) and token[len(POS_PREFIX) :] not in existing:
                name = token[len(POS_PREFIX) :]
                out.append(
                    f"Condition {i}: the POS source “{name}” has been deleted. The audience still "
                    f"includes the customers it synced before; remove “POS: {name}” from the list "
                    "if you no longer want them."
                )
    return out


def load_conditions(row: SavedAudience) -> list[dict[str, Any]]:
    """A saved audience's conditions, checked; a row that no longer reads raises InvalidCondition."""
    return normalize(row.conditions or [])


__all__ = [
    "MAX_NAME",
    "AudienceNotFound",
    "InvalidAudienceName",
    "list_saved",
    "get_saved",
    "save",
    "delete_saved",
    "problems",
    "load_conditions",
]
