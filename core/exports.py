"""Every CSV the shop downloads is written here: one rule for safe cells, one for phones, one writer.

- ``safe_cell``: the OWASP CSV-injection rule. A cell starting with = + - @ tab or CR gets a
  leading apostrophe, so a spreadsheet shows it as text instead of running it as a formula.
- ``phone_cell``: phones as RFC 3966 ``tel:+14158675309`` (text, safe, the exact E.164 number).
- ``csv_chunks``: CSV bytes a chunk at a time (UTF-8 with a BOM so spreadsheets read accents,
  CRLF line ends), so a 100,000-row export streams with bounded memory.
- ``csv_bytes`` / ``table_csv``: a whole small file at once (a ledger, an error list, a chart's table).

Used by the audience export, the Member Club export, the chart tables, the proof of consent
and the import's rows-not-imported file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Iterable, Iterator, Optional

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """`value` as text a spreadsheet never runs as a formula (None: empty)."""
    text = "" if value is None else str(value)
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


def phone_cell(e164: str) -> str:
    """Phones are exported as RFC 3966 tel: URIs, 'tel:+14158675309'.

    A bare '+14158675309' starts with '+', which the OWASP rule treats as a formula and
    which spreadsheets turn into the number 14158675309 (dropping the '+'). With 'tel:'
    in front the cell starts with a letter: it is text, it is safe, and everything after
    'tel:' is the exact E.164 number.
    """
    return f"tel:{e164}" if e164 else ""


def utc_cell(value: Optional[dt.datetime]) -> str:
    """A stored (UTC) time as 'YYYY-MM-DD HH:MM:SS'; empty when there is none."""
    return value.isoformat(sep=" ", timespec="seconds") if value else ""


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable[Any]], *, rows_per_chunk: int = 1000) -> Iterator[bytes]:
    """CSV bytes a chunk at a time (UTF-8 with a BOM so spreadsheets read accents).

    Cells are written as given: make text cells safe with safe_cell (numbers need not be)."""
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


def csv_bytes(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """A whole (small) CSV file: csv_chunks joined."""
    return b"".join(csv_chunks(header, rows))


def table_csv(table: Any) -> bytes:
    """A chart's table (a pandas DataFrame, or a list of dicts) as CSV bytes, cells made safe."""
    if hasattr(table, "to_dict"):
        header = [str(c) for c in table.columns]
        records = table.to_dict("records")
    else:
        records = list(table)
        header = list(records[0]) if records else []

    def cell(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ", timespec="seconds")
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
        return safe_cell(v)

    return csv_bytes(header, ([cell(r[h]) for h in header] for r in records))


__all__ = ["safe_cell", "phone_cell", "utc_cell", "csv_chunks", "csv_bytes", "table_csv", "FORMULA_STARTS"]
