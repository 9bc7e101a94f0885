"""Who did what: the activity trail (issue 17).

Every changing core function records one row here, in its own transaction, through `record`: the
person (as they were named at the time), the kind, a sentence, the customer it concerns. The Activity
page reads it filtered by person, kind and date, a page at a time in SQL (keyset on (at, id)), and
exports it as formula-safe CSV.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Iterator, Optional, Sequence

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.exports import csv_chunks, safe_cell
from core.models import Activity, Person, utcnow
from core.staff.roles import SHOP, Actor, allow

PAGE_SIZE = 50
MAX_SUMMARY = 500


class Kind(str, Enum):
    consent = "consent"  # an opt-out recorded, an opt-in request sent, requests resent
    review = "review"  # a possible opt-out decided
    customer = "customer"  # a customer added or edited
    import_ = "import"  # a file imported
    pos = "pos"  # a POS source added, renamed, removed, synced
    pos_date = "pos_date"  # a POS double opt-in date changed
    template = "template"  # the texting defaults changed
    form = "form"  # a sign-up form made, changed, copied, deleted; the sign-up limits
    audience = "audience"  # a saved audience
    export = "export"  # a download of customer data or figures
    people = "people"  # people, roles, passwords, sessions
    settings = "settings"  # the texting provider, the age gate, the carrier registration answers

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    Kind.consent: "Consent",
    Kind.review: "Review decision",
    Kind.customer: "Customer details",
    Kind.import_: "Import",
    Kind.pos: "POS sync",
    Kind.pos_date: "POS date",
    Kind.template: "Texting defaults",
    Kind.form: "Sign-up forms",
    Kind.audience: "Audiences",
    Kind.export: "Export",
    Kind.people: "People",
    Kind.settings: "Settings",
}


def record(
    session: Session,
    by: Optional[Actor],
    kind: Kind | str,
    summary: str,
    *,
    customer_id: Optional[int] = None,
    now: Optional[dt.datetime] = None,
) -> Activity:
    """Add one row to the trail in the caller's transaction (no commit)."""
    by = by or SHOP
    row = Activity(
        at=as_utc(now),
        person_id=by.id,
        person_name=by.name[:100],
        person_role=by.role.value,
        kind=Kind(kind).value,
        summary=str(summary)[:MAX_SUMMARY],
        customer_id=customer_id,
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class Filters:
    person_id: Optional[int] = None
    kinds: tuple[str, ...] = ()
    start: Optional[dt.datetime] = None  # UTC, inclusive
    end: Optional[dt.datetime] = None  # UTC, exclusive
    customer_id: Optional[int] = None


def filters(
    *,
    person_id: Optional[int] = None,
    kinds: Iterable[Any] = (),
    start: Optional[dt.datetime] = None,
    end: Optional[dt.datetime] = None,
    customer_id: Optional[int] = None,
) -> Filters:
    return Filters(
        person_id=person_id,
        kinds=tuple(Kind(k).value for k in kinds),
        start=None if start is None else as_utc(start),
        end=None if end is None else as_utc(end),
        customer_id=customer_id,
    )


def _where(f: Filters) -> list:
    clauses = []
    if f.person_id is not None:
        clauses.append(Activity.person_id == f.person_id)
    if f.kinds:
        clauses.append(col(Activity.kind).in_(f.kinds))
    if f.start is not None:
        clauses.append(Activity.at >= f.start)
    if f.end is not None:
        clauses.append(Activity.at < f.end)
    if f.customer_id is not None:
        clauses.append(Activity.customer_id == f.customer_id)
    return clauses


Cursor = tuple[dt.datetime, int]


def page(
    session: Session, f: Filters = Filters(), *, after: Optional[Cursor] = None, limit: int = PAGE_SIZE
) -> tuple[list[Activity], Optional[Cursor]]:
    """One page, newest first, and the cursor of the next page (None on the last)."""
    query = select(Activity).where(*_where(f))
    if after is not None:
        at, last_id = after
        query = query.where(or_(Activity.at < at, and_(Activity.at == at, Activity.id < last_id)))
    rows = list(session.exec(query.order_by(col(Activity.at).desc(), col(Activity.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].at, rows[-1].id) if more and rows else None)


def count(session: Session, f: Filters = Filters()) -> int:
    return session.exec(select(func.count()).select_from(Activity).where(*_where(f))).one()


def people_choices(session: Session) -> list[tuple[int, str]]:
    """(id, 'Name (role)') of everyone, disabled people too: their history stays."""
    rows = session.exec(select(Person).order_by(col(Person.name), col(Person.id))).all()
    return [(p.id, f"{p.name} ({p.role}{', disabled' if p.disabled_at else ''})") for p in rows]


HEADER = ["when_utc", "person", "role", "kind", "what", "customer_id"]


def rows(items: Iterable[Activity]) -> list[dict[str, Any]]:
    return [
        {
            "When (UTC)": a.at.strftime("%Y-%m-%d %H:%M"),
            "Person": a.person_name,
            "Role": a.person_role.capitalize(),
            "Kind": _kind_label(a.kind),
            "What": a.summary,
        }
        for a in items
    ]


def _kind_label(kind: str) -> str:
    try:
        return Kind(kind).label
    except ValueError:
        return kind


def export(
    session: Session, f: Filters = Filters(), *, by: Optional[Actor] = None, batch: int = 2000
) -> Iterator[bytes]:
    """The filtered trail as CSV (UTF-8 with BOM), every row, formula-safe; the export itself is recorded."""
    by = allow(session, by, "export")
    record(session, by, Kind.export, f"Exported the activity trail ({count(session, f):,} rows)")
    session.commit()

    def all_rows() -> Iterator[list[Any]]:
        after: Optional[Cursor] = None
        while True:
            items, after = page(session, f, after=after, limit=batch)
            for a in items:
                yield [
                    a.at.isoformat(sep=" ", timespec="seconds"),
                    safe_cell(a.person_name),
                    a.person_role,
                    _kind_label(a.kind),
                    safe_cell(a.summary),
                    "" if a.customer_id is None else a.customer_id,
                ]
            if after is None:
                return

    return csv_chunks(HEADER, all_rows())


def for_customer(session: Session, customer_id: int, *, limit: int = 20) -> Sequence[Activity]:
    return page(session, filters(customer_id=customer_id), limit=limit)[0]


def latest(session: Session) -> Optional[dt.datetime]:
    return session.exec(select(func.max(Activity.at))).one()


def _now() -> dt.datetime:
    return utcnow()
