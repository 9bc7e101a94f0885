"""How big a file the import takes, and what the owner is told when one is bigger.

Read as `limits.NAME` (not imported by name) so a test can lower a limit for one test."""

from __future__ import annotations

from typing import Optional

MAX_FILE_MB = 200
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
MAX_COLUMNS = 1000
# An .xlsx is a zip: what it expands to is checked before openpyxl reads it, and capped while reading
MAX_XLSX_ROWS = 1_048_576  # Excel's own limit: a sheet declaring more was not saved by Excel
MAX_XLSX_CELLS = 20_000_000
MAX_XLSX_PART_BYTES = 1024 * 1024 * 1024  # one part (a sheet) uncompressed
MAX_XLSX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024  # every part together, uncompressed
MAX_XLSX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024  # openpyxl holds the shared strings in memory
SAMPLE_BYTES = 64 * 1024  # read to find the encoding and the delimiter
PREVIEW_ROWS = 5


def too_large_message(size: int) -> str:
    return (
        f"This file is {size / 1024 / 1024:,.0f} MB; the import takes files up to {MAX_FILE_MB} MB "
        f"(about 2 million customers). Split it into smaller files and import them one after another."
    )


def too_many_columns_message(row: Optional[int], n: int) -> str:
    where = f"Row {row:,}" if row else "The sheet"
    return (
        f"{where} has {n:,} columns; a customer list has at most {MAX_COLUMNS:,}. "
        "Is this the right file? Check that it is a customer export and that the delimiter is right."
    )


def wide_row_reason(n: int) -> str:
    return (
        f"this row has {n:,} columns; a customer list has at most {MAX_COLUMNS:,} "
        "(is a quote or a delimiter wrong in it?)"
    )
