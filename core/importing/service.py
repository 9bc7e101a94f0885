"""Importing customer lists (CSV or Excel) and POS exports: the functions the pages and core.importing.pos call.

An import makes two streaming passes over the file, holding a few numbers per row:
  pass 1 (scanned.py) reads every row, checks each distinct phone spelling once (phone_cells.py, in worker
  processes for a big file) and picks one row per phone; a snapshot of the shop's customers (plan.Known)
  tells which rows would change nothing: they are counted, not written (a re-import reads the file and the
  snapshot only); pass 2 (apply.py) reads the file again and writes the other rows chunk by chunk.
The rules are those of customers.set_status and outbox.send, applied to many rows at once (rules.list_statement,
requests.bulk_requests); every status change appends a consent event; each event and message has a dedupe
key (context.py), so re-running an import changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Optional

import phonenumbers
from sqlmodel import Session

from core import activity
from core.clock import as_utc, utcnow
from core.consent import suppression
from core.db import run_write
from core.importing.apply import apply_file
from core.importing.cache import ImportCache
from core.importing.context import ImportContext, PosTarget, key_prefix, prefix_used
from core.importing.mapping import resolve_mapping
from core.importing.plan import Known, make_plan
from core.importing.reading import Source, header, own_cache, prepare
from core.importing.report import ImportProblem, ImportReport, MappingProblem, NoValidPhones, Progress
from core.importing.scan import Scan, scan
from core.importing.sql import EVENT, MESSAGE, in_rows
from core.models import Channel, ImportRun
from core.staff.roles import SHOP, Actor, allow

log = logging.getLogger(__name__)


def _check_region(region: str) -> str:
    region = (region or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise MappingProblem(f"{region!r} is not a country code phone numbers know (e.g. US, CA, GB).")
    return region


def _run(
    session: Session,
    source: Source,
    *,
    attested: bool,
    default_region: str,
    mapping,
    send_requests: bool,
    origin: str,
    now: Optional[dt.datetime],
    file_name: Optional[str],
    progress: Optional[Progress],
    write: bool,
    pos: Optional[PosTarget] = None,
    by: Actor = SHOP,
    cache: Optional[ImportCache] = None,
) -> ImportReport:
    with own_cache(cache) as cache:
        return _run_cached(
            session,
            source,
            attested=attested,
            default_region=default_region,
            mapping=mapping,
            send_requests=send_requests,
            origin=origin,
            now=now,
            file_name=file_name,
            progress=progress,
            write=write,
            pos=pos,
            by=by,
            cache=cache,
        )


def _run_cached(
    session: Session,
    source: Source,
    *,
    attested: bool,
    default_region: str,
    mapping,
    send_requests: bool,
    origin: str,
    now: Optional[dt.datetime],
    file_name: Optional[str],
    progress: Optional[Progress],
    write: bool,
    pos: Optional[PosTarget],
    by: Actor,
    cache: ImportCache,
) -> ImportReport:
    started = time.perf_counter()
    origin = Channel(origin).value
    if origin not in (Channel.csv_import.value, Channel.pos_sync.value):
        raise MappingProblem("An import's origin is csv_import or pos_sync.")
    region = _check_region(default_region)
    live_clock = now is None
    now = as_utc(now)
    opened = prepare(source, file_name, cache)
    header_row, headers, _ = header(opened)
    columns = resolve_mapping(headers, mapping, opened.name)
    if progress is not None:
        progress(0.0, "Reading the file")
    known, count = Known.load(session)
    scanned = _scan(session, opened, columns, region, known, count, progress, cache)
    session.rollback()  # end pass 1's reads before the write transactions
    report = ImportReport(
        file_name=opened.name,
        file_hash=opened.file_hash,
        origin=origin,
        dry_run=not write,
        attested=bool(attested) and origin != Channel.pos_sync.value,
        rows=scanned.rows,
        invalid=list(scanned.invalid),
        warnings=list(scanned.warnings),
        duplicates_in_file=scanned.duplicates,
        mapping=dict(columns.mapping),
        encoding=opened.label,
        delimiter=opened.delimiter,
    )
    if write and len(scanned.apply_rows) == 0:
        raise NoValidPhones(
            f"None of the {scanned.rows:,} rows of {opened.name} has a usable phone number in the "
            f"column {headers[columns.phone]!r}: check the phone column in the mapping."
        )
    ctx = ImportContext(
        session=session,
        opened=opened,
        columns=columns,
        attested=bool(attested),
        origin=origin,
        now=now,
        write=write,
        send_requests=bool(send_requests) and origin == Channel.csv_import.value,
        pos=pos,
        report=report,
        by=by,
        live_clock=live_clock,
    )
    if write:
        # keys are checked chunk by chunk only if this file (or this POS round) was applied before
        ctx.check_event_keys = prefix_used(session, EVENT, key_prefix(origin, opened.file_hash, None))
        ctx.check_request_keys = prefix_used(session, MESSAGE, key_prefix(origin, opened.file_hash, pos))
        session.rollback()
    run: Optional[ImportRun] = None
    if write:
        run = ImportRun(
            file_name=opened.name[:255],
            file_hash=opened.file_hash,
            origin=origin,
            started_at=now,
            by=by.name[:100],
            attested=report.attested,
            counts={"status": "started"},
            errors_csv="",
        )
        session.add(run)
        session.commit()
        report.import_run_id = run.id
    plan = make_plan(scanned, known, may_opt_in=ctx.may_opt_in, pos=pos is not None, send_requests=ctx.send_requests)
    suppression.skip_in_plan(session, plan, report, headers[columns.phone])  # deleted customers stay out (§11)
    del known
    apply_file(ctx, plan, progress, warn=not scanned.hashed)
    report.invalid.sort(key=lambda e: e.row)
    report.warnings.sort(key=lambda e: e.row)
    report.seconds = round(time.perf_counter() - started, 3)
    if write:

        def finish():
            r = session.get(ImportRun, report.import_run_id)
            r.finished_at = now + dt.timedelta(seconds=report.seconds)
            r.counts = {
                **report.counts(),
                "mapping": report.mapping,
                "encoding": report.encoding,
                "delimiter": report.delimiter,
                "region": region,
                "send_requests": bool(send_requests),
                "seconds": report.seconds,
                **({"pos_source": pos.name} if pos else {}),
            }
            r.errors_csv = report.errors_csv().decode("utf-8-sig") if (report.invalid or report.warnings) else ""
            session.add(r)
            if pos is None:  # a POS sync's line is written by core.importing.pos.sync
                activity.record(session, by, activity.Kind.import_, _activity_line(report), now=now)

        run_write(session, finish)
    log.log(
        logging.INFO if write else logging.DEBUG,
        "%s %s%s: %s rows, %s (%.1f s)",
        "import" if write else "import check",
        opened.name,
        f" from {pos.name}" if pos else "",
        f"{scanned.rows:,}",
        ", ".join(f"{k} {v:,}" for k, v in report.counts().items() if k != "rows" and isinstance(v, int) and v),
        report.seconds,
    )
    if progress is not None:
        progress(1.0, "Done")
    return report


def _scan(
    session: Session,
    opened,
    columns,
    region: str,
    known: Optional[Known],
    count: int,
    progress: Optional[Progress],
    cache: ImportCache,
) -> Scan:
    """Pass 1, or the scan the cache holds for this database, file, region and mapping (a dry run's work is
    not done again by the import that follows it)."""
    key = (
        opened.file_hash,
        opened.size,
        region,
        columns.phone,
        columns.opt_in,
        columns.opt_out,
        columns.first_name,
        columns.last_name,
        columns.full_name,
        columns.email,
        columns.consented_at,
        utcnow().date(),
    )  # a consent date "in the future" depends on the day
    engine = session.get_bind()
    hit = cache.scan(engine, key)
    if hit is not None:
        return hit
    if known is not None:
        has = known.has
    elif count:  # too many customers to hold: ask the database, chunk by chunk
        conn = session.connection()

        def has(candidates: list[int]) -> set[int]:
            rows = in_rows(conn, "SELECT phone FROM customer WHERE phone", ["+" + str(c) for c in candidates])
            return {int(p[1:]) for (p,) in rows}
    else:

        def has(candidates: list[int]) -> set[int]:
            return set()

    result = scan(opened, columns, region, has, known is not None and len(known.phone) > 0, progress)
    cache.keep_scan(engine, key, result)
    return result


def _actor(session: Session, by: Optional[Actor | str], action: str) -> Actor:
    """The role check of an import; a plain name (earlier callers: "owner") is the shop itself."""
    return allow(session, by if isinstance(by, Actor) else None, action)


def _activity_line(report: ImportReport) -> str:
    counts = ", ".join(
        f"{k.replace('_', ' ')} {v:,}" for k, v in report.counts().items() if isinstance(v, int) and v and k != "rows"
    )
    return (
        f"Imported {report.file_name} ({report.rows:,} rows{': ' + counts if counts else ''})"
        f"{'; attested consent' if report.attested else ''}"
    )


def import_pos_file(
    session: Session,
    source: Source,
    *,
    target: PosTarget,
    default_region: str = "US",
    mapping: Optional[dict[str, Optional[str]]] = None,
    now: Optional[dt.datetime] = None,
    file_name: Optional[str] = None,
    progress: Optional[Progress] = None,
    by: Optional[Actor | str] = None,
) -> ImportReport:
    """A POS sync's import (core.pos.sync): origin pos_sync, never opts in, records each contact for the
    source, sends the requests the source's date setting asks for."""
    by = _actor(session, by, "pos_sync")
    return _run(
        session,
        source,
        attested=False,
        default_region=default_region,
        mapping=mapping,
        send_requests=False,
        origin=Channel.pos_sync.value,
        now=now,
        file_name=file_name,
        progress=progress,
        write=True,
        pos=target,
        by=by,
    )


