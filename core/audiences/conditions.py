"""Audience conditions: what an owner can pick customers by, checked and described.

A condition is plain data, ``{"trait": ..., "op": ..., "value": ...}``, so an audience saves as
JSON and reloads as it was. ``TRAITS`` lists what can be used (a trait, its operators, the kind of
value each takes); ``normalize`` checks and cleans a list of conditions (an unknown trait or a bad
value is an ``InvalidCondition`` naming the row); ``describe`` says them in one line.
core/audiences/query.py turns them into SQL; conditions joined by AND.

Dates are the shop's calendar days (its time zone in Texting Defaults).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from sqlmodel import Session
from sqlmodel import select as sm_select

from core.errors import OwnerError
from core.models import PosSource, SmsStatus, Source, SOURCE_LABELS

MAX_CONDITIONS = 30


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


TRAITS: dict[str, Trait] = {
    t.key: t
    for t in (
        Trait(
            "opt_in_status",
            "Performed Event / Opt-in status",
            {IS_TRUE: None, IS_FALSE: None},
            "is true: opted in. is false: any other status (not opted in, pending, opted out).",
        ),
        Trait("sms_status", "SMS status", {ONE_OF: "statuses"}),
        Trait("source", "Source", {ONE_OF: "sources"}, "Where the customer record came from."),
        Trait(
            "created",
            "Created",
            {BEFORE: "date", AFTER: "date", BETWEEN: "dates"},
            "The day the customer was added (both days included for between).",
        ),
        Trait(
            "has_phone",
            "Has phone",
            {IS_TRUE: None, IS_FALSE: None},
            "Customers are kept by their mobile number, so every customer has one.",
        ),
        Trait("has_email", "Has email", {IS_TRUE: None, IS_FALSE: None}),
        Trait("birthday_month", "Birthday month", {IS: "month", ONE_OF: "months"}),
        Trait("zip", "Zip code", {IS: "zip", STARTS_WITH: "zip"}),
        Trait(
            "last_consent_change",
            "Last consent change",
            {BEFORE: "date", AFTER: "date"},
            "The day of the customer's latest opt-in, opt-out or request (customers with none never match).",
        ),
        Trait(
            "pending_for",
            "Pending for",
            {MORE_THAN: "days"},
            "Customers waiting for a Y/YES reply for more than this many days.",
        ),
    )
}
_BY_LABEL = {t.label.lower(): t for t in TRAITS.values()}

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

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
        return f"POS: {token[len(POS_PREFIX) :]}"
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
        None: None,
        "statuses": [SmsStatus.opted_in.value],
        "sources": [Source.signup_form.value],
        "date": today.isoformat(),
        "dates": [(today - dt.timedelta(days=30)).isoformat(), today.isoformat()],
        "month": today.month,
        "months": [today.month],
        "zip": "",
        "days": 7,
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
                raise InvalidCondition(
                    row, f"“{v}” is not an SMS status (not_opted_in, pending, opted_in, opted_out)."
                ) from None
        return out
    if kind == "sources":
        out = []
        for v in _list(row, value, "source"):
            v = str(v).strip()
            if v.startswith(POS_PREFIX):
                name = v[len(POS_PREFIX) :].strip()
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


def source_label(source: str, detail: str = "") -> str:
    """'POS sync · Dutchie', 'Sign-up form · main', 'Text To Join'."""
    try:
        label = SOURCE_LABELS[Source(source)]
    except ValueError:
        label = source
    if detail and source in (Source.pos_sync.value, Source.signup_form.value, Source.csv_import.value):
        return f"{label} · {detail}"
    return label


__all__ = [
    "AudienceError",
    "InvalidCondition",
    "UnknownTrait",
    "Trait",
    "TRAITS",
    "MONTHS",
    "MAX_CONDITIONS",
    "IS_TRUE",
    "IS_FALSE",
    "ONE_OF",
    "IS",
    "STARTS_WITH",
    "BEFORE",
    "AFTER",
    "BETWEEN",
    "MORE_THAN",
    "POS_PREFIX",
    "ANY_POS",
    "trait",
    "source_token_label",
    "source_options",
    "blank_condition",
    "as_date",
    "normalize",
    "describe",
    "source_label",
]
