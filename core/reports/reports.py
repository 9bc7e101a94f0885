"""Reports (Data Analytics): headline figures, chart data and the Member Club report.

Every figure is one SQL aggregate over an index range; nothing loads all customers.
Dates are the shop's calendar days (the time zone in Texting Defaults); timestamps
are stored in UTC. The Member Club report lists pending double opt-in requests and
resends them through the outbox (request limits and quiet hours apply).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Iterable, Iterator, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, or_, select
from sqlmodel import Session, col

from core.consent import customers
from core.messaging import outbox, texting
from core import phones
from core.audiences.audiences import as_date, csv_chunks, no_index, phone_cell, safe_cell, source_label, utc_start_of
from core.clock import as_utc, shop_time
from core.db import lock_phones, run_write
from core.models import (
    Channel,
    ConsentEvent,
    Customer,
    FormSubmission,
    FormView,
    Message,
    MessageKind,
    MessageStatus,
    SignupForm,
    SmsStatus,
    Source,
    utcnow,
)
from core.errors import OwnerError
from core import activity
from core.staff.roles import Actor, allow

C = Customer.__table__.c
E = ConsentEvent.__table__.c
M = Message.__table__.c

PAGE_SIZE = 50
MAX_RANGE_DAYS = 3 * 366


class ReportError(OwnerError):
    """A report cannot be made as asked; the message says why."""


class InvalidDateRange(ReportError):
    pass


# --- The period a report covers ------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: dt.date  # first day, shop's calendar
    end: dt.date  # last day, included
    tz: str
    start_utc: dt.datetime
    end_utc: dt.datetime  # exclusive: when the day after `end` begins

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period(start: Any, end: Any, *, tz: str = "UTC") -> Period:
    """The days from `start` to `end` (both included). InvalidDateRange when it ends before it starts."""
    start, end = _day(start, "first day"), _day(end, "last day")
    if end < start:
        raise InvalidDateRange(f"The date range ends ({end:%d %b %Y}) before it starts ({start:%d %b %Y}): "
                               "pick a last day on or after the first.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidDateRange(f"Pick a range of at most {MAX_RANGE_DAYS:,} days.")
    return Period(start, end, tz, utc_start_of(start, tz), utc_start_of(end + dt.timedelta(days=1), tz))


def _day(value: Any, what: str) -> dt.date:
    day = as_date(value)
    if day is None:
        raise InvalidDateRange(f"The {what} is not a date (use YYYY-MM-DD).")
    return day


def shop_period(session: Session, start: Any, end: Any) -> Period:
    return period(start, end, tz=texting.get_defaults(session).timezone)


def local_today(session: Session, now: Optional[dt.datetime] = None) -> dt.date:
    tz = ZoneInfo(texting.get_defaults(session).timezone)
    return as_utc(now).replace(tzinfo=dt.timezone.utc).astimezone(tz).date()


# --- Headline figures ------------------------------------------------------------------------------

def status_counts_at(session: Session, at: Optional[dt.datetime] = None, *,
                     now: Optional[dt.datetime] = None) -> dict[SmsStatus, int]:
    """How many customers were in each status at the instant `at` (UTC); now when None.

    Today's counts come from the status index. For a past instant the consent ledger is
    rewound: every status change is an event (set_status is the only way a status moves)
    and a new customer starts not opted in, so the events after `at` and the customers
    added after it are taken back.
    """
    now = as_utc(now)
    counts = {s: 0 for s in SmsStatus}
    for status, n in session.execute(select(C.sms_status, func.count()).group_by(C.sms_status)):
        counts[SmsStatus(status)] += n
    if at is None or at >= now:
        return counts
    every = list(SmsStatus)
    moved_in = session.execute(select(E.new_status, func.count())
                               .where(E.new_status.in_(every), E.occurred_at >= at).group_by(E.new_status))
    for status, n in moved_in:  # each change after `at` is undone: out of its new status ...
        counts[SmsStatus(status)] -= n
    moved_out = session.execute(select(E.old_status, func.count())
                                .where(E.old_status.in_(every), E.occurred_at >= at).group_by(E.old_status))
    for status, n in moved_out:  # ... back into its old one
        counts[SmsStatus(status)] += n
    # a first event loaded without an old status: the customer was not opted in before it
    # (a query of its own: an OR with IS NULL would make SQLite merge two index scans)
    counts[SmsStatus.not_opted_in] += session.execute(
        select(func.count()).select_from(ConsentEvent.__table__)
        .where(E.old_status.is_(None), E.occurred_at >= at)).scalar_one()
    added = session.execute(select(func.count()).select_from(Customer.__table__)
                            .where(C.created_at >= at)).scalar_one()
    counts[SmsStatus.not_opted_in] -= added
    return counts


@dataclass
class Headline:
    period: Period
    counts: dict[SmsStatus, int]  # at the end of the period (now, when it runs to today)
    change: dict[SmsStatus, int]  # over the period
    total: int
    opt_in_rate: Optional[float]  # opted in / all customers
    requests_sent: int
    customers_asked: int
    confirmed: int
    confirmation_rate: Optional[float]  # confirmed / customers asked
    median_time_to_confirm: Optional[dt.timedelta]


def requests_sent(session: Session, p: Period) -> tuple[int, int]:
    """Opt-in requests that went out in the period, and to how many customers."""
    in_range = and_(M.kind == MessageKind.opt_in_request, M.sent_at >= p.start_utc, M.sent_at < p.end_utc)
    sent, asked = session.execute(
        select(func.count(), func.count(func.distinct(M.customer_id))).where(in_range)).one()
    return sent, asked


def confirmations(session: Session, p: Period) -> tuple[int, Optional[dt.timedelta]]:
    """Pending customers who confirmed (Y/YES) in the period, and the median time they had waited."""
    confirmed = and_(E.new_status == SmsStatus.opted_in, E.old_status == SmsStatus.pending,
                     E.occurred_at >= p.start_utc, E.occurred_at < p.end_utc)
    confirmed_n, unknown = session.execute(
        select(func.count(), func.count(case((E.pending_seconds.is_(None), 1)))).where(confirmed)).one()
    if not confirmed_n:
        return 0, None
    if not unknown:  # the median in SQL: the one or two middle waits, not every wait
        middle = session.execute(select(E.pending_seconds).where(confirmed).order_by(E.pending_seconds)
                                 .limit(2 - confirmed_n % 2).offset((confirmed_n - 1) // 2)).scalars().all()
        return confirmed_n, dt.timedelta(seconds=int(statistics.mean(middle)))
    known = list(session.execute(select(E.pending_seconds).where(confirmed, E.pending_seconds.is_not(None)))
                 .scalars())
    # events written without set_status (a history loaded in bulk): the wait is found in the ledger,
    # from the customer's latest move to pending before the confirmation
    P = ConsentEvent.__table__.alias("p")
    since = (select(func.max(P.c.occurred_at))
             .where(P.c.customer_id == E.customer_id, P.c.new_status == SmsStatus.pending,
                    P.c.occurred_at <= E.occurred_at, P.c.id != E.id)
             .scalar_subquery())
    for at, began in session.execute(select(E.occurred_at, since).where(confirmed, E.pending_seconds.is_(None))):
        if began is not None:
            known.append(max(0, int((_as_datetime(at) - _as_datetime(began)).total_seconds())))
    return confirmed_n, (dt.timedelta(seconds=int(statistics.median(known))) if known else None)


def headline(session: Session, start: Any, end: Any, *, now: Optional[dt.datetime] = None) -> Headline:
    p = shop_period(session, start, end)
    now = as_utc(now)
    at_end = status_counts_at(session, p.end_utc, now=now)
    at_start = status_counts_at(session, p.start_utc, now=now)
    total = sum(at_end.values())
    sent, asked = requests_sent(session, p)
    confirmed, median = confirmations(session, p)
    return Headline(
        period=p, counts=at_end, change={s: at_end[s] - at_start[s] for s in SmsStatus}, total=total,
        opt_in_rate=(at_end[SmsStatus.opted_in] / total) if total else None,
        requests_sent=sent, customers_asked=asked, confirmed=confirmed,
        confirmation_rate=(confirmed / asked) if asked else None, median_time_to_confirm=median,
    )


def duration_text(value: Optional[dt.timedelta]) -> str:
    """'3 h 12 min', '2 days 4 h', '45 s'; an en dash when unknown."""
    if value is None:
        return "–"
    s = int(value.total_seconds())
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h" if hours else f"{days} day{'s' if days != 1 else ''}"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


# --- Chart data ---------------------------------------------------------------------------------------

def _hour(column, dialect: str):
    """The UTC hour a timestamp falls in, as the database groups it.

    SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff': its first 13 characters are the hour
    (cutting text is several times cheaper than strftime on a year of events)."""
    if dialect == "postgresql":
        return func.date_trunc("hour", column)
    return func.substr(column, 1, 13)


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return dt.datetime.fromisoformat(str(value))


def _local_day(hour_utc: Any, tz: ZoneInfo) -> dt.date:
    return _as_datetime(hour_utc).replace(tzinfo=dt.timezone.utc).astimezone(tz).date()


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
    q = (select(hour.label("hour"), E.new_status, func.count())
         .where(E.occurred_at >= p.start_utc, E.occurred_at < p.end_utc,
                E.new_status.in_([SmsStatus.opted_in, SmsStatus.opted_out]))
         .group_by(hour, E.new_status))
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
        q = (select(hour.label("hour"), func.count())
             .where(has_original, column >= p.start_utc, column < p.end_utc).group_by(hour))
        for h, n in session.execute(q):
            b = _bucket(_local_day(h, tz), by)
            if b in totals:
                totals[b]["opt_ins"] += sign * n


def by_source(session: Session, p: Period) -> list[dict[str, Any]]:
    """Opt-ins and opt-outs in the period by where the customers came from (POS sources by name)."""
    in_range = and_(E.new_status.in_([SmsStatus.opted_in, SmsStatus.opted_out]),
                    E.occurred_at >= p.start_utc, E.occurred_at < p.end_utc)
    counts: list[tuple[str, str, Any, int]] = []
    for key, status, n in session.execute(select(E.customer_source, E.new_status, func.count()).where(in_range)
                                          .group_by(E.customer_source, E.new_status)):
        if key is not None:  # recorded with the event by set_status
            source, _, det = key.partition(":")
            counts.append((source, det, status, n))
    # events written without set_status (a history loaded in bulk) take the source from the customer
    detail = case((C.source == Source.pos_sync.value, C.source_detail), else_=literal(""))
    unknown = (select(C.source, detail.label("detail"), E.new_status, func.count())
               .select_from(ConsentEvent.__table__.join(Customer.__table__, C.id == E.customer_id))
               .where(in_range, E.customer_source.is_(None))
               .group_by(C.source, detail, E.new_status))
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
    confirmed = select(literal(1)).where(
        c.c.customer_id == r.c.customer_id, no_index(c.c.new_status) == SmsStatus.opted_in,
        no_index(c.c.old_status) == SmsStatus.pending, no_index(c.c.occurred_at) >= r.c.occurred_at).exists()
    opted_out = select(literal(1)).where(
        o.c.customer_id == r.c.customer_id, no_index(o.c.new_status) == SmsStatus.opted_out,
        no_index(o.c.old_status) == SmsStatus.opted_in, no_index(o.c.occurred_at) >= r.c.occurred_at).exists()
    asked = (select(case((confirmed, 1), else_=0).label("confirmed"), case((opted_out, 1), else_=0).label("out"))
             .where(r.c.new_status == SmsStatus.pending, r.c.occurred_at >= p.start_utc, r.c.occurred_at < p.end_utc)
             .subquery())
    requested, conf, out = session.execute(
        select(func.count(), func.coalesce(func.sum(asked.c.confirmed), 0),
               func.coalesce(func.sum(asked.c.confirmed * asked.c.out), 0))).one()
    return [
        {"stage": FUNNEL_STAGES[0], "customers": requested, "share": 1.0 if requested else None},
        {"stage": FUNNEL_STAGES[1], "customers": conf, "share": conf / requested if requested else None},
        {"stage": FUNNEL_STAGES[2], "customers": out, "share": out / requested if requested else None},
    ]


def form_activity(session: Session, p: Period, *, form_id: Optional[int] = None,
                  by: str = "day") -> list[dict[str, Any]]:
    """Sign-up form views and submissions per day (or week). Views are counted per UTC day
    when recorded; submissions are placed on the shop's calendar."""
    by = _check_by(by)
    tz = ZoneInfo(p.tz)
    totals = {b: {"views": 0, "submissions": 0} for b in _buckets(p, by)}
    vq = (select(FormView.__table__.c.day, func.sum(FormView.__table__.c.views))
          .where(FormView.__table__.c.day >= p.start, FormView.__table__.c.day <= p.end))
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


