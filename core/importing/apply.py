"""Pass 2 of an import: read the file again and apply the planned rows, CHUNK_ROWS phones per transaction.

Each chunk takes the per-phone consent lock (db.lock_phones, as every writer of consent does), reads its
customers fresh (FOR UPDATE on PostgreSQL) and writes set-wise: new customers with INSERT ... ON CONFLICT
DO NOTHING, status changes as one UPDATE (checked against each customer's version) plus one INSERT of
their consent events, opt-in requests through requests.bulk_requests. A chunk that meets a concurrent
change raises sql.Retry and db.run_write runs it again.

The statuses follow rules.list_statement (through plan.decide_tables): opt-out wins; opted in needs the
file name, row number and the owner's attestation, and never comes from POS data.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Optional

from core.clock import utcnow
from core.consent import customers
from core.db import lock_phones, run_write
from core.importing import origin as _origin
from core.importing.context import ImportContext, Row, Wanted
from core.importing.plan import BUCKET_FIELDS, STATUS_CODES, STATUS_OF_CODE, S_NOT, T_NONE, Plan, decide_tables
from core.importing.reading import csv_reader
from core.importing.report import Progress, RowError
from core.importing.requests import RequestTally, bulk_requests
from core.importing.sql import CUSTOMER, CUSTOMER_COLS, EVENT, POS_CONTACT, Retry, Sql, in_rows
from core.importing.values import details
from core.models import SmsStatus

CHUNK_ROWS = 20_000

_OUT, _OPTED_IN, _NOT, _PENDING = (
    SmsStatus.opted_out.value,
    SmsStatus.opted_in.value,
    SmsStatus.not_opted_in.value,
    SmsStatus.pending.value,
)
# columns of _existing's tuples
(
    _ID,
    _PHONE,
    _STATUS,
    _FIRST,
    _LAST,
    _EMAIL,
    _REQUESTS,
    _LAST_REQUEST,
    _SOURCE,
    _DETAIL,
    _CHANGED_AT,
    _VERSION,
    _QUEUED,
    _ZIP,
) = range(14)


def apply_file(ctx: ImportContext, plan: Plan, progress: Optional[Progress], warn: bool) -> None:
    """Pass 2: read the file again and write the planned rows, CHUNK_ROWS phones per transaction.
    `warn`: report dropped values here (pass 1 did not read names and emails)."""
    cols = ctx.columns
    report = ctx.report
    report.unchanged += plan.skipped
    for name, n in plan.skipped_buckets.items():
        setattr(report, name, getattr(report, name) + n)
    targets, phones_, verdicts = plan.rows, plan.phones, plan.verdicts
    total = len(targets)
    batch: list[Row] = []
    done = 0
    warnings: list[RowError] = ctx.report.warnings if warn else []  # else pass 1 reported them

    def run_batch():
        nonlocal done
        if batch:
            if ctx.write:
                run_write(ctx.session, lambda: _with_page_cache(ctx, batch))
            else:
                _apply_chunk(ctx, batch)
                ctx.session.rollback()
        done += len(batch)
        batch.clear()
        if progress is not None:
            verb = "Saved" if ctx.write else "Checked"
            progress(0.6 + 0.4 * done / max(1, total), f"{verb} {done:,} of {total:,} phones")

    if total == 0:
        return
    ai = 0
    target = targets[0]
    n = 0  # record number, counted exactly as reading.records counts it
    with ctx.opened.text() as t:
        it = iter(csv_reader(ctx.opened, t))
        while ai < total:
            try:
                for rec in it:
                    n += 1
                    if n != target:
                        continue
                    first, last, email = details(rec, cols, n, warnings)
                    batch.append(
                        Row(phones_[ai], verdicts[ai], n, first, last, email, *_origin.read(rec, cols, ctx.now))
                    )
                    ai += 1
                    if len(batch) >= CHUNK_ROWS:
                        run_batch()
                    if ai >= total:
                        break
                    target = targets[ai]
                break
            except csv.Error:
                n += 1  # an unreadable record (pass 1 reported it)
        run_batch()


def _existing(ctx: ImportContext, phone_strs: list[str]) -> dict[str, tuple]:
    """phone -> (id, phone, status, first, last, email, requests, last request, source, source detail,
    status changed at, version, queued requests, zip) for this chunk's customers.
    On PostgreSQL the rows are locked (FOR UPDATE) until the chunk commits, so nobody changes them meanwhile."""
    sql = ctx.sql
    tail = " FOR UPDATE" if ctx.write and not sql.sqlite else ""
    rows = in_rows(
        sql.conn,
        "SELECT id, phone, sms_status, first_name, last_name, email, opt_in_requests, "
        "last_request_at, source, source_detail, status_changed_at, version, queued_requests, zip "
        "FROM customer WHERE phone",
        phone_strs,
        tail,
    )
    for r in rows:
        sql.versions[r[_ID]] = r[_VERSION]
    return {r[1]: r for r in rows}


SQLITE_CACHE_KIB = 64 * 1024  # a chunk's writes touch many pages of the customer table's 15 indexes


def _with_page_cache(ctx: ImportContext, batch: list[Row]) -> None:
    """_apply_chunk with SQLite's page cache raised to SQLITE_CACHE_KIB for the chunk (about a tenth less CPU
    for a big import), and put back afterwards (the connection goes back to the pool)."""
    conn = ctx.session.connection()
    if conn.dialect.name != "sqlite":
        return _apply_chunk(ctx, batch)
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        return _apply_chunk(ctx, batch)
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _apply_chunk(ctx: ImportContext, batch: list[Row]) -> None:
    """Apply one chunk of rows (one row per phone): statuses by plan.decide_tables (rules.list_statement), with
    a consent event per change; requests by _bulk_requests (the rules of outbox.send).
    A change whose dedupe key this file already used is skipped (the statement was applied before).
    Names and email: non-blank values of the file replace the customer's; blanks never erase."""
    session, report = ctx.session, ctx.report
    phone_strs = ["+" + str(r.phone) for r in batch]
    if ctx.write:
        lock_phones(session, phone_strs)  # the same per-phone lock as every other writer of consent
        if ctx.live_clock:
            ctx.now = max(ctx.now, utcnow())
    now = ctx.now
    sql = ctx.sql = Sql(session, ctx.compiled)
    existing = _existing(ctx, phone_strs)
    need_state = ctx.send_requests or (ctx.pos is not None)

    # counts are added to the report only once the chunk is in (run_write may run this function again)
    buckets = [0] * len(BUCKET_FIELDS)
    targets: list[Optional[str]] = []
    codes = STATUS_CODES
    bucket_of, target_of = (t.tolist() for t in decide_tables(ctx.may_opt_in))
    for row, phone in zip(batch, phone_strs):
        ex = existing.get(phone)
        status = S_NOT if ex is None else codes[ex[_STATUS]]
        buckets[bucket_of[row.verdict][status]] += 1
        target = target_of[row.verdict][status]
        targets.append(None if target == T_NONE else STATUS_OF_CODE[target])

    keys = [ctx.event_key(p, t) for p, t in zip(phone_strs, targets) if t] if ctx.check_event_keys else []
    if keys:
        done_keys = sql.existing_keys(EVENT, keys)
        if done_keys:  # this file's statement about these phones was applied before
            targets = [None if t and ctx.event_key(p, t) in done_keys else t for p, t in zip(phone_strs, targets)]

    created = updated = unchanged = 0
    new_rows: list[tuple] = []
    transitions: list[tuple] = []  # (phone, old, new, row, pending seconds, customer source)
    detail_updates: list[tuple] = []
    final: dict[str, list] = {}  # phone -> [id, status, requests, last request, first name, row] (requests, POS)
    source_detail = (ctx.pos.name if ctx.pos else ctx.opened.name)[:200]
    new_source = customers.source_key(ctx.origin, source_detail)
    now_db = sql.dt(now)
    origin = ctx.origin
    for row, phone, target in zip(batch, phone_strs, targets):
        ex = existing.get(phone)
        if ex is None:
            created += 1
            status = target or _NOT
            new_rows.append(
                (
                    row.first_name,
                    row.last_name,
                    phone,
                    row.email,
                    "",
                    origin,
                    source_detail,
                    status,
                    now_db if target else None,
                    0,
                    None,
                    now_db,
                    now_db,
                    0,
                    1,
                )
            )
            if target:
                transitions.append((phone, _NOT, target, row.row, None, new_source))
            if need_state:
                final[phone] = [None, status, 0, None, row.first_name, row.row, new_source, 0, ""]
            continue
        had = (ex[_FIRST] or "", ex[_LAST] or "", ex[_EMAIL] or "")
        first, last, email = row.first_name or had[0], row.last_name or had[1], row.email or had[2]
        changed = (first, last, email) != had
        if changed:
            detail_updates.append((first, last, email, now_db, ex[_ID]))
        source = customers.source_key(ex[_SOURCE], ex[_DETAIL] or "")
        if target:
            transitions.append((phone, ex[_STATUS], target, row.row, _pending_seconds(sql, ex, now), source))
        if target or changed:
            updated += 1
        else:
            unchanged += 1
        if need_state:
            final[phone] = [
                ex[_ID],
                target or ex[_STATUS],
                ex[_REQUESTS] or 0,
                ex[_LAST_REQUEST],
                first,
                row.row,
                source,
                ex[_QUEUED] or 0,
                ex[_ZIP] or "",
            ]

    if ctx.write:
        ids = {phone: ex[_ID] for phone, ex in existing.items()}
        ids.update(_insert_customers(ctx, new_rows))
        if need_state:
            for r in new_rows:
                final[r[2]][0] = ids[r[2]]
        status_updates = []
        events = []
        by_row = {r.row: r for r in batch}
        for phone, old, new, rownum, waited, source in transitions:
            cid = ids[phone]
            if phone in existing:
                status_updates.append((new, now_db, now_db, cid))
            r = by_row[rownum]
            extra = _origin.evidence(r.consented_at, r.consent_source)  # the old provider's date and source (§11)
            evidence = json.dumps(ctx.evidence(rownum, **extra)) if extra else ctx.evidence_json(rownum)
            consented = sql.dt(r.consented_at) if r.consented_at is not None and new == _OPTED_IN else None
            events.append(
                (cid, phone, old, new, now_db, origin, evidence, ctx.event_key(phone, new), waited, source, consented)
            )
        if not sql.update_customers("first_name = ?, last_name = ?, email = ?, updated_at = ?", detail_updates):
            raise Retry()
        if not sql.write_status_changes(status_updates, events):
            ctx.check_event_keys = True
            raise Retry()
        if ctx.pos is not None:
            _pos_contacts(ctx, final)

    # opt-in requests: the import option, or the POS source's date setting
    req = RequestTally()
    if ctx.send_requests or (ctx.pos is not None and ctx.pos.cutoff is not None):
        wanted = [(p, s) for p, s in final.items() if s[1] == _NOT or s[1] == _PENDING]
        if ctx.pos is not None and wanted:
            wanted = _synced_after_cutoff(ctx, wanted)
        if wanted:
            req = bulk_requests(ctx, [(p, Wanted(*s)) for p, s in wanted])

    report.created += created
    report.updated += updated
    report.unchanged += unchanged
    for name, n in zip(BUCKET_FIELDS, buckets):
        setattr(report, name, getattr(report, name) + n)
    req.add_to(report)


