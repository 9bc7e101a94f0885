"""Pass 1 of an import: read every row once and keep a few numbers per row.

Each row's phone (an id of its distinct spelling, resolved to E.164 digits by phone_cells, in worker
processes when there are many), what it says about consent (values.V_*), its row number and, when the
shop already has customers, hashes of its names and email (to tell which rows would change nothing).
Then numpy groups the rows by phone: one row per phone is applied (the earliest row saying the strongest
thing: opted out over opted in over nothing), the others count as duplicates; opt-out wins in the file.
"""

from __future__ import annotations

import array
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from core import phones
from core.models import utcnow
from core.importing import origin as _origin
from core.importing import phone_cells
from core.importing.mapping import Columns
from core.importing.reading import Opened, records, unique_headers
from core.importing.report import EmptyFile, NotASpreadsheet, Progress, RowError
from core.importing.values import (
    BAD_OPT_IN,
    OPT_IN_HELP,
    OPT_OUT_HELP,
    V_IN,
    V_NONE,
    V_OUT,
    V_OUT_OVER_IN,
    detail_hash,
    details,
    row_verdict,
)

PROGRESS_ROWS = 20_000  # rows between two progress reports (at most 4 a second)


@dataclass
class Scan:
    """What pass 1 keeps: a few numbers per data row, and the rows that cannot be imported."""

    headers: list[str]
    header_row: int
    phone: np.ndarray  # int64 E.164 digits; 0 = not importable
    verdict: np.ndarray  # int8 V_*
    rownum: np.ndarray  # int64 spreadsheet row numbers
    details: np.ndarray  # int64 (rows, 3): hashes of first name, last name, email as they would be saved
    hashed: bool  # details (and warnings) computed: only when the shop already had customers
    invalid: list[RowError]
    warnings: list[RowError]
    rows: int
    parsed: int = 0  # distinct numbers checked (the others were customers' numbers)
    workers: int = 0  # worker processes that checked them (0: this process)
    # group(): the row applied for each phone (data-row indexes, ascending) and what it says
    apply_rows: Optional[np.ndarray] = None
    apply_verdict: Optional[np.ndarray] = None
    duplicates: int = 0


def scan(
    opened: Opened,
    columns: Columns,
    region: str,
    known: Callable[[list[int]], set[int]],
    hashed: bool,
    progress: Optional[Progress],
) -> Scan:
    """Pass 1. `known(candidates)`: the E.164 digits among `candidates` customers already have.
    `hashed`: the shop has customers, so names and emails are read here (into an empty shop every row is
    new and pass 2 reads them)."""
    resolver = phone_cells.PhoneResolver(region, known)
    try:
        return _read(opened, columns, resolver, hashed, progress)
    finally:
        resolver.close()


