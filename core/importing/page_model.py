"""What the Import and Integrations pages show, computed: a file's description, the figures of a check or an
import, the rows not imported, the import history a page at a time, a POS source's last sync and its date
setting. Every time is the shop's, with its zone (core.clock.shop_time); every day is the shop's day.

Reading, planning and applying imports is elsewhere in core/importing; this module only words the results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import func
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from core.clock import shop_time
from core.models import ImportRun

NONE = "— not in this file —"  # the column choice that means "this file has no such column"
SHOWN_PROBLEMS = 500  # rows not imported listed on the page; the download has them all
HISTORY_PAGE = 20


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# --- The file, before anything is imported -----------------------------------------------------------------------


def file_details(info: Any) -> str:
    """'12 KB · UTF-8, comma-separated · 5 columns' (a reading.FileInfo)."""
    kind = "Excel workbook" if info.kind == "xlsx" else f"{info.encoding}, {info.delimiter_name}-separated"
    size = (
        f"{info.size / 1024 / 1024:,.1f} MB"
        if info.size >= 1024 * 1024
        else f"{info.size / 1024:,.0f} KB"
        if info.size >= 1024
        else plural(info.size, "byte")
    )
    return f"{size} · {kind} · {len(info.headers)} columns"


def mapping(chosen: dict[str, str]) -> dict[str, Optional[str]]:
    """The column picked for each field, None where the owner chose "not in this file"."""
    return {field: (None if header in (None, NONE) else header) for field, header in chosen.items()}


# --- A check's or an import's result ------------------------------------------------------------------------------


def figures(report: Any, *, requests: bool) -> list[Any]:
    """The figures to show, in order: customers, consent, and the opt-in requests when asked for."""
    from core.importing.report import summary

    groups = summary(report)
    return [f for name in ("customers", "consent") + (("requests",) if requests else ()) for f in groups[name]]


def errors_file_name(file_name: str) -> str:
    """'customers-not-imported.csv' for 'customers.csv'."""
    return f"{file_name.rsplit('.', 1)[0]}-not-imported.csv"


@dataclass
class Problems:
    title: str  # "3 rows not imported, 1 value dropped"
    rows: list[dict[str, Any]]  # the first SHOWN_PROBLEMS, by row number
    more: int  # how many more the download has


def problems(report: Any, *, limit: int = SHOWN_PROBLEMS) -> Optional[Problems]:
    """The rows an import could not take and the values it dropped; None when there are none."""
    if not (report.invalid or report.warnings):
        return None
    title = plural(len(report.invalid), "row") + " not imported"
    if report.warnings:
        title += ", " + plural(len(report.warnings), "value") + " dropped"
    every = sorted(report.invalid + report.warnings, key=lambda e: e.row)
    rows = [
        {
            "Row": e.row,
            "Column": e.column,
            "Value": e.value,
            "Reason": e.reason,
            "What happens": "imported without this value" if e.imported else "row not imported",
        }
        for e in every[:limit]
    ]
    return Problems(title, rows, max(0, len(every) - limit))


# --- Import history ----------------------------------------------------------------------------------------------


@dataclass
class HistoryPage:
    runs: list[ImportRun]
    total: int
    next_after: Optional[int]  # the cursor of the next (older) page; None on the last page


def history_page(
    session: Session, *, after: Optional[int] = None, origin: Optional[str] = "csv_import", limit: int = HISTORY_PAGE
) -> HistoryPage:
    """Import runs newest first, a page at a time (keyset on id: `after` is the last id of the page before)."""
    where = [] if origin is None else [ImportRun.origin == origin]
    stmt = select(ImportRun).options(defer(ImportRun.errors_csv)).where(*where)
    if after is not None:
        stmt = stmt.where(ImportRun.id < after)
    runs = list(session.exec(stmt.order_by(ImportRun.id.desc()).limit(limit + 1)).all())
    total = int(session.exec(select(func.count()).select_from(ImportRun).where(*where)).one())
    more = len(runs) > limit
    runs = runs[:limit]
    return HistoryPage(runs, total, runs[-1].id if more and runs else None)


def history_rows(runs: list[ImportRun], timezone: str) -> list[dict[str, Any]]:
    """Import runs as the history table shows them (when: the shop's time, with its zone)."""
    rows = []
    for r in runs:
        c = r.counts or {}
        rows.append(
            {
                "File": r.file_name,
                "When": shop_time(r.started_at, timezone),
                "Who": r.by,
                "Attested": "Yes" if r.attested else "No",
                "New": c.get("created", 0),
                "Updated": c.get("updated", 0),
                "Unchanged": c.get("unchanged", 0),
                "Not imported": c.get("invalid", 0),
                "Opted in": c.get("opted_in", 0),
                "Opted out": c.get("opted_out", 0),
                "Kept opted out": c.get("kept_opted_out", 0),
                "Status": "Done" if r.finished_at else "Cut off: import the file again to finish",
            }
        )
    return rows


def with_errors(runs: list[ImportRun]) -> list[ImportRun]:
    """The runs that have rows not imported (or values dropped) to download."""
    return [r for r in runs if (r.counts or {}).get("invalid") or (r.counts or {}).get("warnings")]


def run_label(run: ImportRun, timezone: str) -> str:
    """'customers.csv — 2 Dec 2026, 9:05 AM PST (3 rows)' in the download picker."""
    return f"{run.file_name} — {shop_time(run.started_at, timezone)} ({(run.counts or {}).get('invalid', 0):,} rows)"


# --- Integrations: POS sources -----------------------------------------------------------------------------------


def day(value: Optional[dt.date]) -> str:
    """A day as every page writes it: '2 Dec 2026'."""
    return shop_time(value, "UTC")


def source_rows(sources: list[Any], timezone: str) -> list[dict[str, Any]]:
    """The POS sources table (pos.SourceSummary rows)."""
    return [
        {
            "Source": r.name,
            "Last sync": shop_time(r.source.last_sync_at, timezone, empty="never"),
            "Contacts synced": r.contacts,
            "Double opt-in request after": day(r.source.request_after) if r.source.request_after else "off",
        }
        for r in sources
    ]


def last_sync_line(src: Any, timezone: str) -> str:
    """'Last sync 2 Dec 2026, 9:05 AM PST · dutchie.csv · 3 new, ...' for a pos source (plain text)."""
    c = src.last_counts or {}
    if src.last_sync_at is None:
        return "Not synced yet."
    parts = [f"Last sync {shop_time(src.last_sync_at, timezone)}"]
    if c.get("file"):
        parts.append(str(c["file"]))
    if "created" in c:
        parts.append(
            f"{c.get('created', 0):,} new, {c.get('updated', 0):,} updated, "
            f"{plural(c.get('invalid', 0), 'row')} not imported"
        )
        parts.append(
            f"requests: {c.get('requests_sent', 0):,} sent, {c.get('requests_queued', 0):,} queued, "
            f"{c.get('requests_blocked', 0):,} refused"
        )
    return " · ".join(parts)


def sync_figures(report: Any) -> list[Any]:
    """A POS sync's figures: customers, consent and the requests it sent."""
    return figures(report, requests=True)


def date_on_sentence(request_after: dt.date, after: int, contacts: int) -> str:
    """Under a source's date when it is on (markdown)."""
    return (
        f"**On** since {day(request_after)}: {after:,} of the {plural(contacts, 'contact')} were first synced "
        "after it. Requests respect quiet hours and the limit of 2 per phone."
    )


def future_date_warning(request_after: Optional[dt.date], today: dt.date, timezone: str) -> str:
    """'' unless the date has not started yet in the shop's time zone: then why no request goes out."""
    if request_after is None or request_after <= today:
        return ""
    return (
        f"{day(request_after)} has not started yet in your shop's time zone ({timezone}; today is "
        f"{day(today)}): syncs send no requests until then. Pick today or an earlier date to ask contacts now."
    )


def date_saved_sentence(name: str, chosen: dt.date, done: Any) -> str:
    """What saving a source's date did (a pos.RequestSummary)."""
    return (
        f"Saved: {name} asks contacts synced after {day(chosen)}. {done.sent:,} requests sent now, "
        f"{done.queued:,} queued for quiet hours, {done.blocked:,} refused."
    )
