"""Consent dates and sources from the old provider (rulebook §11), for the importer.

An import may carry each row's original consent date and source (columns such as consented_at,
opt_in_date, source). They become the consent event's evidence ("original_consent_at",
"original_source"); an opt-in's original date is also kept in the event's `consented_at` column, which
the reports' opt-ins by date use. The event's `occurred_at` stays when Opt-In Desk recorded it: the
ledger's order is the order things happened here, and nobody can back-date a record.

A consent date in the future or before 1990 (before SMS marketing existed) is a bad row: not imported,
reported. Except on a row that says opted out: the opt-out is imported anyway (an opt-out is never lost
over a date) and the date is dropped with a warning.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

from core.text import clean_text

FIELDS = {
    "consented_at": "Original consent date",
    "consent_source": "Original consent source",
}
HEADER_NAMES = {
    "consented_at": (
        "consentedat",
        "consentdate",
        "optindate",
        "optedinat",
        "optedindate",
        "optindatetime",
        "consenttimestamp",
        "consentedon",
        "subscribedat",
        "subscribeddate",
        "subscriptiondate",
        "smsconsentdate",
        "smsoptindate",
        "dateoptedin",
        "signupdate",
        "joindate",
        "joinedat",
    ),
    "consent_source": (
        "source",
        "consentsource",
        "optinsource",
        "signupsource",
        "subscriptionsource",
        "smsconsentsource",
        "acquisitionsource",
        "leadsource",
        "howjoined",
        "channel",
    ),
}
EARLIEST = dt.date(1990, 1, 1)
MAX_SOURCE = 120

_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
_TZ_TAIL = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\s*UTC)$", re.IGNORECASE)


class BadConsentDate(ValueError):
    pass


def parse(value: Any, *, now: dt.datetime) -> Optional[dt.datetime]:
    """The original consent time (naive UTC) from a cell; None when blank. BadConsentDate says why a cell
    is not a usable date: not a date, in the future, or before 1990."""
    text = clean_text(value)
    if not text:
        return None
    when: Optional[dt.datetime] = None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        bare = _TZ_TAIL.sub("", text).strip()
        for fmt in _FORMATS:
            try:
                when = dt.datetime.strptime(bare, fmt)
                break
            except ValueError:
                continue
    if when is None:
        raise BadConsentDate(f"{text[:40]!r} is not a date: write it like 2023-05-01 or 05/01/2023")
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if when.date() < EARLIEST:
        raise BadConsentDate(f"the consent date {when.date().isoformat()} is before 1990: check the year")
    if when > now + dt.timedelta(days=1):  # a day's slack for time zones
        raise BadConsentDate(f"the consent date {when.date().isoformat()} is in the future: check the year")
    return when


def source_text(value: Any) -> str:
    return clean_text(value)[:MAX_SOURCE]


def evidence(consented_at: Optional[dt.datetime], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if consented_at is not None:
        out["original_consent_at"] = consented_at.isoformat(sep=" ", timespec="seconds")
    if source:
        out["original_source"] = source
    return out


def cell(rec: list[str], index: Optional[int]) -> str:
    return rec[index] if index is not None and index < len(rec) else ""


def read(rec: list[str], cols, now: dt.datetime) -> tuple[Optional[dt.datetime], str]:
    """(original consent time or None, original source) of one record; a bad date reads as None (pass 1
    reported it)."""
    try:
        when = parse(cell(rec, getattr(cols, "consented_at", None)), now=now)
    except BadConsentDate:
        when = None
    return when, source_text(cell(rec, getattr(cols, "consent_source", None)))


def describe(ev: dict[str, Any]) -> str:
    """'originally consented 2023-05-01 (Web form)' for the history."""
    at, src = ev.get("original_consent_at"), ev.get("original_source")
    if not at and not src:
        return ""
    text = "originally consented" if at else "original source"
    if at:
        text += f" {str(at)[:10]}"
    if src:
        text += f" ({src})" if at else f": {src}"
    return text