def _insert_customers(ctx: ImportContext, new_rows: list[tuple]) -> dict[str, int]:
    """INSERT the new customers ... ON CONFLICT (phone) DO NOTHING; their ids by phone.

    If a phone was added by someone else meanwhile, the chunk runs again (_Retry). On SQLite, under the
    write lock, the ids are the table's largest id + 1, + 2, ... in insert order (INTEGER PRIMARY KEY
    without AUTOINCREMENT), checked afterwards; elsewhere they are read back."""
    if not new_rows:
        return {}
    sql = ctx.sql
    new_rows.sort(key=lambda r: r[2])
    before = sql.conn.exec_driver_sql("SELECT max(id) FROM customer").scalar() or 0 if sql.sqlite else None
    if sql.insert(CUSTOMER, CUSTOMER_COLS, new_rows, conflict=["phone"]) != len(new_rows):
        raise Retry()
    if sql.sqlite:
        after = sql.conn.exec_driver_sql("SELECT max(id) FROM customer").scalar()
        if after == before + len(new_rows):
            return {r[2]: before + 1 + i for i, r in enumerate(new_rows)}
    return {
        phone: cid
        for cid, phone in in_rows(sql.conn, "SELECT id, phone FROM customer WHERE phone", [r[2] for r in new_rows])
    }