def queued_messages(session: Session, *, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """How many messages wait for the sending window, and the first `limit`, soonest first."""
    defaults = texting.get_defaults(session)
    tz = ZoneInfo(defaults.timezone)
    total = outbox.queued_count(session)
    q = (select(M.id, M.phone, M.kind, M.send_at, M.created_at, C.first_name, C.last_name)
         .select_from(Message.__table__.outerjoin(Customer.__table__, C.id == M.customer_id))
         .where(M.status == MessageStatus.queued).order_by(M.send_at, M.id).limit(limit))
    rows = []
    for r in session.execute(q):
        kind = MessageKind(r.kind).label if r.kind else "Message"
        rows.append({
            "Customer": f"{r.first_name or ''} {r.last_name or ''}".strip() or "—",
            "Phone": phones.format_display(r.phone, defaults.default_region),
            "Message": kind,
            "Queued at": _local_text(r.created_at, tz),
            "Goes out at": _local_text(r.send_at, tz),
        })
    return total, rows


def _local_text(value: Optional[dt.datetime], tz: ZoneInfo) -> str:
    """A stored time as the owner reads it: the shop's time with its zone (core.clock.shop_time)."""
    if value == dt.datetime.max:
        return "when the window opens"
    return shop_time(value, tz)


# --- The Member Club report: pending double opt-in requests ---------------------------------------

_PENDING_COLUMNS = (C.id, C.first_name, C.last_name, C.phone, C.status_changed_at, C.opt_in_requests,
                    C.last_request_at, C.source, C.source_detail)

Cursor = tuple[Optional[dt.datetime], int]


@dataclass
class PendingPage:
    rows: list[dict[str, Any]]
    total: int
    next_after: Optional[Cursor]  # pass as `after` for the next page; None on the last page


def _pending_query(after: Optional[Cursor]):
    q = select(*_PENDING_COLUMNS).where(C.sms_status == SmsStatus.pending)
    if after is not None:
        t, i = after
        if t is None:
            q = q.where(or_(and_(C.status_changed_at.is_(None), C.id > i), C.status_changed_at.is_not(None)))
        else:
            q = q.where(or_(C.status_changed_at > t, and_(C.status_changed_at == t, C.id > i)))
    # longest waiting first; a pending row without a time (never expected) comes first
    return q.order_by(C.status_changed_at.asc().nulls_first(), C.id)


def _pending_row(r, now: dt.datetime, tz: ZoneInfo, region: str) -> dict[str, Any]:
    since = r.status_changed_at
    return {
        "id": r.id,
        "name": f"{r.first_name} {r.last_name}".strip(),
        "phone": r.phone,
        "phone_display": phones.format_display(r.phone, region),
        "requested_at": since,
        "requested_at_local": _local_text(since, tz),
        "requests_sent": r.opt_in_requests or 0,
        "last_request_at": r.last_request_at,
        "last_request_local": _local_text(r.last_request_at, tz),
        "days_waiting": max(0, (now - since).days) if since else None,
        "source": source_label(r.source, r.source_detail),
    }


def pending_requests(session: Session, *, after: Optional[Cursor] = None, limit: int = PAGE_SIZE,
                     now: Optional[dt.datetime] = None) -> PendingPage:
    """One page of customers waiting for a Y/YES, longest waiting first (keyset pagination)."""
    now = as_utc(now)
    defaults = texting.get_defaults(session)
    tz = ZoneInfo(defaults.timezone)
    total = session.execute(select(func.count()).select_from(Customer.__table__)
                            .where(C.sms_status == SmsStatus.pending)).scalar_one()
    rows = session.execute(_pending_query(after).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [_pending_row(r, now, tz, defaults.default_region) for r in rows]
    nxt = (rows[-1].status_changed_at, rows[-1].id) if more else None
    return PendingPage(rows=out, total=total, next_after=nxt)


def member_club_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Member Club table: one waiting customer a row, times in the shop's time zone with its zone."""
    return [{
        "Name": r["name"] or "—",
        "Phone": r["phone_display"],
        "Requested at": r["requested_at_local"],
        "Requests sent": r["requests_sent"],
        "Days waiting": r["days_waiting"],
        "Last request": r["last_request_local"],
        "Source": r["source"],
    } for r in rows]


MEMBER_CLUB_HEADER = ("name", "phone", "requested_at_utc", "requests_sent", "last_request_at_utc", "days_waiting",
                      "source")


def pending_export(session: Session, *, now: Optional[dt.datetime] = None, batch: int = 2000,
                   by: Optional[Actor] = None) -> Iterator[bytes]:
    """The whole Member Club report as CSV, streamed (phones as tel:+E.164, cells made safe); recorded."""
    by = allow(session, by, "export")
    now = as_utc(now)
    activity.record(session, by, activity.Kind.export, "Exported the Member Club list (customers waiting to confirm)")
    session.commit()

    def rows():
        after = None
        while True:
            chunk = session.execute(_pending_query(after).limit(batch)).all()
            for r in chunk:
                since = r.status_changed_at
                yield (safe_cell(f"{r.first_name} {r.last_name}".strip()), phone_cell(r.phone), _iso(since),
                       r.opt_in_requests or 0, _iso(r.last_request_at),
                       max(0, (now - since).days) if since else "", safe_cell(source_label(r.source, r.source_detail)))
            if len(chunk) < batch:
                return
            after = (chunk[-1].status_changed_at, chunk[-1].id)

    return csv_chunks(MEMBER_CLUB_HEADER, rows())


def rows_csv(table: Any) -> bytes:
    """A chart's table (a pandas DataFrame, or a list of dicts) as CSV bytes, cells made safe."""
    if hasattr(table, "to_dict"):
        header = [str(c) for c in table.columns]
        records = table.to_dict("records")
    else:
        records = list(table)
        header = list(records[0]) if records else []

    def cell(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ", timespec="seconds")
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
        return safe_cell(v)

    return b"".join(csv_chunks(header, ([cell(r[h]) for h in header] for r in records)))


def export_table(session: Session, table: Any, *, name: str, by: Optional[Actor] = None) -> bytes:
    """A report's table as CSV (rows_csv) for a download: checks the export role and records it."""
    by = allow(session, by, "export")
    activity.record(session, by, activity.Kind.export, f"Downloaded the report table “{name}”")
    session.commit()
    return rows_csv(table)


def _iso(value: Optional[dt.datetime]) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else ""


RESEND_BATCH = 200
NO_LONGER_A_CUSTOMER = "No longer a customer"


def resend(session: Session, customer_ids: Iterable[int], now: Optional[dt.datetime] = None, *,
           by: Optional[Actor] = None) -> outbox.SendSummary:
    """Send the opt-in request again to these customers, through the outbox as a bulk send:
    the request limits refuse some, quiet hours queue some. Commits per batch of 200."""
    by = allow(session, by, "resend_requests")
    given_now = None if now is None else as_utc(now)
    ids: list[int] = []
    for i in customer_ids:
        i = int(i)
        if i not in ids:
            ids.append(i)
    summary = outbox.SendSummary()
    defaults = texting.get_defaults(session)

    for start in range(0, len(ids), RESEND_BATCH):
        batch = ids[start:start + RESEND_BATCH]

        def work(batch=batch) -> list[SimpleNamespace]:
            phones_by_id = dict(session.execute(select(Customer.id, Customer.phone)
                                                .where(col(Customer.id).in_(batch))).all())
            lock_phones(session, phones_by_id.values())  # every phone of the batch, in one sorted step
            fresh = {c.id: c for c in session.scalars(  # as they are now, under the lock
                select(Customer).where(col(Customer.id).in_(batch)).execution_options(populate_existing=True)).all()}
            now = given_now or utcnow()
            results = []
            for cid in batch:
                customer = fresh.get(cid)
                if customer is None:
                    results.append(SimpleNamespace(status=MessageStatus.blocked, reason=NO_LONGER_A_CUSTOMER))
                    continue
                msg = customers.send_opt_in_request(
                    session, customer, channel=Channel.dashboard, now=now, bulk=True, defaults=defaults,
                    evidence={**by.evidence, "action": "resent the opt-in request"})
                results.append(SimpleNamespace(status=msg.status, reason=msg.reason))
            sent = sum(1 for r in results if r.status is MessageStatus.sent)
            activity.record(session, by, activity.Kind.consent,
                            f"Resent the opt-in request to {len(batch):,} customer{'' if len(batch) == 1 else 's'} "
                            f"({sent:,} sent now)", customer_id=batch[0] if len(batch) == 1 else None, now=now)
            session.flush()
            return results

        for result in run_write(session, work):  # counted once the batch is committed
            summary.add(result)
    return summary


def summary_sentences(summary: outbox.SendSummary) -> list[str]:
    """What a resend did, in words: sent, queued (and why), refused (and why)."""
    out = [f"{summary.sent:,} sent now."]
    if summary.queued:
        out.append(f"{summary.queued:,} queued: it is quiet hours for "
                   f"{'that customer' if summary.queued == 1 else 'those customers'}; "
                   f"{'it goes' if summary.queued == 1 else 'they go'} out when the sending window opens.")
    if summary.blocked:
        out.append(f"{summary.blocked:,} refused:")
        for reason, n in sorted(summary.reasons.items(), key=lambda kv: -kv[1]):
            out.append(f"• {reason} ({n:,})")
    return out


__all__ = [
    "ReportError", "InvalidDateRange", "Period", "period", "shop_period", "local_today", "status_counts_at",
    "Headline", "headline", "requests_sent", "confirmations", "duration_text", "opt_ins_and_outs", "by_source", "funnel", "form_activity",
    "form_choices", "queued_messages", "PendingPage", "pending_requests", "pending_export", "resend",
    "summary_sentences", "rows_csv",
]
