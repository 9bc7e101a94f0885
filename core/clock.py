"""Time, in one place.

- As the database stores it: naive UTC. Every service's injectable ``now`` passes through ``as_utc``
  first, so a caller may give an aware datetime in any zone (or a naive UTC one).
- Business-day deadlines (``review_deadline``: when a possible opt-out must be decided).
- How the owner reads a time: ``shop_time`` is the one formatter every page and every core function
  uses for a time shown to the owner, in the shop's time zone with its zone label
  ("2 Dec 2026, 9:05 AM PST"), or a day ("2 Dec 2026").
"""

from __future__ import annotations

import datetime as dt
from typing import Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


from core.models import utcnow

__all__ = [
    "as_utc",
    "utcnow",
    "business_deadline",
    "review_deadline",
    "REVIEW_BUSINESS_DAYS",
    "shop_time",
    "shop_date",
    "local_date",
    "zone",
]

REVIEW_BUSINESS_DAYS = 10  # FCC 24-24: honour a revocation within 10 business days


def as_utc(now: Optional[dt.datetime]) -> dt.datetime:
    """``now`` as naive UTC: None is the current time; an aware time is converted to UTC and
    its tzinfo dropped; a naive time is taken to be UTC already and returned unchanged."""
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        return now
    offset = now.utcoffset()
    return (now - offset if offset is not None else now).replace(tzinfo=None)


# --- Business-day deadlines ---------------------------------------------------------------------


def review_deadline(received: dt.datetime, shop_tz: str = "America/Los_Angeles") -> dt.date:
    """10 business days after the day a possible opt-out was received, in the shop's time zone, skipping
    weekends and US federal holidays (rulebook §9 extends §3: see business_deadline)."""
    return business_deadline(received, shop_tz, REVIEW_BUSINESS_DAYS)


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
    """The date in zone `tz` at UTC time `utc` (naive UTC or aware; None: now); UTC's date for an unknown zone."""
    return shop_date(as_utc(utc), tz)


# --- Times as the owner reads them ---------------------------------------------------------------


def zone(timezone: Union[str, dt.tzinfo, None]) -> dt.tzinfo:
    """The shop's time zone from its IANA name (UTC when empty or unknown: a time is never lost)."""
    if isinstance(timezone, dt.tzinfo):
        return timezone
    try:
        return ZoneInfo(timezone) if timezone else dt.timezone.utc
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return dt.timezone.utc


def _local(value: dt.datetime, timezone) -> dt.datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
    return aware.astimezone(zone(timezone))


def _label(local: dt.datetime) -> str:
    """The zone's abbreviation (PST, PDT, EST, CET...); an offset-only name reads "UTC+03"."""
    name = local.tzname() or "UTC"
    return f"UTC{name}" if name[:1] in "+-" else name


def shop_time(value: Union[dt.datetime, dt.date, None], timezone, *, date_only: bool = False, empty: str = "") -> str:
    """A time as the owner reads it: "2 Dec 2026, 9:05 AM PST" in the shop's time zone, the zone's
    label for that very day (PST in winter, PDT in summer). ``value`` is naive UTC (as stored) or
    aware; ``date_only`` (or a ``date``) gives the shop's day, "2 Dec 2026". None gives ``empty``."""
    if value is None:
        return empty
    if not isinstance(value, dt.datetime):  # a calendar day: nothing to convert
        return f"{value.day} {value:%b %Y}"
    local = _local(value, timezone)
    day = f"{local.day} {local:%b %Y}"
    if date_only:
        return day
    hour = local.hour % 12 or 12
    return f"{day}, {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {_label(local)}"


def shop_date(value: Optional[dt.datetime], timezone) -> Optional[dt.date]:
    """The shop's calendar day of a stored (naive UTC) or aware time."""
    return None if value is None else _local(value, timezone).date()
