"""The Reports page's headline figures: customers in each status (now or at any past instant),
requests sent, confirmations and the median time to confirm, and the queue waiting to go out.

Every figure is one SQL aggregate over an index range; nothing loads all customers
(bench/audiences_bench.py measures them at 1,000,000 customers).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from core import phones
from core.clock import as_utc
from core.messaging import outbox, texting
from core.models import ConsentEvent, Customer, Message, MessageKind, MessageStatus, SmsStatus
from core.reports.period import Period, as_datetime, local_text, shop_period

C = Customer.__table__.c
E = ConsentEvent.__table__.c
M = Message.__table__.c


def status_counts_at(
    session: Session, at: Optional[dt.datetime] = None, *, now: Optional[dt.datetime] = None
) -> dict[SmsStatus, int]:
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
    moved_in = session.execute(
        select(E.new_status, func.count()).where(E.new_status.in_(every), E.occurred_at >= at).group_by(E.new_status)
    )
    for status, n in moved_in:  # each change after `at` is undone: out of its new status ...
        counts[SmsStatus(status)] -= n
    moved_out = session.execute(
        select(E.old_status, func.count()).where(E.old_status.in_(every), E.occurred_at >= at).group_by(E.old_status)
    )
    for status, n in moved_out:  # ... back into its old one
        counts[SmsStatus(status)] += n
    # a first event loaded without an old status: the customer was not opted in before it
    # (a query of its own: an OR with IS NULL would make SQLite merge two index scans)
    counts[SmsStatus.not_opted_in] += session.execute(
        select(func.count()).select_from(ConsentEvent.__table__).where(E.old_status.is_(None), E.occurred_at >= at)
    ).scalar_one()
    added = session.execute(select(func.count()).select_from(Customer.__table__).where(C.created_at >= at)).scalar_one()
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
    sent, asked = session.execute(select(func.count(), func.count(func.distinct(M.customer_id))).where(in_range)).one()
    return sent, asked


def confirmations(session: Session, p: Period) -> tuple[int, Optional[dt.timedelta]]:
    """Pending customers who confirmed (Y/YES) in the period, and the median time they had waited."""
    confirmed = and_(
        E.new_status == SmsStatus.opted_in,
        E.old_status == SmsStatus.pending,
        E.occurred_at >= p.start_utc,
        E.occurred_at < p.end_utc,
    )
    confirmed_n, unknown = session.execute(
        select(func.count(), func.count(case((E.pending_seconds.is_(None), 1)))).where(confirmed)
    ).one()
    if not confirmed_n:
        return 0, None
    if not unknown:  # the median in SQL: the one or two middle waits, not every wait
        middle = (
            session.execute(
                select(E.pending_seconds)
                .where(confirmed)
                .order_by(E.pending_seconds)
                .limit(2 - confirmed_n % 2)
                .offset((confirmed_n - 1) // 2)
            )
            .scalars()
            .all()
        )
        return confirmed_n, dt.timedelta(seconds=int(statistics.mean(middle)))
    known = list(session.execute(select(E.pending_seconds).where(confirmed, E.pending_seconds.is_not(None))).scalars())
    # events written without set_status (a history loaded in bulk): the wait is found in the ledger,
    # from the customer's latest move to pending before the confirmation
    P = ConsentEvent.__table__.alias("p")
    since = (
        select(func.max(P.c.occurred_at))
        .where(
            P.c.customer_id == E.customer_id,
            P.c.new_status == SmsStatus.pending,
            P.c.occurred_at <= E.occurred_at,
            P.c.id != E.id,
        )
        .scalar_subquery()
    )
    for at, began in session.execute(select(E.occurred_at, since).where(confirmed, E.pending_seconds.is_(None))):
        if began is not None:
            known.append(max(0, int((as_datetime(at) - as_datetime(began)).total_seconds())))
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
        period=p,
        counts=at_end,
        change={s: at_end[s] - at_start[s] for s in SmsStatus},
        total=total,
        opt_in_rate=(at_end[SmsStatus.opted_in] / total) if total else None,
        requests_sent=sent,
        customers_asked=asked,
        confirmed=confirmed,
        confirmation_rate=(confirmed / asked) if asked else None,
        median_time_to_confirm=median,
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


def queued_messages(session: Session, *, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """How many messages wait for the sending window, and the first `limit`, soonest first."""
    defaults = texting.get_defaults(session)
    tz = ZoneInfo(defaults.timezone)
    total = outbox.queued_count(session)
    q = (
        select(M.id, M.phone, M.kind, M.send_at, M.created_at, C.first_name, C.last_name)
        .select_from(Message.__table__.outerjoin(Customer.__table__, C.id == M.customer_id))
        .where(M.status == MessageStatus.queued)
        .order_by(M.send_at, M.id)
        .limit(limit)
    )
    rows = []
    for r in session.execute(q):
        kind = MessageKind(r.kind).label if r.kind else "Message"
        rows.append(
            {
                "Customer": f"{r.first_name or ''} {r.last_name or ''}".strip() or "—",
                "Phone": phones.format_display(r.phone, defaults.default_region),
                "Message": kind,
                "Queued at": local_text(r.created_at, tz),
                "Goes out at": local_text(r.send_at, tz),
            }
        )
    return total, rows


__all__ = [
    "status_counts_at",
    "Headline",
    "headline",
    "requests_sent",
    "confirmations",
    "duration_text",
    "queued_messages",
]
