"""Audiences: customers picked by conditions joined by AND.

A condition is plain data, ``{"trait": ..., "op": ..., "value": ...}``, so an
audience saves as JSON and reloads as it was. ``normalize`` checks and cleans a
list of conditions (an unknown trait or a bad value is an ``InvalidCondition``
naming the row); ``where`` compiles them to one SQL boolean over the customer
table (SQLAlchemy Core: the same query runs on SQLite and PostgreSQL), and
``count``, ``page`` and ``export`` each run one query built from it.

Conditions that contradict each other are not an error: they match nobody.
Dates are the shop's calendar days (its time zone in Texting Defaults).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, extract, false, func, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import Session
from sqlmodel import select as sm_select

from core import phones
from core.messaging import texting
from core.clock import as_utc, shop_time
from core.consent.customers import _safe_cell  # the one OWASP rule, shared with the proof-of-consent export
from core.db import run_write
from core.models import (
    PosSource,
    SavedAudience,
    SmsStatus,
    Source,
    SOURCE_LABELS,
    Customer,
    utcnow,
)
from core.text import clean_text
from core.errors import OwnerError
from core import activity
from core.staff.roles import Actor, allow

PAGE_SIZE = 50
MAX_NAME = 100
MAX_CONDITIONS = 30

C = Customer.__table__.c


class AudienceError(OwnerError):
    """An audience cannot be built, saved or found; the message says why."""


class InvalidCondition(AudienceError):
    """A condition row the rules cannot read. `row` is its 1-based position (0 when not about a row)."""

    def __init__(self, row: int, message: str):
        super().__init__(f"Condition {row}: {message}" if row else message)
        self.row = row
        self.message = message


class UnknownTrait(InvalidCondition):
    pass


class AudienceNotFound(AudienceError):
    pass


class InvalidAudienceName(AudienceError):
    pass


# --- The traits an audience can use ------------------------------------------------------

IS_TRUE, IS_FALSE = "is true", "is false"
ONE_OF, IS, STARTS_WITH = "is one of", "is", "starts with"
BEFORE, AFTER, BETWEEN, MORE_THAN = "before", "after", "between", "more than"

# value kinds: None (no value), "statuses", "sources", "date", "dates", "month", "months", "zip", "days"


@dataclass(frozen=True)
class Trait:
    key: str
    label: str
    ops: dict[str, Optional[str]]  # operator -> kind of value it takes
    help: str = ""


TRAITS: dict[str, Trait] = {t.key: t for t in (
    Trait("opt_in_status", "Performed Event / Opt-in status", {IS_TRUE: None, IS_FALSE: None},
          "is true: opted in. is false: any other status (not opted in, pending, opted out)."),
    Trait("sms_status", "SMS status", {ONE_OF: "statuses"}),
    Trait("source", "Source", {ONE_OF: "sources"}, "Where the customer record came from."),
    Trait("created", "Created", {BEFORE: "date", AFTER: "date", BETWEEN: "dates"},
          "The day the customer was added (both days included for between)."),
    Trait("has_phone", "Has phone", {IS_TRUE: None, IS_FALSE: None},
          "Customers are kept by their mobile number, so every customer has one."),
    Trait("has_email", "Has email", {IS_TRUE: None, IS_FALSE: None}),
    Trait("birthday_month", "Birthday month", {IS: "month", ONE_OF: "months"}),
    Trait("zip", "Zip code", {IS: "zip", STARTS_WITH: "zip"}),
    Trait("last_consent_change", "Last consent change", {BEFORE: "date", AFTER: "date"},
          "The day of the customer's latest opt-in, opt-out or request (customers with none never match)."),
    Trait("pending_for", "Pending for", {MORE_THAN: "days"},
          "Customers waiting for a Y/YES reply for more than this many days."),
)}
_BY_LABEL = {t.label.lower(): t for t in TRAITS.values()}

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")

POS_PREFIX = "pos:"  # a source token naming one POS source: "pos:Dutchie"
ANY_POS = Source.pos_sync.value


def trait(name: str) -> Trait:
    """The trait with this key or label (any case); UnknownTrait otherwise."""
    t = TRAITS.get(str(name)) or _BY_LABEL.get(str(name).strip().lower())
    if t is None:
        raise UnknownTrait(0, f"There is no trait called “{name}”.")
    return t


def source_token_label(token: str) -> str:
    if token.startswith(POS_PREFIX):
        return f"POS: {token[len(POS_PREFIX):]}"
    if token == ANY_POS:
        return "Any POS source"
    return SOURCE_LABELS[Source(token)]


def source_options(session: Session) -> list[str]:
    """Source tokens the owner can pick: every kind of source, then each POS source by name."""
    names = session.exec(sm_select(PosSource.name).order_by(PosSource.name)).all()
    fixed = [s.value for s in Source if s is not Source.pos_sync]
    return fixed + [ANY_POS] + [POS_PREFIX + n for n in names]


def blank_condition(key: str) -> dict[str, Any]:
    """A new row for this trait with a sensible starting value."""
    t = trait(key)
    op = next(iter(t.ops))
    kind = t.ops[op]
    today = dt.date.today()
    value: Any = {
        None: None, "statuses": [SmsStatus.opted_in.value], "sources": [Source.signup_form.value],
        "date": today.isoformat(), "dates": [(today - dt.timedelta(days=30)).isoformat(), today.isoformat()],
        "month": today.month, "months": [today.month], "zip": "", "days": 7,
    }[kind]
    return {"trait": t.key, "op": op, "value": value}


# --- Checking conditions ---------------------------------------------------------------------

def as_date(value: Any) -> Optional[dt.date]:
    """A date from a date, a datetime or 'YYYY-MM-DD' text; None when it is none of those."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _date(row: int, value: Any, what: str = "a date") -> dt.date:
    day = as_date(value)
    if day is None:
        raise InvalidCondition(row, f"“{value}” is not {what} (use YYYY-MM-DD).")
    return day


