"""Time as the database stores it: naive UTC. Every service's injectable ``now`` passes through
``as_utc`` first, so a caller may give an aware datetime in any zone (or a naive UTC one)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from core.models import utcnow

__all__ = ["as_utc", "utcnow", "business_deadline", "local_date"]


def as_utc(now: Optional[dt.datetime]) -> dt.datetime:
    """``now`` as naive UTC: None is the current time; an aware time is converted to UTC and
    its tzinfo dropped; a naive time is taken to be UTC already and returned unchanged."""
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        return now
    offset = now.utcoffset()
    return (now - offset if offset is not None else now).replace(tzinfo=None)


def business_deadline(received_utc: dt.datetime, shop_tz: str, days: int = 10) -> dt.date:
    """The date `days` business days after a message was received (rulebook §9, extending §3's
    10-business-day review of a possible opt-out; §10 for opt-outs the owner records).

    Counted in the shop's time zone from the local date of receipt (a text at 22:00 on Thursday in
    California is Friday in UTC, but Thursday for the shop), skipping Saturdays, Sundays and US federal
    holidays (the `holidays` package, observed dates included). A receipt on a weekend or holiday counts
    from the next business day, as numpy's busday_offset(roll="forward") did before."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    received = as_utc(received_utc).replace(tzinfo=dt.timezone.utc)
    try:
        zone = ZoneInfo(shop_tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        zone = dt.timezone.utc
    day = received.astimezone(zone).date()
    off = _federal_holidays(day.year)

    def business(d: dt.date) -> bool:
        return d.weekday() < 5 and d not in off

    while not business(day):
        day += dt.timedelta(days=1)
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if business(day):
            left -= 1
    return day


def _federal_holidays(year: int):
    """US federal holidays (observed days included) for `year` and the two after it."""
    import holidays

    return holidays.country_holidays("US", years=range(year, year + 3))


def local_date(utc: Optional[dt.datetime], tz: str) -> dt.date:
    """The date in zone `tz` at UTC time `utc` (naive UTC or aware); UTC's date for an unknown zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    aware = as_utc(utc).replace(tzinfo=dt.timezone.utc)
    try:
        return aware.astimezone(ZoneInfo(tz)).date()
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return aware.date()
