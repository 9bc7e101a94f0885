"""An .xlsx workbook's first sheet as a temporary UTF-8 CSV, read like any CSV afterwards.

The workbook is a zip: what its parts expand to is checked before openpyxl reads any (a zip bomb is
refused), and rows, cells and text are capped while the sheet is streamed (openpyxl read-only)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from typing import Any, BinaryIO

from core.importing import limits
from core.importing.report import EmptyFile, FileTooLarge, NotASpreadsheet, TooManyColumns


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _xlsx_too_big(name: str, what: str) -> FileTooLarge:
    return FileTooLarge(
        f"{name} expands to {what} when opened, more than a customer list can be (at most "
        f"{limits.MAX_XLSX_ROWS:,} rows and {limits.MAX_COLUMNS:,} columns). Is this the right file? "
        "Open it in Excel, keep only the customer sheet, and save it as CSV UTF-8."
    )


def _check_xlsx_parts(b: BinaryIO, name: str) -> None:
    """Refuse a workbook whose parts expand past the limits (a zip bomb) before openpyxl reads any."""
    import zipfile

    try:
        with zipfile.ZipFile(b) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # openpyxl says it cannot be opened, with the usual message
    finally:
        b.seek(0)
    total = 0
    for part in parts:
        total += part.file_size
        lower = part.filename.lower()
        limit = (
            limits.MAX_XLSX_SHARED_STRINGS_BYTES if lower.endswith("sharedstrings.xml") else limits.MAX_XLSX_PART_BYTES
        )
        if part.file_size > limit:
            raise _xlsx_too_big(name, f"{part.file_size / 1024 / 1024:,.0f} MB in its part {part.filename}")
    if total > limits.MAX_XLSX_TOTAL_BYTES:
        raise _xlsx_too_big(name, f"{total / 1024 / 1024:,.0f} MB")


def workbook_to_csv(b: BinaryIO, name: str) -> str:
    """Stream the first sheet of the workbook `b` into a new temporary CSV file; its path (the caller
    deletes it). Raises NotASpreadsheet, EmptyFile, TooManyColumns or FileTooLarge (nothing left behind)."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    fd, tmp = tempfile.mkstemp(prefix="optin-import-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            _check_xlsx_parts(b, name)
            try:
                wb = openpyxl.load_workbook(b, read_only=True, data_only=True)
            except (InvalidFileException, KeyError, OSError, ValueError, Exception) as exc:  # noqa: B014
                raise NotASpreadsheet(
                    f"{name} cannot be opened as an Excel workbook ({type(exc).__name__}). "
                    "Open it in Excel and save it again as Excel Workbook (.xlsx) or CSV UTF-8."
                ) from None
            try:
                ws = wb.worksheets[0] if wb.worksheets else None
                if ws is None:
                    raise EmptyFile(f"{name} has no sheets.")
                max_col = ws.max_column or 0
                if max_col > limits.MAX_COLUMNS:
                    raise TooManyColumns(limits.too_many_columns_message(None, max_col))
                if (ws.max_row or 0) > limits.MAX_XLSX_ROWS:
                    raise _xlsx_too_big(name, f"{ws.max_row:,} rows")
                w = csv.writer(out)
                cells_read = 0
                for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                    cells_read += len(row)
                    if n > limits.MAX_XLSX_ROWS or cells_read > limits.MAX_XLSX_CELLS:
                        raise _xlsx_too_big(
                            name,
                            f"more than {n - 1:,} rows"
                            if n > limits.MAX_XLSX_ROWS
                            else f"more than {limits.MAX_XLSX_CELLS:,} cells",
                        )
                    if n % 10_000 == 0 and out.tell() > limits.MAX_FILE_BYTES:
                        raise _xlsx_too_big(name, f"more than {limits.MAX_FILE_MB} MB of text")
                    cells = [_cell_text(v) for v in row]
                    while cells and cells[-1] == "":
                        cells.pop()
                    w.writerow(cells)  # a row too wide is refused (header) or reported (data) as in a CSV
            finally:
                wb.close()
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp
