"""The Reports page's charts: opt-ins and opt-outs over time and by source, the double opt-in
funnel, sign-up form views and submissions.

Each chart is one grouped SQL aggregate over an index range, placed on the shop's calendar
(days, or weeks starting Mondays) in Python from hourly groups.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, select
from sqlmodel import Session

from core import activity, exports
from core.audiences.conditions import source_label
from core.audiences.query import no_index
from core.models import ConsentEvent, Customer, FormSubmission, FormView, SignupForm, SmsStatus, Source
from core.reports.period import Period, ReportError, as_datetime
from core.staff.roles import Actor, allow

C = Customer.__table__.c
E = ConsentEvent.__table__.c


def _hour(column, dialect: str):
    """The UTC hour a timestamp falls in, as the database groups it.

    SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff': its first 13 characters are the hour
    (cutting text is several times cheaper than strftime on a year of events)."""
    if dialect == "postgresql":
        return func.date_trunc("hour", column)
    return func.substr(column, 1, 13)


def _local_day(hour_utc: Any, tz: ZoneInfo) -> dt.date:
    return as_datetime(hour_utc).replace(tzinfo=dt.timezone.utc).astimezone(tz).date()


def _bucket(day: dt.date, by: str) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if by == "week" else day


def _buckets(p: Period, by: str) -> list[dt.date]:
    out, day = [], p.start
    while day <= p.end:
        b = _bucket(day, by)
        if not out or out[-1] != b:
            out.append(b)
        day += dt.timedelta(days=1)
    return out


def _check_by(by: str) -> str:
    if by not in ("day", "week"):
        raise ReportError("Group by day or by week.")
    return by


def opt_ins_and_outs(session: Session, p: Period, *, by: str = "day") -> list[dict[str, Any]]:
    """Opt-ins and opt-outs per day (or per week, starting Mondays) in the period."""
    by = _check_by(by)
    tz = ZoneInfo(p.tz)
    hour = _hour(E.occurred_at, session.get_bind().dialect.name)
    q = (
        select(hour.label("hour"), E.new_status, func.count())
        .where(
            E.occurred_at >= p.start_utc,
            E.occurred_at < p.end_utc,
            E.new_status.in_([SmsStatus.opted_in, SmsStatus.opted_out]),
        )
        .group_by(hour, E.new_status)
    )
    totals = {b: {"opt_ins": 0, "opt_outs": 0} for b in _buckets(p, by)}
    for h, status, n in session.execute(q):
        b = _bucket(_local_day(h, tz), by)
        if b in totals:
            totals[b]["opt_ins" if SmsStatus(status) is SmsStatus.opted_in else "opt_outs"] += n
    _move_to_original_dates(session, p, by, tz, totals)
    return [{by: b, "opt_ins": v["opt_ins"], "opt_outs": v["opt_outs"]} for b, v in totals.items()]


def _move_to_original_dates(session: Session, p: Period, by: str, tz: ZoneInfo, totals: dict) -> None:
    """Imported opt-ins count on the day the customer originally consented (the old provider's date, §11),
    not the day of the import: out of the import's day, into the original one (index ix_consent_original)."""
    dialect = session.get_bind().dialect.name
    has_original = and_(E.consented_at.is_not(None), E.new_status == SmsStatus.opted_in)
    for column, sign in ((E.occurred_at, -1), (E.consented_at, 1)):
        hour = _hour(column, dialect)
        q = (
            select(hour.label("hour"), func.count())
            .where(has_original, column >= p.start_utc, column < p.end_utc)
            .group_by(hour)
        )
        for h, n in session.execute(q):
            b = _bucket(_local_day(h, tz), by)
            if b in totals:
                totals[b]["opt_ins"] += sign * n


def by_source(session: Session, p: Period) -> list[dict[str, Any]]:
    """Opt-ins and opt-outs in the period by where the customers came from (POS sources by name)."""
    in_range = and_(
        E.new_status.in_([SmsStatus.opted_in, SmsStatus.opted_out]),
        E.occurred_at >= p.start_utc,
        E.occurred_at < p.end_utc,
    )
    counts: list[tuple[str, str, Any, int]] = []
    for key, status, n in session.execute(
        select(E.customer_source, E.new_status, func.count()).where(in_range).group_by(E.customer_source, E.new_status)
    ):
        if key is not None:  # recorded with the event by set_status
            source, _, det = key.partition(":")
            counts.append((source, det, status, n))
    # events written without set_status (a history loaded in bulk) take the source from the customer
    detail = case((C.source == Source.pos_sync.value, C.source_detail), else_=literal(""))
    unknown = (
        select(C.source, detail.label("detail"), E.new_status, func.count())
        .select_from(ConsentEvent.__table__.join(Customer.__table__, C.id == E.customer_id))
        .where(in_range, E.customer_source.is_(None))
        .group_by(C.source, detail, E.new_status)
    )
    counts += [tuple(r) for r in session.execute(unknown)]
    rows: dict[str, dict[str, Any]] = {}
    for source, det, status, n in counts:
        label = source_label(source, det or "")
        row = rows.setdefault(label, {"source": label, "opt_ins": 0, "opt_outs": 0})
        row["opt_ins" if SmsStatus(status) is SmsStatus.opted_in else "opt_outs"] += n
    return sorted(rows.values(), key=lambda r: (-r["opt_ins"], -r["opt_outs"], r["source"]))


FUNNEL_STAGES = ("Requested", "Confirmed", "Later opted out")


def funnel(session: Session, p: Period) -> list[dict[str, Any]]:
    """The double opt-in funnel of the customers asked in the period (became pending in it):
    how many confirmed (replied Y/YES, at any time since) and how many of those later opted out.

    A customer becomes pending once at most (only from not opted in, and nothing leads back
    there), so the period's moves to pending are its customers.
    """
    r = ConsentEvent.__table__.alias("r")
    c = ConsentEvent.__table__.alias("c")
    o = ConsentEvent.__table__.alias("o")
    # each lookup reads the customer's own events (customer_id index), never a time range
    confirmed = (
        select(literal(1))
        .where(
            c.c.customer_id == r.c.customer_id,
            no_index(c.c.new_status) == SmsStatus.opted_in,
            no_index(c.c.old_status) == SmsStatus.pending,
            no_index(c.c.occurred_at) >= r.c.occurred_at,
        )
        .exists()
    )
    opted_out = (
        select(literal(1))
        .where(
            o.c.customer_id == r.c.customer_id,
            no_index(o.c.new_status) == SmsStatus.opted_out,
            no_index(o.c.old_status) == SmsStatus.opted_in,
            no_index(o.c.occurred_at) >= r.c.occurred_at,
        )
        .exists()
    )
    asked = (
        select(case((confirmed, 1), else_=0).label("confirmed"), case((opted_out, 1), else_=0).label("out"))
        .where(r.c.new_status == SmsStatus.pending, r.c.occurred_at >= p.start_utc, r.c.occurred_at < p.end_utc)
        .subquery()
    )
    requested, conf, out = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(asked.c.confirmed), 0),
            func.coalesce(func.sum(asked.c.confirmed * asked.c.out), 0),
        )
    ).one()
    return [
        {"stage": FUNNEL_STAGES[0], "customers": requested, "share": 1.0 if requested else None},
        {"stage": FUNNEL_STAGES[1], "customers": conf, "share": conf / requested if requested else None},
        {"stage": FUNNEL_STAGES[2], "customers": out, "share": out / requested if requested else None},
    ]


