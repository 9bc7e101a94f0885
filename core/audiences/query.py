"""Audience conditions compiled to SQL: how many customers match, and the preview a page at a time.

``where`` compiles checked conditions (core/audiences/conditions.py) to one SQL boolean over the
customer table (SQLAlchemy Core: the same query runs on SQLite and PostgreSQL); ``count`` and
``page`` each run one query built from it. Conditions that contradict each other are not an
error: they match nobody. The narrowest condition leads the query (see ``_rank``) so its index
finds the few rows and the broad conditions only filter them (bench/audiences_bench.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, extract, false, func, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import Session

from core import paging, phones
from core.audiences.conditions import (
    AFTER,
    ANY_POS,
    BEFORE,
    BETWEEN,
    IS,
    IS_TRUE,
    POS_PREFIX,
    normalize,
    source_label,
)
from core.clock import as_utc, shop_time
from core.messaging import texting
from core.models import Customer, SmsStatus

C = Customer.__table__.c


def utc_start_of(day: dt.date, tz: str) -> dt.datetime:
    """The UTC instant (naive, as stored) when `day` begins in the shop's time zone."""
    local = dt.datetime.combine(day, dt.time(0, 0), tzinfo=ZoneInfo(tz))
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


_NOT_OPTED_IN = [s for s in SmsStatus if s is not SmsStatus.opted_in]


class _NoIndex(ColumnElement):
    """A column SQLite must not use an index for ("+column"); the column itself elsewhere.

    When one condition is narrow (a zip, a birthday month, a POS source...), its index should
    find the few rows and the broad conditions (a kind of source, an email) only filter them.
    SQLite has no statistics to know that by itself; PostgreSQL has, and gets the plain column.
    """

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(_NoIndex)
def _plain_column(element, compiler, **kw):
    return compiler.process(element.column, **kw)


@compiles(_NoIndex, "sqlite")
def _unindexed_column(element, compiler, **kw):
    return "+" + compiler.process(element.column, **kw)


def no_index(column) -> ColumnElement:
    """`column`, which SQLite must not look up through an index in this query."""
    return _NoIndex(column)


# How narrow a condition usually is (lower: fewer customers): the narrowest one leads the query.
def _rank(c: dict[str, Any]) -> int:
    key, op, v = c["trait"], c["op"], c["value"]
    if key in ("birthday_month", "pending_for") or (key == "zip" and op == IS):
        return 0
    if key == "source" and not any(not s.startswith(POS_PREFIX) for s in v):
        return 0  # POS sources by name only
    if key == "zip" or (key == "created" and op == BETWEEN) or (key == "last_consent_change" and op == AFTER):
        return 1
    return 2  # statuses, kinds of source, email, the open-ended dates: a large share of the customers


def _one(c: dict[str, Any], *, tz: str, now: dt.datetime, indexed: bool = True) -> ColumnElement:
    key, op, v = c["trait"], c["op"], c["value"]

    def col(name: str):
        # the status stays indexable: ix_customer_audience answers status + anything from the index alone
        return C[name] if indexed or name == "sms_status" else no_index(C[name])

    if key == "opt_in_status":
        # "is false" as IN (the three others) lets the status index answer it
        status = col("sms_status")
        return status == SmsStatus.opted_in if op == IS_TRUE else status.in_(_NOT_OPTED_IN)
    if key == "sms_status":
        return col("sms_status").in_([SmsStatus(s) for s in v])
    if key == "source":
        plain = [s for s in v if not s.startswith(POS_PREFIX)]
        names = [s[len(POS_PREFIX) :] for s in v if s.startswith(POS_PREFIX)]
        source, detail = col("source"), col("source_detail")
        if not names or ANY_POS in plain:
            return source.in_(plain)
        if not plain:
            return and_(source == ANY_POS, detail.in_(names))
        # one range of the (source, source_detail) index rather than an OR of two
        return and_(source.in_(plain + [ANY_POS]), or_(source != ANY_POS, detail.in_(names)))
    if key in ("created", "last_consent_change"):
        column = col("created_at" if key == "created" else "status_changed_at")
        if op == BEFORE:
            return column < utc_start_of(dt.date.fromisoformat(v), tz)
        if op == AFTER:
            return column >= utc_start_of(dt.date.fromisoformat(v) + dt.timedelta(days=1), tz)
        start, end = (dt.date.fromisoformat(d) for d in v)
        return and_(column >= utc_start_of(start, tz), column < utc_start_of(end + dt.timedelta(days=1), tz))
    if key == "has_phone":
        # a customer is kept by phone number (required, unique, E.164): everyone has one
        return true() if op == IS_TRUE else false()
    if key == "has_email":
        email = col("email")  # never NULL: "" when there is none
        return email > "" if op == IS_TRUE else email == ""
    if key == "birthday_month":
        months = [v] if op == IS else v
        month = extract("month", col("birthday"))  # matches the index ix_customer_birthday_month
        return month == months[0] if len(months) == 1 else month.in_(months)
    if key == "zip":
        zip_code = col("zip")
        if op == IS:
            return zip_code == v
        # a range the zip index can answer, with LIKE as the exact test
        upper = v[:-1] + chr(ord(v[-1]) + 1)
        escaped = v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return and_(zip_code >= v, zip_code < upper, zip_code.like(escaped + "%", escape="\\"))
    if key == "pending_for":
        return and_(col("sms_status") == SmsStatus.pending, col("status_changed_at") < now - dt.timedelta(days=v))
    raise AssertionError(key)  # pragma: no cover


