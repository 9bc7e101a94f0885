"""POS sources and their syncs (rulebook §7).

A POS source is a point-of-sale system whose customer export the shop uploads (Settings > Integrations).
A sync runs the export through core.importing.service.import_pos_file with origin pos_sync: contacts are
upserted by phone, POS data never opts anyone in and never lifts an opt-out (a row that says opted out is recorded, as any
opt-out is), and each contact is remembered per source (PosContact) with the time of its FIRST sync.

The setting "Send an SMS double opt-in request if a contact with a phone number is synced from this
source after: DATE" (off when empty):
  * "synced after DATE" means the contact's first sync from this source (PosContact.synced_at) is at or
    after midnight at the start of DATE in the shop's time zone (Texting Defaults);
  * at every sync, each such contact who is not_opted_in (or pending, within the request limits) gets an
    opt-in request, through the rules of outbox.send (bulk: quiet hours queue it; at most 2 requests per
    phone, never two within 24 hours);
  * requests are deduplicated per contact and "round": re-running the same sync sends nothing new;
    turning the setting on, or moving the date back ("go back in time"), starts a new round and
    re-evaluates the contacts already synced after the new date, so those still not opted in are asked
    again (within the limits). Moving the date forward starts no new round.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.importing.context import PosTarget
from core.importing.report import ImportReport, Progress
from core.importing.requests import RequestTally, request_for_pos_contacts
from core.importing.service import import_pos_file
from core.messaging import texting
from core.clock import as_utc
from core.db import lock_for_write, run_write
from core.models import PosContact, PosSource, utcnow
from core.text import clean_text
from core.errors import OwnerError
from core import activity
from core.staff.roles import Actor, allow

MAX_NAME = 100
REEVALUATE_BATCH = 5000

LABEL = "Send an SMS double opt-in request if a contact with a phone number is synced from this source after:"


class PosError(OwnerError):
    """A POS action that cannot be done; the message says why."""


class SourceNotFound(PosError):
    pass


@dataclass
class SourceSummary:
    source: PosSource
    contacts: int

    @property
    def id(self) -> int:
        return self.source.id

    @property
    def name(self) -> str:
        return self.source.name


@dataclass
class RequestSummary(RequestTally):
    """What saving the date did: contacts evaluated, requests sent now, queued for quiet hours, refused
    (and why), already asked in this round; whether a new round started."""

    evaluated: int = 0
    new_round: bool = False


def _clean_name(name: Any) -> str:
    name = clean_text(name)
    if not name:
        raise PosError("Give the POS source a name, e.g. Dutchie or Square.")
    if len(name) > MAX_NAME:
        raise PosError(f"Keep the name to {MAX_NAME} characters or fewer.")
    return name


def get_source(session: Session, source_id: int) -> PosSource:
    src = session.get(PosSource, source_id)
    if src is None:
        raise SourceNotFound(f"No POS source with id {source_id}.")
    return src


def create_source(
    session: Session, *, name: str, now: Optional[dt.datetime] = None, by: Optional[Actor] = None
) -> PosSource:
    by = allow(session, by, "pos_sources")
    name = _clean_name(name)

    def work():
        lock_for_write(session, "pos_source")
        taken = session.exec(select(PosSource.id).where(func.lower(PosSource.name) == name.lower())).first()
        if taken is not None:
            raise PosError(f"There is already a POS source named {name}.")
        src = PosSource(name=name, created_at=as_utc(now))
        session.add(src)
        session.flush()
        activity.record(session, by, activity.Kind.pos, f"Added the POS source {name}", now=now)
        return src

    src = run_write(session, work)
    session.refresh(src)
    return src


def rename_source(session: Session, *, source_id: int, name: str, by: Optional[Actor] = None) -> PosSource:
    by = allow(session, by, "pos_sources")
    name = _clean_name(name)

    def work():
        lock_for_write(session, "pos_source")
        src = get_source(session, source_id)
        taken = session.exec(
            select(PosSource.id).where(func.lower(PosSource.name) == name.lower(), PosSource.id != source_id)
        ).first()
        if taken is not None:
            raise PosError(f"There is already a POS source named {name}.")
        if src.name != name:
            activity.record(session, by, activity.Kind.pos, f"Renamed the POS source {src.name} to {name}")
        src.name = name
        session.add(src)
        return src

    return run_write(session, work)


def delete_source(session: Session, *, source_id: int, by: Optional[Actor] = None) -> None:
    """Remove a source and its list of synced contacts; the customers, their consent and messages stay."""
    by = allow(session, by, "pos_sources")

    def work():
        lock_for_write(session, "pos_source")
        src = get_source(session, source_id)
        activity.record(session, by, activity.Kind.pos, f"Removed the POS source {src.name}")
        session.exec(PosContact.__table__.delete().where(PosContact.__table__.c.source_id == source_id))
        session.delete(src)

    run_write(session, work)


def list_sources(session: Session) -> list[SourceSummary]:
    """Every source with how many contacts it has synced (one aggregate query)."""
    counts = dict(session.exec(select(PosContact.source_id, func.count()).group_by(PosContact.source_id)).all())
    return [
        SourceSummary(s, int(counts.get(s.id, 0)))
        for s in session.exec(select(PosSource).order_by(func.lower(PosSource.name))).all()
    ]


def cutoff(session: Session, date: Optional[dt.date]) -> Optional[dt.datetime]:
    """The UTC instant (naive) where `date` starts in the shop's time zone; None when off."""
    if date is None:
        return None
    tz = ZoneInfo(texting.get_defaults(session).timezone)
    start = dt.datetime.combine(date, dt.time(0, 0), tzinfo=tz)
    return start.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _target(session: Session, src: PosSource) -> PosTarget:
    return PosTarget(
        source_id=src.id, name=src.name, cutoff=cutoff(session, src.request_after), round=src.request_round or 0
    )


