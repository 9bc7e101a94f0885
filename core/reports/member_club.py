"""The Member Club report: customers waiting for a Y/YES to their double opt-in request.

Longest waiting first, a page at a time (core/paging.py), exported as CSV (core/exports.py), and
resent through the one request path (customers.send_opt_in_request: request limits and quiet
hours apply) under each phone's consent lock.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, Iterable, Iterator, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from core import activity, paging, phones
from core.audiences.conditions import source_label
from core.clock import as_utc
from core.consent import customers
from core.db import lock_phones, run_write
from core.exports import csv_chunks, phone_cell, safe_cell, utc_cell
from core.messaging import outbox, texting
from core.models import Channel, Customer, MessageStatus, SmsStatus, utcnow
from core.reports.period import local_text
from core.staff.roles import Actor, allow

C = Customer.__table__.c

_PENDING_COLUMNS = (
    C.id,
    C.first_name,
    C.last_name,
    C.phone,
    C.status_changed_at,
    C.opt_in_requests,
    C.last_request_at,
    C.source,
    C.source_detail,
)
# longest waiting first; a pending row without a time (never expected) comes first
LONGEST_WAITING = paging.Keyset((C.status_changed_at, C.id), nulls_first=True)


def _pending_query():
    return select(*_PENDING_COLUMNS).where(C.sms_status == SmsStatus.pending)


def _pending_row(r, now: dt.datetime, tz: ZoneInfo, region: str) -> dict[str, Any]:
    since = r.status_changed_at
    return {
        "id": r.id,
        "name": f"{r.first_name} {r.last_name}".strip(),
        "phone": r.phone,
        "phone_display": phones.format_display(r.phone, region),
        "requested_at": since,
        "requested_at_local": local_text(since, tz),
        "requests_sent": r.opt_in_requests or 0,
        "last_request_at": r.last_request_at,
        "last_request_local": local_text(r.last_request_at, tz),
        "days_waiting": max(0, (now - since).days) if since else None,
        "source": source_label(r.source, r.source_detail),
    }


def pending_requests(
    session: Session,
    *,
    after: Optional[paging.Cursor] = None,
    limit: int = paging.PAGE_SIZE,
    now: Optional[dt.datetime] = None,
) -> paging.Page:
    """One page of customers waiting for a Y/YES, longest waiting first (keyset pagination), with their total."""
    now = as_utc(now)
    defaults = texting.get_defaults(session)
    tz = ZoneInfo(defaults.timezone)
    total = session.execute(
        select(func.count()).select_from(Customer.__table__).where(C.sms_status == SmsStatus.pending)
    ).scalar_one()
    q = _pending_query()
    if after is not None:
        q = q.where(LONGEST_WAITING.after(after))
    rows = session.execute(q.order_by(*LONGEST_WAITING.order_by()).limit(limit + 1)).all()
    return paging.page_of(
        rows,
        limit=limit,
        keyset=LONGEST_WAITING,
        total=total,
        shape=lambda r: _pending_row(r, now, tz, defaults.default_region),
    )


def member_club_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Member Club table: one waiting customer a row, times in the shop's time zone with its zone."""
    return [
        {
            "Name": r["name"] or "—",
            "Phone": r["phone_display"],
            "Requested at": r["requested_at_local"],
            "Requests sent": r["requests_sent"],
            "Days waiting": r["days_waiting"],
            "Last request": r["last_request_local"],
            "Source": r["source"],
        }
        for r in rows
    ]


MEMBER_CLUB_HEADER = (
    "name",
    "phone",
    "requested_at_utc",
    "requests_sent",
    "last_request_at_utc",
    "days_waiting",
    "source",
)


def pending_export(
    session: Session, *, now: Optional[dt.datetime] = None, batch: int = 2000, by: Optional[Actor] = None
) -> Iterator[bytes]:
    """The whole Member Club report as CSV, streamed (phones as tel:+E.164, cells made safe); recorded."""
    by = allow(session, by, "export")
    now = as_utc(now)
    activity.record(session, by, activity.Kind.export, "Exported the Member Club list (customers waiting to confirm)")
    session.commit()

    def rows():
        for r in paging.keyset_rows(session, _pending_query(), LONGEST_WAITING, batch=batch):
            since = r.status_changed_at
            yield (
                safe_cell(f"{r.first_name} {r.last_name}".strip()),
                phone_cell(r.phone),
                utc_cell(since),
                r.opt_in_requests or 0,
                utc_cell(r.last_request_at),
                max(0, (now - since).days) if since else "",
                safe_cell(source_label(r.source, r.source_detail)),
            )

    return csv_chunks(MEMBER_CLUB_HEADER, rows())


RESEND_BATCH = 200
NO_LONGER_A_CUSTOMER = "No longer a customer"


def resend(
    session: Session, customer_ids: Iterable[int], now: Optional[dt.datetime] = None, *, by: Optional[Actor] = None
) -> outbox.SendSummary:
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
        batch = ids[start : start + RESEND_BATCH]

        def work(batch=batch) -> list[SimpleNamespace]:
            phones_by_id = dict(
                session.execute(select(Customer.id, Customer.phone).where(col(Customer.id).in_(batch))).all()
            )
            lock_phones(session, phones_by_id.values())  # every phone of the batch, in one sorted step
            fresh = {
                c.id: c
                for c in session.scalars(  # as they are now, under the lock
                    select(Customer).where(col(Customer.id).in_(batch)).execution_options(populate_existing=True)
                ).all()
            }
            now = given_now or utcnow()
            results = []
            for cid in batch:
                customer = fresh.get(cid)
                if customer is None:
                    results.append(SimpleNamespace(status=MessageStatus.blocked, reason=NO_LONGER_A_CUSTOMER))
                    continue
                msg = customers.send_opt_in_request(
                    session,
                    customer,
                    channel=Channel.dashboard,
                    now=now,
                    bulk=True,
                    defaults=defaults,
                    evidence={**by.evidence, "action": "resent the opt-in request"},
                )
                results.append(SimpleNamespace(status=msg.status, reason=msg.reason))
            sent = sum(1 for r in results if r.status is MessageStatus.sent)
            activity.record(
                session,
                by,
                activity.Kind.consent,
                f"Resent the opt-in request to {len(batch):,} customer{'' if len(batch) == 1 else 's'} "
                f"({sent:,} sent now)",
                customer_id=batch[0] if len(batch) == 1 else None,
                now=now,
            )
            session.flush()
            return results

        for result in run_write(session, work):  # counted once the batch is committed
            summary.add(result)
    return summary


def summary_sentences(summary: outbox.SendSummary) -> list[str]:
    """What a resend did, in words: sent, queued (and why), refused (and why)."""
    out = [f"{summary.sent:,} sent now."]
    if summary.queued:
        out.append(
            f"{summary.queued:,} queued: it is quiet hours for "
            f"{'that customer' if summary.queued == 1 else 'those customers'}; "
            f"{'it goes' if summary.queued == 1 else 'they go'} out when the sending window opens."
        )
    if summary.blocked:
        out.append(f"{summary.blocked:,} refused:")
        for reason, n in sorted(summary.reasons.items(), key=lambda kv: -kv[1]):
            out.append(f"• {reason} ({n:,})")
    return out


__all__ = [
    "LONGEST_WAITING",
    "pending_requests",
    "member_club_table",
    "MEMBER_CLUB_HEADER",
    "pending_export",
    "RESEND_BATCH",
    "NO_LONGER_A_CUSTOMER",
    "resend",
    "summary_sentences",
]