def where(conditions: Iterable[Any], *, tz: str = "UTC", now: Optional[dt.datetime] = None) -> ColumnElement:
    """One SQL boolean for all conditions (AND). No conditions: everyone."""
    conds = normalize(conditions)
    now = as_utc(now)
    if not conds:
        return true()
    lead = min(range(len(conds)), key=lambda i: _rank(conds[i]))
    narrow = len(conds) > 1 and _rank(conds[lead]) < 2
    return and_(*(_one(c, tz=tz, now=now, indexed=not narrow or i == lead) for i, c in enumerate(conds)))


def shop_where(session: Session, conditions: Iterable[Any], *, now: Optional[dt.datetime] = None) -> ColumnElement:
    """`where` for this shop: its time zone (Texting Defaults) for the calendar days, and the age gate (§11):
    with a minimum age, only customers whose verified date of birth meets it are in any audience, count or
    export."""
    from core.consent import age

    return and_(
        where(conditions, tz=texting.get_defaults(session).timezone, now=now),
        age.audience_clause(session, as_utc(now).date()),
    )


def count(session: Session, conditions: Iterable[Any], *, now: Optional[dt.datetime] = None) -> int:
    clause = shop_where(session, conditions, now=now)
    return session.execute(select(func.count()).select_from(Customer.__table__).where(clause)).scalar_one()


COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "birthday",
    "zip",
    "sms_status",
    "source",
    "source_detail",
    "created_at",
    "status_changed_at",
)
BY_ID = paging.Keyset((C.id,))


def page(
    session: Session,
    conditions: Iterable[Any],
    *,
    after: Optional[paging.Cursor] = None,
    limit: int = paging.PAGE_SIZE,
    now: Optional[dt.datetime] = None,
) -> paging.Page:
    """One page of the audience in id order (keyset: rows after the cursor `after`), as dicts of COLUMNS."""
    q = select(*(C[k] for k in COLUMNS)).where(shop_where(session, conditions, now=now))
    if after is not None:
        q = q.where(BY_ID.after(after))
    rows = session.execute(q.order_by(*BY_ID.order_by()).limit(limit + 1)).all()
    return paging.page_of(rows, limit=limit, keyset=BY_ID, shape=lambda r: dict(r._mapping))


def display_rows(rows: Iterable[dict[str, Any]], region: str = "US", timezone: str = "UTC") -> list[dict[str, Any]]:
    """Rows as the preview shows them: a name, a readable phone, the status badge, the source, the shop's
    day the customer was created (`timezone`)."""
    out = []
    for r in rows:
        status = SmsStatus(r["sms_status"])
        out.append(
            {
                "Name": f"{r['first_name']} {r['last_name']}".strip() or "—",
                "Phone": phones.format_display(r["phone"], region),
                "Email": r["email"] or "",
                "SMS": status.badge,
                "Source": source_label(r["source"], r["source_detail"]),
                "Zip": r["zip"] or "",
                "Birthday": r["birthday"].isoformat() if r["birthday"] else "",
                "Created": shop_time(r["created_at"], timezone, date_only=True),
            }
        )
    return out


__all__ = ["where", "shop_where", "count", "page", "display_rows", "utc_start_of", "no_index", "COLUMNS", "BY_ID"]