def set_request_after(
    session: Session,
    source_id: int,
    date: Optional[dt.date],
    *,
    now: Optional[dt.datetime] = None,
    by: Optional[Actor] = None,
) -> RequestSummary:
    """Save the date setting (None = off). Turning it on or moving it back starts a new round; then
    the contacts already synced after the date are re-evaluated (opt-in requests where due).
    Running it again with the same date sends nothing new."""
    by = allow(session, by, "pos_date")
    if date is not None and not isinstance(date, dt.date):
        raise PosError("The setting takes a date (or nothing, to turn it off).")
    if isinstance(date, dt.datetime):
        date = date.date()
    given_now = None if now is None else as_utc(now)
    now = given_now or utcnow()
    summary = RequestSummary()

    def save():
        lock_for_write(session, "pos_source")
        src = get_source(session, source_id)
        old = src.request_after
        moved_back = date is not None and (old is None or date < old)
        src.request_after = date
        if moved_back:
            src.request_round = (src.request_round or 0) + 1
        # the walkthrough reads this log of changes
        src.request_after_log = [
            *(src.request_after_log or []),
            {"date": date.isoformat() if date else None, "at": now.isoformat(), "by": by.name},
        ]
        session.add(src)
        if old != date:
            activity.record(
                session,
                by,
                activity.Kind.pos_date,
                f"Turned off the double opt-in date of {src.name}"
                if date is None
                else f"Set the double opt-in date of {src.name} to {date:%m/%d/%Y}"
                + (f" (was {old:%m/%d/%Y})" if old else ""),
                now=now,
            )
        return moved_back

    summary.new_round = run_write(session, save)
    if date is None:
        return summary
    src = get_source(session, source_id)
    target = _target(session, src)
    last_id = 0
    while True:
        tally, seen = run_write(
            session,
            lambda: request_for_pos_contacts(
                session, target=target, now=given_now, after_id=last_id, limit=REEVALUATE_BATCH
            ),
        )
        summary.evaluated += seen[0]
        summary.merge(tally)
        if seen[1] is None:
            break
        last_id = seen[1]
    return summary


def sync(
    session: Session,
    *,
    source_id: int,
    file,
    now: Optional[dt.datetime] = None,
    file_name: Optional[str] = None,
    mapping: Optional[dict[str, Optional[str]]] = None,
    progress: Optional[Progress] = None,
    by: Optional[Actor] = None,
) -> ImportReport:
    """Sync a POS customer export (a path or an uploaded file) into this source.

    Returns the importer's report: contacts created/updated, invalid rows, and the opt-in requests the
    date setting sent, queued or refused (with the reasons). Raises ImportProblem for a file
    that cannot be read (nothing written)."""
    by = allow(session, by, "pos_sync")
    given_now = None if now is None else as_utc(now)
    now = given_now or utcnow()
    src = get_source(session, source_id)
    target = _target(session, src)
    region = texting.get_defaults(session).default_region
    report = import_pos_file(
        session,
        file,
        target=target,
        default_region=region,
        mapping=mapping,
        now=given_now,
        file_name=file_name,
        progress=progress,
        by=by,
    )

    def record():
        s = get_source(session, source_id)
        s.last_sync_at = now
        s.last_counts = {**report.counts(), "file": report.file_name, "import_run_id": report.import_run_id}
        session.add(s)
        activity.record(
            session,
            by,
            activity.Kind.pos,
            f"Synced {report.file_name} into {s.name}: "
            f"{report.created:,} new, {report.updated:,} updated, {report.requests_sent:,} opt-in "
            "requests sent",
            now=now,
        )

    run_write(session, record)
    return report


def contacts_synced_after(session: Session, source_id: int, date: Optional[dt.date]) -> int:
    """How many contacts of this source count as synced after `date` (for the page's explanation)."""
    start = cutoff(session, date)
    stmt = select(func.count()).select_from(PosContact).where(PosContact.source_id == source_id)
    if start is not None:
        stmt = stmt.where(col(PosContact.synced_at) >= start)
    return int(session.exec(stmt).one())


__all__ = [
    "LABEL",
    "PosError",
    "SourceNotFound",
    "SourceSummary",
    "RequestSummary",
    "create_source",
    "rename_source",
    "delete_source",
    "list_sources",
    "get_source",
    "cutoff",
    "set_request_after",
    "sync",
    "contacts_synced_after",
]