def form_activity(
    session: Session, p: Period, *, form_id: Optional[int] = None, by: str = "day"
) -> list[dict[str, Any]]:
    """Sign-up form views and submissions per day (or week). Views are counted per UTC day
    when recorded; submissions are placed on the shop's calendar."""
    by = _check_by(by)
    tz = ZoneInfo(p.tz)
    totals = {b: {"views": 0, "submissions": 0} for b in _buckets(p, by)}
    vq = select(FormView.__table__.c.day, func.sum(FormView.__table__.c.views)).where(
        FormView.__table__.c.day >= p.start, FormView.__table__.c.day <= p.end
    )
    if form_id is not None:
        vq = vq.where(FormView.__table__.c.form_id == form_id)
    for day, n in session.execute(vq.group_by(FormView.__table__.c.day)):
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        b = _bucket(day, by)
        if b in totals:
            totals[b]["views"] += int(n or 0)
    S = FormSubmission.__table__.c
    hour = _hour(S.submitted_at, session.get_bind().dialect.name)
    sq = select(hour, func.count()).where(S.submitted_at >= p.start_utc, S.submitted_at < p.end_utc)
    if form_id is not None:
        sq = sq.where(S.form_id == form_id)
    for h, n in session.execute(sq.group_by(hour)):
        b = _bucket(_local_day(h, tz), by)
        if b in totals:
            totals[b]["submissions"] += n
    return [{by: b, **v} for b, v in totals.items()]


def form_choices(session: Session) -> list[tuple[int, str]]:
    t = SignupForm.__table__.c
    return [(i, n) for i, n in session.execute(select(t.id, t.name).order_by(t.is_main.desc(), t.name))]


def export_table(session: Session, table: Any, *, name: str, by: Optional[Actor] = None) -> bytes:
    """A report's table as CSV (exports.table_csv) for a download: checks the export role and records it."""
    by = allow(session, by, "export")
    activity.record(session, by, activity.Kind.export, f"Downloaded the report table “{name}”")
    session.commit()
    return exports.table_csv(table)


__all__ = ["opt_ins_and_outs", "by_source", "FUNNEL_STAGES", "funnel", "form_activity", "form_choices", "export_table"]