def _read(
    opened: Opened, columns: Columns, resolver: phone_cells.PhoneResolver, hashed: bool, progress: Optional[Progress]
) -> Scan:
    pi, ii, oi = columns.phone, columns.opt_in, columns.opt_out
    with_details = hashed and any(
        c is not None for c in (columns.first_name, columns.last_name, columns.full_name, columns.email)
    )
    phone_header = columns.headers[pi]
    in_header = columns.headers[ii] if ii is not None else ""
    out_header = columns.headers[oi] if oi is not None else ""
    verdict_cache: dict[tuple[str, str], int] = {}
    raw_ids = array.array("q")
    verdict_arr = array.array("b")
    row_arr = array.array("q")
    detail_arr = array.array("q")
    invalid: list[RowError] = []
    warnings: list[RowError] = []
    header_row = 0
    headers: list[str] = []
    rows = 0
    chunk: list[str] = []

    too_wide: dict[int, str] = {}
    with opened.text() as t:
        recs = records(opened, t, too_wide)
        for n, rec in recs:
            if rec is None:
                raise NotASpreadsheet(f"The header row of {opened.name} cannot be read.")
            header_row, headers = n, unique_headers(rec)
            break
        else:
            raise EmptyFile(f"{opened.name} has no rows: there is nothing to import.")
        last_report = time.monotonic()
        for n, rec in recs:
            rows += 1
            row_arr.append(n)
            if rec is None:
                invalid.append(
                    RowError(
                        n,
                        "",
                        too_wide.pop(n, None)
                        or "this row cannot be read (a cell is "
                        "longer than 131,072 characters or a quote is not closed)",
                    )
                )
                chunk.append("")
                verdict_arr.append(-1)
                detail_arr.extend((0, 0, 0))
                continue
            width = len(rec)
            cin = rec[ii] if ii is not None and ii < width else ""
            cout = rec[oi] if oi is not None and oi < width else ""
            v = V_NONE
            if cin or cout:
                v = verdict_cache.get((cin, cout), -9)
                if v == -9:
                    v = verdict_cache[(cin, cout)] = row_verdict(cin, cout)
                if v < 0:
                    cell, header, what = (
                        (cin, in_header, "opt-in") if v == BAD_OPT_IN else (cout, out_header, "opt-out")
                    )
                    invalid.append(
                        RowError(
                            n,
                            header,
                            f"{cell[:40]!r} is not an {what} value: {OPT_IN_HELP if v == BAD_OPT_IN else OPT_OUT_HELP}",
                            cell[:80],
                        )
                    )
            if columns.consented_at is not None and v >= 0:
                v = _consent_date_check(rec, columns, n, v, invalid, warnings)
            verdict_arr.append(v)
            if with_details:
                first, last, email = details(rec, columns, n, warnings)
                detail_arr.extend((detail_hash(first), detail_hash(last), detail_hash(email)))
            else:
                detail_arr.extend((0, 0, 0))
            chunk.append(rec[pi] if pi < width else "")
            if len(chunk) >= PROGRESS_ROWS:
                raw_ids.extend(resolver.id_of(chunk))
                chunk.clear()
                if progress is not None and time.monotonic() - last_report > 0.25:
                    last_report = time.monotonic()
                    done = min(0.99, t.buffer.tell() / max(1, opened.size)) if hasattr(t, "buffer") else 0.5
                    progress(0.6 * done, f"Reading the file: {rows:,} rows so far")
        raw_ids.extend(resolver.id_of(chunk))
    if not headers:
        raise EmptyFile(f"{opened.name} has no rows: there is nothing to import.")
    if rows == 0:
        raise EmptyFile(f"{opened.name} has column names but no customer rows: there is nothing to import.")

    codes, reasons = resolver.finish()
    verdict = _as_np(verdict_arr, np.int8)
    code = np.asarray(codes, dtype=np.int64)[_as_np(raw_ids, np.int64)]
    del codes
    ok = (code > 0) & (verdict >= 0)
    phone = np.where(ok, code, 0)
    rownum = _as_np(row_arr, np.int64)
    # rows whose phone is not usable (a row with an unreadable status value is reported for that instead)
    raws = resolver.raws
    for i in np.nonzero((code < 0) & (verdict >= 0))[0].tolist():
        reason = reasons[-int(code[i])]
        if reason == phones._EMPTY:
            invalid.append(RowError(int(rownum[i]), phone_header, "no phone number", ""))
        else:
            invalid.append(RowError(int(rownum[i]), phone_header, reason, raws[raw_ids[i]][:80]))
    invalid.sort(key=lambda e: e.row)
    verdict[~ok] = 0
    result = Scan(
        headers=headers,
        header_row=header_row,
        phone=phone,
        verdict=verdict,
        rownum=rownum,
        details=_as_np(detail_arr, np.int64).reshape(-1, 3),
        hashed=hashed,
        invalid=invalid,
        warnings=[],
        rows=rows,
        parsed=resolver.parsed,
        workers=resolver.workers,
    )
    group(result)
    if warnings:  # only for the rows that are applied (a duplicate row's email is not imported anyway)
        applied = set(result.rownum[result.apply_rows].tolist())
        result.warnings = [w for w in warnings if w.row in applied]
    return result


def _as_np(a: array.array, dtype) -> np.ndarray:
    return np.frombuffer(a, dtype=dtype).copy() if len(a) else np.zeros(0, dtype=dtype)


def group(scan: Scan) -> None:
    """One row per phone: the earliest row saying the strongest thing (opt-out > opt-in > no > blank)."""
    P, V = scan.phone, scan.verdict
    idx = np.nonzero(P > 0)[0]
    if len(idx) == 0:
        scan.apply_rows = np.zeros(0, dtype=np.int64)
        scan.apply_verdict = np.zeros(0, dtype=np.int8)
        return
    order = np.lexsort((idx, -V[idx].astype(np.int16), P[idx]))
    rows_sorted = idx[order]
    ph = P[rows_sorted]
    starts = np.ones(len(ph), dtype=bool)
    starts[1:] = ph[1:] != ph[:-1]
    start_pos = np.nonzero(starts)[0]
    rep = rows_sorted[start_pos]
    verdict = V[rep].copy()
    # opt-out wins in the file: a phone whose rows say both opted out and opted in
    says_in = (V[rows_sorted] == V_IN).astype(np.int8)
    any_in = np.maximum.reduceat(says_in, start_pos) > 0
    verdict[(verdict == V_OUT) & any_in] = V_OUT_OVER_IN
    order2 = np.argsort(rep, kind="stable")
    scan.apply_rows = rep[order2]
    scan.apply_verdict = verdict[order2]
    scan.duplicates = int(len(idx) - len(rep))


def _consent_date_check(
    rec: list[str], columns: Columns, n: int, v: int, invalid: list[RowError], warnings: list[RowError]
) -> int:
    """A consent date in the future or before 1990 makes a bad row (-3: not imported, reported); on a row that
    says opted out the opt-out still imports and the date is dropped with a warning (§11)."""
    raw = _origin.cell(rec, columns.consented_at)
    try:
        _origin.parse(raw, now=utcnow())
    except _origin.BadConsentDate as exc:
        header = columns.headers[columns.consented_at]
        if v in (V_OUT, V_OUT_OVER_IN):
            warnings.append(RowError(n, header, f"{exc}: the opt-out is imported, the date is not", raw[:80], True))
            return v
        invalid.append(RowError(n, header, str(exc), raw[:80]))
        return -3
    return v