def dry_run(
    session: Session,
    source: Source,
    *,
    mapping: Optional[dict[str, Optional[str]]] = None,
    default_region: str = "US",
    attested: bool = False,
    origin: str = "csv_import",
    file_name: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    progress: Optional[Progress] = None,
    cache: Optional[ImportCache] = None,
) -> ImportReport:
    """What import_csv would do, without writing anything: the same counts, the invalid rows. Raises the
    same ImportProblem errors."""
    try:
        return _run(
            session,
            source,
            attested=attested,
            default_region=default_region,
            mapping=mapping,
            send_requests=False,
            origin=origin,
            now=now,
            file_name=file_name,
            progress=progress,
            write=False,
            cache=cache,
        )
    finally:
        session.rollback()


def import_csv(
    session: Session,
    source: Source,
    *,
    attested: bool,
    default_region: str = "US",
    mapping: Optional[dict[str, Optional[str]]] = None,
    origin: str = "csv_import",
    now: Optional[dt.datetime] = None,
    file_name: Optional[str] = None,
    progress: Optional[Progress] = None,
    by: Optional[Actor | str] = None,
    cache: Optional[ImportCache] = None,
) -> ImportReport:
    """Import a CSV or .xlsx customer list (rulebook §8); returns the report.

    `source`: a path or a binary file object. `attested`: the owner confirms these customers agreed to
    receive marketing texts from this business (without it, rows that say opted in import as not opted
    in). An import never sends a text (§11): the owner asks customers from Personas or Member Club.
    Each row's original consent date and source (columns consented_at, source, ...) become the
    consent event's evidence. `progress(fraction, text)` is called as the import goes. `cache`: the
    ImportCache of the owner's session (reuses the workbook copy and the dry run's pass 1).
    Commits chunk by chunk; idempotent (see the module docstring). Raises ImportProblem subclasses
    (nothing written) for a file that cannot be imported. `by`: who runs it (the import role; attesting
    consent is the owner's alone).
    """
    by = _actor(session, by, "import")
    if attested:
        by = allow(session, by, "attest_import")
    return _run(
        session,
        source,
        attested=attested,
        default_region=default_region,
        mapping=mapping,
        send_requests=False,
        origin=origin,
        now=now,
        file_name=file_name,
        progress=progress,
        write=True,
        by=by,
        cache=cache,
    )


def history(
    session: Session, *, limit: int = 20, before_id: Optional[int] = None, origin: Optional[str] = None
) -> list[ImportRun]:
    """Import runs, newest first (keyset paginated by id); without their error files."""
    from sqlalchemy.orm import defer
    from sqlmodel import select as sm_select

    stmt = sm_select(ImportRun).options(defer(ImportRun.errors_csv)).order_by(ImportRun.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(ImportRun.id < before_id)
    if origin is not None:
        stmt = stmt.where(ImportRun.origin == origin)
    return list(session.exec(stmt).all())


def get_run(session: Session, run_id: int) -> ImportRun:
    run = session.get(ImportRun, run_id)
    if run is None:
        raise ImportProblem(f"No import with id {run_id}.")
    return run


def run_errors_csv(session: Session, run_id: int, *, by: Optional[Actor] = None) -> bytes:
    """The error rows of a past import as CSV (UTF-8 with BOM, for Excel); the download is recorded."""
    by = allow(session, by, "export")
    run = get_run(session, run_id)
    activity.record(session, by, activity.Kind.export, f"Downloaded the rows not imported from {run.file_name}")
    session.commit()
    return (run.errors_csv or "").encode("utf-8-sig")
