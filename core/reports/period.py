"""The period a report covers: the shop's calendar days, and the UTC instants they begin and end.

Dates are the shop's calendar days (the time zone in Texting Defaults); timestamps are stored in UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlmodel import Session

from core.audiences.conditions import as_date
from core.audiences.query import utc_start_of
from core.clock import as_utc, shop_time
from core.errors import OwnerError
from core.messaging import texting

MAX_RANGE_DAYS = 3 * 366


class ReportError(OwnerError):
    """A report cannot be made as asked; the message says why."""


class InvalidDateRange(ReportError):
    pass


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
        raise InvalidDateRange(
            f"The date range ends ({end:%d %b %Y}) before it starts ({start:%d %b %Y}): "
            "pick a last day on or after the first."
        )
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


def as_datetime(value: Any) -> dt.datetime:
    """A naive UTC datetime from what the database returns (a datetime, or text on SQLite)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return dt.datetime.fromisoformat(str(value))


def local_text(value: Optional[dt.datetime], tz: ZoneInfo) -> str:
    """A stored time as the owner reads it: the shop's time with its zone (core.clock.shop_time)."""
    if value == dt.datetime.max:
        return "when the window opens"
    return shop_time(value, tz)


__all__ = [
    "ReportError",
    "InvalidDateRange",
    "MAX_RANGE_DAYS",
    "Period",
    "period",
    "shop_period",
    "local_today",
    "as_datetime",
    "local_text",
]
