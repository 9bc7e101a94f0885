"""An audience as a CSV file, streamed: phones as tel:+E.164, every text cell formula-safe (core/exports.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Iterator, Optional

from sqlalchemy import select
from sqlmodel import Session

from core import activity, paging
from core.audiences.conditions import describe, normalize
from core.audiences.query import BY_ID, COLUMNS, C, count, shop_where
from core.exports import csv_chunks, phone_cell, safe_cell, utc_cell
from core.models import SmsStatus
from core.staff.roles import Actor, allow

EXPORT_HEADER = (
    "phone",
    "first_name",
    "last_name",
    "email",
    "sms_status",
    "source",
    "source_detail",
    "zip",
    "birthday",
    "created_at_utc",
    "status_changed_at_utc",
)


def export_csv(
    session: Session,
    conditions: Iterable[Any],
    *,
    now: Optional[dt.datetime] = None,
    batch: int = 2000,
    by: Optional[Actor] = None,
) -> Iterator[bytes]:
    """The audience as CSV, streamed in chunks of bytes, read `batch` customers at a time in id order.
    An export (the export role); recorded in the activity trail."""
    by = allow(session, by, "export")
    conditions = list(conditions)
    activity.record(
        session,
        by,
        activity.Kind.export,
        f"Exported the audience {describe(normalize(conditions)) or 'everyone'} "
        f"({count(session, conditions, now=now):,} customers)",
    )
    session.commit()
    q = select(*(C[k] for k in COLUMNS)).where(shop_where(session, conditions, now=now))

    def rows():
        for r in paging.keyset_rows(session, q, BY_ID, batch=batch):
            m = r._mapping
            yield (
                phone_cell(m["phone"]),
                safe_cell(m["first_name"]),
                safe_cell(m["last_name"]),
                safe_cell(m["email"]),
                SmsStatus(m["sms_status"]).value,
                m["source"],
                safe_cell(m["source_detail"]),
                safe_cell(m["zip"]),
                m["birthday"].isoformat() if m["birthday"] else "",
                utc_cell(m["created_at"]),
                utc_cell(m["status_changed_at"]),
            )

    return csv_chunks(EXPORT_HEADER, rows())


__all__ = ["EXPORT_HEADER", "export_csv"]