def _pending_seconds(sql: Sql, ex: tuple, now: dt.datetime) -> Optional[int]:
    """What set_status records on an event that moves a customer out of pending (reports: time to confirm)."""
    if ex[_STATUS] != _PENDING or ex[_CHANGED_AT] is None:
        return None
    return max(0, int((now - sql.dt_result(ex[_CHANGED_AT])).total_seconds()))


def _pos_contacts(ctx: ImportContext, final: dict[str, list]) -> None:
    rows = [(ctx.pos.source_id, s[0], ctx.sql.dt(ctx.now)) for s in final.values()]
    ctx.sql.insert(POS_CONTACT, ["source_id", "customer_id", "synced_at"], rows, conflict=["source_id", "customer_id"])


def _synced_after_cutoff(ctx: ImportContext, wanted: list[tuple[str, list]]) -> list[tuple[str, list]]:
    """Keep the contacts of this POS source first synced at or after the date setting (a dry run counts
    contacts not synced yet as synced now)."""
    cutoff = ctx.pos.cutoff
    ids = [s[0] for _, s in wanted if s[0] is not None]
    rows = in_rows(
        ctx.sql.conn,
        "SELECT customer_id, synced_at FROM pos_contact WHERE source_id = ? AND customer_id",
        ids,
        params=(ctx.pos.source_id,),
    )
    synced = {cid: ctx.sql.dt_result(at) for cid, at in rows}
    return [(p, s) for p, s in wanted if synced.get(s[0], ctx.now) >= cutoff]