def _int(row: int, value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool):
        raise InvalidCondition(row, f"{what} must be a whole number from {low} to {high}.")
    try:
        n = int(str(value).strip()) if isinstance(value, str) else int(value)
        if isinstance(value, float) and value != n:
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidCondition(row, f"{what} must be a whole number from {low} to {high}.") from None
    if not low <= n <= high:
        raise InvalidCondition(row, f"{what} must be a whole number from {low} to {high}.")
    return n


def _list(row: int, value: Any, what: str) -> list:
    if isinstance(value, (str, int)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidCondition(row, f"Choose at least one {what}.")
    out = []
    for v in value:
        if v not in out:
            out.append(v)
    return out


def _clean_value(row: int, t: Trait, op: str, value: Any) -> Any:
    kind = t.ops[op]
    if kind is None:
        return None
    if kind == "statuses":
        out = []
        for v in _list(row, value, "status"):
            try:
                out.append(SmsStatus(v).value)
            except ValueError:
                raise InvalidCondition(row, f"“{v}” is not an SMS status "
                                            "(not_opted_in, pending, opted_in, opted_out).") from None
        return out
    if kind == "sources":
        out = []
        for v in _list(row, value, "source"):
            v = str(v).strip()
            if v.startswith(POS_PREFIX):
                name = v[len(POS_PREFIX):].strip()
                if not name:
                    raise InvalidCondition(row, "Name the POS source.")
                out.append(POS_PREFIX + name)
                continue
            try:
                out.append(Source(v).value)
            except ValueError:
                raise InvalidCondition(row, f"“{v}” is not a source.") from None
        return out
    if kind == "date":
        return _date(row, value).isoformat()
    if kind == "dates":
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise InvalidCondition(row, "Between needs two dates: a first and a last day.")
        start, end = _date(row, value[0], "a first day"), _date(row, value[1], "a last day")
        if end < start:
            raise InvalidCondition(row, f"The range ends ({end:%d %b %Y}) before it starts ({start:%d %b %Y}).")
        return [start.isoformat(), end.isoformat()]
    if kind == "month":
        return _int(row, value, 1, 12, "The month")
    if kind == "months":
        return sorted(_int(row, v, 1, 12, "The month") for v in _list(row, value, "month"))
    if kind == "zip":
        text = str(value if value is not None else "").strip().upper()
        if not text:
            raise InvalidCondition(row, "Type a zip code (or its first digits).")
        if len(text) > 10 or not all(c.isalnum() or c in " -" for c in text):
            raise InvalidCondition(row, f"“{text}” is not a zip code.")
        return text
    if kind == "days":
        return _int(row, value, 0, 36500, "The number of days")
    raise AssertionError(kind)  # pragma: no cover


def normalize(conditions: Iterable[Any]) -> list[dict[str, Any]]:
    """Checked, cleaned conditions (JSON-ready: dates as YYYY-MM-DD).

    Raises UnknownTrait / InvalidCondition naming the row.
    """
    if conditions is None:
        return []
    if isinstance(conditions, dict) or isinstance(conditions, str):
        raise InvalidCondition(0, "Conditions must be a list of rows.")
    out = []
    for i, cond in enumerate(conditions, start=1):
        if i > MAX_CONDITIONS:
            raise InvalidCondition(0, f"An audience can have at most {MAX_CONDITIONS} conditions.")
        if not isinstance(cond, dict) or "trait" not in cond:
            raise InvalidCondition(i, "Each condition needs a trait, an operator and a value.")
        try:
            t = trait(cond["trait"])
        except UnknownTrait:
            raise UnknownTrait(i, f"There is no trait called “{cond['trait']}”.") from None
        op = str(cond.get("op") or "").strip().lower()
        if op not in t.ops:
            ops = ", ".join(f"“{o}”" for o in t.ops)
            raise InvalidCondition(i, f"{t.label} can't use “{cond.get('op')}”; choose {ops}.")
        out.append({"trait": t.key, "op": op, "value": _clean_value(i, t, op, cond.get("value"))})
    return out


def describe(conditions: Iterable[dict[str, Any]]) -> str:
    """One line an owner can read: 'Performed Event / Opt-in status is true AND Zip code starts with 941'."""
    parts = []
    for c in normalize(conditions):
        t = TRAITS[c["trait"]]
        v = c["value"]
        kind = t.ops[c["op"]]
        if kind is None:
            text = ""
        elif kind == "statuses":
            text = ", ".join(SmsStatus(s).label for s in v)
        elif kind == "sources":
            text = ", ".join(source_token_label(s) for s in v)
        elif kind == "dates":
            text = f"{v[0]} and {v[1]}"
        elif kind == "month":
            text = MONTHS[v - 1]
        elif kind == "months":
            text = ", ".join(MONTHS[m - 1] for m in v)
        elif kind == "days":
            text = f"{v} day{'s' if v != 1 else ''}"
        else:
            text = str(v)
        parts.append(f"{t.label} {c['op']} {text}".strip())
    return " AND ".join(parts) if parts else "Everyone"


# --- Compiling to SQL --------------------------------------------------------------------------

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
        names = [s[len(POS_PREFIX):] for s in v if s.startswith(POS_PREFIX)]
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


def _tz(session: Session) -> str:
    return texting.get_defaults(session).timezone


def shop_where(session: Session, conditions: Iterable[Any], *, now: Optional[dt.datetime] = None) -> ColumnElement:
    """`where` for this shop: its time zone, and the age gate (§11): with a minimum age, only customers whose
    verified date of birth meets it are in any audience, count or export."""
    from core.consent import age

    return and_(where(conditions, tz=_tz(session), now=now), age.audience_clause(session, as_utc(now).date()))


def count(session: Session, conditions: Iterable[Any], *, now: Optional[dt.datetime] = None) -> int:
    clause = shop_where(session, conditions, now=now)
    return session.execute(select(func.count()).select_from(Customer.__table__).where(clause)).scalar_one()


COLUMNS = ("id", "first_name", "last_name", "phone", "email", "birthday", "zip", "sms_status", "source",
           "source_detail", "created_at", "status_changed_at")


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_after: Optional[int]  # pass as after_id for the next page; None on the last page


def page(session: Session, conditions: Iterable[Any], *, after_id: Optional[int] = None, limit: int = PAGE_SIZE,
         now: Optional[dt.datetime] = None) -> Page:
    """One page of the audience in id order (keyset: rows after `after_id`)."""
    clause = shop_where(session, conditions, now=now)
    q = select(*(C[k] for k in COLUMNS)).where(clause)
    if after_id is not None:
        q = q.where(C.id > after_id)
    rows = [dict(r._mapping) for r in session.execute(q.order_by(C.id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next_after=rows[-1]["id"] if more else None)


def source_label(source: str, detail: str = "") -> str:
    """'POS sync · Dutchie', 'Sign-up form · main', 'Text To Join'."""
    try:
        label = SOURCE_LABELS[Source(source)]
    except ValueError:
        label = source
    if detail and source in (Source.pos_sync.value, Source.signup_form.value, Source.csv_import.value):
        return f"{label} · {detail}"
    return label


def display_rows(rows: Iterable[dict[str, Any]], region: str = "US", timezone: str = "UTC") -> list[dict[str, Any]]:
    """Rows as the preview shows them: a name, a readable phone, the status badge, the source, the shop's
    day the customer was created (`timezone`)."""
    out = []
    for r in rows:
        status = SmsStatus(r["sms_status"])
        out.append({
            "Name": f"{r['first_name']} {r['last_name']}".strip() or "—",
            "Phone": phones.format_display(r["phone"], region),
            "Email": r["email"] or "",
            "SMS": status.badge,
            "Source": source_label(r["source"], r["source_detail"]),
            "Zip": r["zip"] or "",
            "Birthday": r["birthday"].isoformat() if r["birthday"] else "",
            "Created": shop_time(r["created_at"], timezone, date_only=True),
        })
    return out


# --- Export ------------------------------------------------------------------------------------

def safe_cell(value: Any) -> str:
    """OWASP CSV-injection rule: a cell starting with = + - @ tab or CR gets a leading apostrophe,
    so a spreadsheet shows it as text instead of running it as a formula."""
    return _safe_cell("" if value is None else str(value))


def phone_cell(e164: str) -> str:
    """Phones are exported as RFC 3966 tel: URIs, 'tel:+14158675309'.

    A bare '+14158675309' starts with '+', which the OWASP rule treats as a formula and
    which spreadsheets turn into the number 14158675309 (dropping the '+'). With 'tel:'
    in front the cell starts with a letter: it is text, it is safe, and everything after
    'tel:' is the exact E.164 number.
    """
    return f"tel:{e164}" if e164 else ""


EXPORT_HEADER = ("phone", "first_name", "last_name", "email", "sms_status", "source", "source_detail", "zip",
                 "birthday", "created_at_utc", "status_changed_at_utc")


def _iso(value: Optional[dt.datetime]) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else ""


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable[Any]], *, rows_per_chunk: int = 1000) -> Iterator[bytes]:
    """CSV bytes a chunk at a time (UTF-8 with a BOM so spreadsheets read accents)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    first = True
    n = 0
    for row in rows:
        w.writerow(row)
        n += 1
        if n % rows_per_chunk == 0:
            data = buf.getvalue().encode("utf-8-sig" if first else "utf-8")
            first = False
            buf.seek(0)
            buf.truncate()
            yield data
    data = buf.getvalue()
    if data or first:
        yield data.encode("utf-8-sig" if first else "utf-8")


def keyset_rows(session: Session, query, *, key, batch: int = 2000) -> Iterator[Any]:
    """Rows of `query` in `key` order, fetched `batch` at a time (memory stays bounded)."""
    after = None
    while True:
        q = query if after is None else query.where(key > after)
        rows = session.execute(q.order_by(key).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1]._mapping[key.key]


def export(session: Session, conditions: Iterable[Any], *, now: Optional[dt.datetime] = None,
           batch: int = 2000, by: Optional[Actor] = None) -> Iterator[bytes]:
    """The audience as CSV, streamed in chunks of bytes. Phones as tel:+E.164 (see phone_cell);
    every other text cell neutralised by safe_cell. The export is recorded in the activity trail."""
    by = allow(session, by, "export")
    conditions = list(conditions)
    clause = shop_where(session, conditions, now=now)
    activity.record(session, by, activity.Kind.export,
                    f"Exported the audience {describe(normalize(conditions)) or 'everyone'} "
                    f"({count(session, conditions, now=now):,} customers)")
    session.commit()
    q = select(*(C[k] for k in COLUMNS)).where(clause)

    def rows():
        for r in keyset_rows(session, q, key=C.id, batch=batch):
            m = r._mapping
            yield (phone_cell(m["phone"]), safe_cell(m["first_name"]), safe_cell(m["last_name"]),
                   safe_cell(m["email"]), SmsStatus(m["sms_status"]).value, m["source"],
                   safe_cell(m["source_detail"]), safe_cell(m["zip"]),
                   m["birthday"].isoformat() if m["birthday"] else "", _iso(m["created_at"]),
                   _iso(m["status_changed_at"]))

    return csv_chunks(EXPORT_HEADER, rows())


# --- Saved audiences -----------------------------------------------------------------------------

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


def save(session: Session, *, name: Any, conditions: Iterable[Any], audience_id: Optional[int] = None,
         now: Optional[dt.datetime] = None, by: Optional[Actor] = None) -> SavedAudience:
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
        activity.record(session, by, activity.Kind.audience,
                        f"{'Saved' if audience_id is None else 'Changed'} the audience “{name}”", now=now)
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
            if token.startswith(POS_PREFIX) and token[len(POS_PREFIX):] not in existing:
                name = token[len(POS_PREFIX):]
                out.append(f"Condition {i}: the POS source “{name}” has been deleted. The audience still "
                           f"includes the customers it synced before; remove “POS: {name}” from the list "
                           "if you no longer want them.")
    return out


def load_conditions(row: SavedAudience) -> list[dict[str, Any]]:
    """A saved audience's conditions, checked; a row that no longer reads raises InvalidCondition."""
    return normalize(row.conditions or [])


__all__ = [
    "AudienceError", "InvalidCondition", "UnknownTrait", "AudienceNotFound", "InvalidAudienceName", "TRAITS",
    "Trait", "trait", "normalize", "describe", "where", "count", "page", "export", "Page", "save", "list_saved",
    "get_saved", "delete_saved", "problems", "source_options", "source_token_label", "blank_condition",
    "safe_cell", "phone_cell", "display_rows", "source_label", "csv_chunks", "keyset_rows", "utc_start_of",
    "no_index", "as_date",
]
