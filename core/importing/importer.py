"""Import customer lists (CSV or Excel) and POS customer exports (rulebook §7, §8).

Reading a file
  * A file is a path or a binary file object (an upload). At most MAX_FILE_MB megabytes (Streamlit's own
    upload limit is 200 MB by default; the Import page sets the same limit on its uploader).
  * Encoding: a byte-order mark decides (UTF-8, UTF-16); else UTF-8 when the whole file is valid UTF-8;
    else Windows-1252 (bytes Windows-1252 leaves undefined read as Latin-1), so Excel's "CSV" from a
    Windows machine reads as written.
  * Delimiter: csv.Sniffer on a sample, checked against the header line (comma, semicolon, tab or |).
  * .xlsx workbooks are streamed with openpyxl (read-only) into a temporary UTF-8 CSV, then read as one.
  * The header is the first non-blank row. Row numbers are the ones a spreadsheet shows (header = row 1,
    blank lines count) so an owner can find a reported row.

Importing (two streaming passes; a few numbers per row are all that is held)
  Pass 1 reads every row and keeps its phone as an integer (E.164 digits), what it says about consent,
  its row number and (when the shop already has customers) hashes of its names and email. Each distinct
  raw phone is parsed once; a US/Canada number written in a common way ("(415) 555-0123", "415.555.0123",
  "4155550123.0", "1.4155550123E+10", "+1 415 555 0123 x12") is reduced to its E.164 form with a regular
  expression and is not parsed again when a customer already has that number.
  Then numpy groups the rows by phone: one row per phone is applied (the earliest row saying the strongest
  thing: opted out over opted in over nothing), the others count as duplicates; opt-out wins in the file.
  A snapshot of the customers (one scan: phone, status, hashes of names and email) tells which rows
  would change nothing; they are counted, not written (a re-import reads the file and the snapshot only).
  Pass 2 reads the file again and applies the other rows chunk by chunk (CHUNK_ROWS phones, one
  transaction each) with set-wise SQL: new customers with INSERT ... ON CONFLICT DO NOTHING, status
  changes as one UPDATE plus one INSERT of their consent events, opt-in requests as one INSERT of messages.

The rules are those of core.customers.set_status and core.outbox.send, applied to many rows at once:
  * opt-out wins: an opted-out customer is never changed by an import or a sync;
  * opted in needs evidence: the file name, row number and the owner's attestation; without the
    attestation (and always for POS data) a row that says opted in imports as not opted in;
  * every status change appends a consent event; every request goes through outbox.refusal and
    outbox.hold (request limits; the recipient's state window and cap, §9);
  * each event and message has a dedupe key built from the file's SHA-256 and the phone, so the same file
    applies its statement about a phone once: re-running an import (also one cut off half way) ends in
    the same state, with no second event or message.
core/import_reference.py does the same one row at a time through set_status and outbox.send; the tests
check that both end in the same state.
"""

from __future__ import annotations

import array
import atexit
import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, Callable, Iterator, NamedTuple, Optional, Union

import numpy as np
import phonenumbers
from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import DateTime
from sqlmodel import Session

from core.consent import customers, suppression
from core.importing import origin as _origin
from core import activity
from core.staff.roles import SHOP, Actor, allow
from core import names, phones
from core.messaging import outbox, providers, segments, texting
from core.clock import as_utc
from core.db import lock_every_phone, lock_phones, run_write
from core.models import (
    Channel,
    ConsentEvent,
    Customer,
    Direction,
    ImportRun,
    Message,
    MessageKind,
    MessageStatus,
    PosContact,
    SmsStatus,
    utcnow,
)
from core.text import clean_text
from core.errors import OwnerError

log = logging.getLogger(__name__)

__all__ = [
    "ImportProblem", "EmptyFile", "NotASpreadsheet", "FileTooLarge", "TooManyColumns", "NoPhoneColumn",
    "MappingProblem", "NoValidPhones", "RowError", "FileInfo", "ImportReport", "FIELDS",
    "sniff", "read", "guess_mapping", "dry_run", "import_csv", "history", "get_run",
    "MAX_FILE_MB", "MAX_COLUMNS", "CHUNK_ROWS",
]

MAX_FILE_MB = 200
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
MAX_COLUMNS = 1000
# An .xlsx is a zip: what it expands to is checked before openpyxl reads it, and capped while reading
MAX_XLSX_ROWS = 1_048_576  # Excel's own limit: a sheet declaring more was not saved by Excel
MAX_XLSX_CELLS = 20_000_000
MAX_XLSX_PART_BYTES = 1024 * 1024 * 1024  # one part (a sheet) uncompressed
MAX_XLSX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024  # every part together, uncompressed
MAX_XLSX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024  # openpyxl holds the shared strings in memory
CHUNK_ROWS = 20_000
SAMPLE_BYTES = 64 * 1024
PREVIEW_ROWS = 5
MAX_NAME = 100
MAX_EMAIL = 254
_IN_BATCH = 5000  # phones per IN (...) list

Source = Union[str, os.PathLike, BinaryIO]
Progress = Callable[[float, str], None]

#: The fields a column can be mapped to, with the label the Import page shows.
FIELDS: dict[str, str] = {
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "email": "Email",
    "opt_in": "SMS opt-in status",
    "opt_out": "SMS opt-out",
    **_origin.FIELDS,  # the old provider's consent date and source (§11)
}

# Column names each field is recognised by (§8), compared without case, spaces or punctuation,
# in order of preference (a "Mobile" column beats a "Phone" column).
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "phone": ("mobile", "mobilephone", "mobilenumber", "mobilephonenumber", "cell", "cellphone", "cellnumber",
              "cellphonenumber", "smsnumber", "smsphone", "textnumber", "phonenumber", "phone", "sms",
              "phone1", "primaryphone", "telephone", "tel", "contactnumber", "phoneno", "msisdn"),
    "first_name": ("firstname", "first", "givenname", "fname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "full_name": ("fullname", "name", "customername", "contactname", "customer"),
    "email": ("email", "emailaddress", "email1", "mail"),
    "opt_in": ("smsoptin", "smsoptedin", "optedin", "optin", "smsoptinstatus", "optinstatus", "smsconsent",
               "consent", "smssubscribed", "subscribed", "smssubscriptionstatus", "smssubscription",
               "subscriptionstatus", "acceptssmsmarketing", "smsmarketingconsent", "smsmarketing", "textoptin",
               "marketingoptin", "textconsent", "smsstatus", "status"),
    "opt_out": ("smsoptout", "smsoptedout", "optedout", "optout", "unsubscribed", "smsunsubscribed", "donottext",
                "dnc", "donotcontact", "textoptout"),
    **_origin.HEADER_NAMES,
}
_PHONE_WORDS = ("mobile", "cell", "phone")
_NOT_PHONE_WORDS = ("opt", "consent", "status", "type", "country", "ext", "verified", "subscri")

# What a row says about consent (one byte per row in pass 1).
V_NONE, V_NO, V_IN, V_OUT, V_OUT_OVER_IN = 0, 1, 2, 3, 4

_OPT_IN_VALUES: dict[str, int] = {}
for _w in ("true", "t", "yes", "y", "1", "on", "subscribed", "opted in", "optedin", "opt in", "optin",
           "confirmed", "consented", "x"):
    _OPT_IN_VALUES[_w] = V_IN
for _w in ("false", "f", "no", "n", "0", "off", "not subscribed", "never subscribed", "non subscribed",
           "not opted in", "notoptedin", "pending", "none"):
    _OPT_IN_VALUES[_w] = V_NO
for _w in ("unsubscribed", "opted out", "optedout", "opt out", "optout", "stop", "stopped", "revoked",
           "do not text", "dnc"):
    _OPT_IN_VALUES[_w] = V_OUT
_OPT_OUT_VALUES: dict[str, int] = {}
for _w in ("true", "t", "yes", "y", "1", "on", "x", "opted out", "optedout", "opt out", "optout", "unsubscribed",
           "stop", "stopped", "revoked", "do not text", "dnc"):
    _OPT_OUT_VALUES[_w] = V_OUT
for _w in ("false", "f", "no", "n", "0", "off", "subscribed", "opted in", "not opted out", "none"):
    _OPT_OUT_VALUES[_w] = V_NONE

_OPT_IN_HELP = "use yes/no, true/false, 1/0, subscribed/unsubscribed or opted in/opted out (blank = no status)"
_OPT_OUT_HELP = "use yes/no, true/false or 1/0 (blank = not opted out)"
BAD_OPT_IN, BAD_OPT_OUT = -1, -2


def _norm_value(value: str) -> str:
    v = " ".join(value.replace("_", " ").replace("-", " ").lower().split())
    if v.endswith(".0") and v[:-2].isdigit():
        v = v[:-2]
    return v


def row_verdict(opt_in: str, opt_out: str) -> int:
    """What a row says (V_*) from its opt-in and opt-out cells ("" when the column is not mapped); an
    explicit opt-out column saying yes makes it V_OUT. BAD_OPT_IN / BAD_OPT_OUT when a value is not one
    of §8's (true/false, yes/no, y/n, 1/0, subscribed/unsubscribed, opted in/opted out, blank)."""
    v = V_NONE
    if opt_in.strip():
        v = _OPT_IN_VALUES.get(_norm_value(opt_in), BAD_OPT_IN)
        if v == BAD_OPT_IN:
            return v
    if opt_out.strip():
        o = _OPT_OUT_VALUES.get(_norm_value(opt_out), BAD_OPT_OUT)
        if o == BAD_OPT_OUT:
            return o
        if o == V_OUT:
            v = V_OUT
    return v


# --- Errors ------------------------------------------------------------------------------------------

class ImportProblem(OwnerError):
    """The file cannot be imported as it is; the message says why and what to do. Nothing was written."""


class EmptyFile(ImportProblem):
    pass


class NotASpreadsheet(ImportProblem):
    pass


class FileTooLarge(ImportProblem):
    pass


class TooManyColumns(ImportProblem):
    pass


class NoPhoneColumn(ImportProblem):
    pass


class MappingProblem(ImportProblem):
    pass


class NoValidPhones(ImportProblem):
    pass


@dataclass(slots=True)
class RowError:
    """A row that was not imported (or, with imported=True, imported without one value)."""

    row: int
    column: str
    reason: str
    value: str = ""
    imported: bool = False


@dataclass
class FileInfo:
    name: str
    size: int
    file_hash: str
    kind: str  # "csv" | "xlsx"
    encoding: str  # what the owner is told: "UTF-8", "Windows-1252", ...
    delimiter: str
    headers: list[str]
    preview: list[list[str]]
    header_row: int
    header_looks_like_data: bool = False

    @property
    def delimiter_name(self) -> str:
        return {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}.get(self.delimiter, self.delimiter)


@dataclass
class ImportReport:
    file_name: str = ""
    file_hash: str = ""
    origin: str = "csv_import"
    dry_run: bool = False
    attested: bool = False
    rows: int = 0  # data rows read (blank lines not counted)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # imported, one value dropped
    opted_in: int = 0  # phones the file says opted in that are opted in after the import
    opted_out: int = 0  # phones the file says opted out
    no_status: int = 0  # phones with a blank (or "no") status: their status is left as it is
    not_attested: int = 0  # phones the file says opted in, imported as not opted in (no attestation / POS)
    kept_opted_out: int = 0  # phones the file says opted in, kept opted out by an opt-out (database or file)
    duplicates_in_file: int = 0  # rows whose phone an earlier-applied row of the file already has
    requests_sent: int = 0
    requests_queued: int = 0
    requests_blocked: int = 0
    requests_already: int = 0  # already asked for this file (or this POS date setting): nothing new
    request_reasons: dict[str, int] = field(default_factory=dict)
    mapping: dict[str, Optional[str]] = field(default_factory=dict)
    encoding: str = ""
    delimiter: str = ""
    import_run_id: Optional[int] = None
    seconds: float = 0.0

    @property
    def phones(self) -> int:
        return self.created + self.updated + self.unchanged

    def counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "invalid": len(self.invalid), "warnings": len(self.warnings), "opted_in": self.opted_in,
            "opted_out": self.opted_out, "no_status": self.no_status, "not_attested": self.not_attested,
            "kept_opted_out": self.kept_opted_out, "duplicates_in_file": self.duplicates_in_file,
            "requests_sent": self.requests_sent, "requests_queued": self.requests_queued,
            "requests_blocked": self.requests_blocked, "requests_already": self.requests_already,
            "request_reasons": dict(self.request_reasons),
        }

    def errors_csv(self) -> bytes:
        return errors_csv(sorted(self.invalid + self.warnings, key=lambda e: e.row))


def errors_csv(errors: list[RowError]) -> bytes:
    """Rows not imported (and values dropped) as CSV an owner opens in a spreadsheet."""
    from core.consent.customers import _safe_cell

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["row", "column", "value", "reason", "what happened"])
    for e in errors:
        w.writerow([e.row, _safe_cell(e.column), _safe_cell(e.value), _safe_cell(e.reason),
                    "imported without this value" if e.imported else "row not imported"])
    return buf.getvalue().encode("utf-8-sig")


# --- Opening a file ----------------------------------------------------------------------------------------

_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]


def _cp1252_fallback(exc: UnicodeDecodeError):
    bad = exc.object[exc.start:exc.end]
    return "".join(_CP1252[b] for b in bad), exc.end


codecs.register_error("optin_cp1252", _cp1252_fallback)

_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3", "a database file"),
)


@dataclass
class _Opened:
    name: str
    size: int
    file_hash: str
    kind: str
    encoding: str  # codec for reading
    errors: str
    label: str  # encoding as told to the owner
    path: Optional[str] = None  # a file on disk (the original, or the CSV an .xlsx was turned into)
    fileobj: Optional[BinaryIO] = None
    delimiter: str = ","

    @contextmanager
    def binary(self) -> Iterator[BinaryIO]:
        if self.path is not None:
            with open(self.path, "rb") as f:
                yield f
        else:
            f = self.fileobj
            f.seek(0)
            yield f

    @contextmanager
    def text(self) -> Iterator[io.TextIOBase]:
        with self.binary() as b:
            wrapper = io.TextIOWrapper(b, encoding=self.encoding, errors=self.errors, newline="")
            try:
                yield wrapper
            finally:
                wrapper.detach()  # never close the caller's file object


_XLSX_CACHE: "OrderedDict[str, str]" = OrderedDict()  # file hash -> temporary CSV of the first sheet


@atexit.register
def _remove_xlsx_copies() -> None:
    for path in list(_XLSX_CACHE.values()):
        try:
            os.unlink(path)
        except OSError:
            pass


def _size_of(source: Source) -> int:
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    size = getattr(source, "size", None)
    if isinstance(size, int):
        return size
    pos = source.tell()
    source.seek(0, io.SEEK_END)
    end = source.tell()
    source.seek(pos)
    return end


def _name_of(source: Source, file_name: Optional[str]) -> str:
    if file_name:
        return str(file_name)
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "upload.csv")).name


def _too_large_message(size: int) -> str:
    return (f"This file is {size / 1024 / 1024:,.0f} MB; the import takes files up to {MAX_FILE_MB} MB "
            f"(about 2 million customers). Split it into smaller files and import them one after another.")


def _open(source: Source, file_name: Optional[str] = None) -> _Opened:
    """Check the size, hash the bytes, find the kind and the encoding (no row is read yet)."""
    if source is None:
        raise EmptyFile("No file was given.")
    name = _name_of(source, file_name)
    try:
        size = _size_of(source)
    except OSError as exc:
        raise NotASpreadsheet(f"The file {name} cannot be read ({exc.strerror or exc}).") from None
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(_too_large_message(size))
    if size == 0:
        raise EmptyFile(f"{name} is empty: there is nothing to import.")

    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    fileobj = None if path is not None else source
    if fileobj is not None and not (hasattr(fileobj, "seekable") and fileobj.seekable()):
        spooled = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
        shutil.copyfileobj(fileobj, spooled)
        fileobj = spooled

    opened = _Opened(name=name, size=size, file_hash="", kind="csv", encoding="utf-8-sig", errors="strict",
                     label="UTF-8", path=path, fileobj=fileobj)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    with opened.binary() as f:
        head = f.read(SAMPLE_BYTES)
        utf16 = _utf16_without_bom(head)
        decoder16 = codecs.getincrementaldecoder(utf16)() if utf16 else None
        block = head
        while block:
            digest.update(block)
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if decoder16 is not None:
                try:
                    decoder16.decode(block)
                except UnicodeDecodeError:
                    decoder16 = None
            block = f.read(1024 * 1024)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
        if decoder16 is not None:
            try:
                decoder16.decode(b"", final=True)
            except UnicodeDecodeError:
                decoder16 = None
    opened.file_hash = digest.hexdigest()

    lower = name.lower()
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(opened)
    if lower.endswith((".xlsx", ".xlsm")):
        raise NotASpreadsheet(f"{name} is not a real Excel workbook: open it in Excel and save it again "
                              "as Excel Workbook (.xlsx) or CSV UTF-8.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotASpreadsheet(f"{name} is an old Excel .xls file (or another Office file). In Excel choose "
                              "File > Save As > CSV UTF-8 (or Excel Workbook .xlsx) and import that file.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        opened.encoding, opened.label = "utf-16", "UTF-16"
        return opened
    if utf16:
        if decoder16 is None or not _readable(head, utf16):
            raise NotASpreadsheet(f"{name} looks like UTF-16 without a byte-order mark, and it does not read as "
                                  "UTF-16 text throughout: save it as UTF-8 CSV (in Excel: File > Save As > "
                                  "CSV UTF-8) and import that file.")
        opened.encoding, opened.label = utf16, "UTF-16 (no byte-order mark)"
        return opened
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise NotASpreadsheet(f"{name} is {what}, not a spreadsheet. Export your customer list as CSV "
                                  "or Excel (.xlsx) and import that file.")
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if b"\x00" in head or controls > max(8, len(head) // 50):
        raise NotASpreadsheet(f"{name} holds binary data, not text: it is not a CSV file. Export your customer "
                              "list as CSV or Excel (.xlsx) and import that file.")
    if not utf8:
        opened.errors, opened.label = "optin_cp1252", "Windows-1252"
    elif head.startswith(codecs.BOM_UTF8):
        opened.label = "UTF-8 (with BOM)"
    return opened


def _utf16_without_bom(head: bytes) -> Optional[str]:
    """'utf-16-le' or 'utf-16-be' when `head` has UTF-16's pattern of zero bytes (every other byte zero,
    as Latin text has) without starting with a byte-order mark; else None."""
    head = head[: len(head) - len(head) % 2]
    if len(head) < 8 or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    even, odd = head[0::2], head[1::2]
    for codec, zeros, letters in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= 0.7 * len(zeros) and letters.count(0) <= 0.1 * len(letters):
            return codec
    return None


def _readable(head: bytes, codec: str) -> bool:
    """`head` decodes as `codec` to text (letters, not control characters)."""
    try:
        text = codecs.getincrementaldecoder(codec)().decode(head)
    except UnicodeDecodeError:
        return False
    shown = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    return bool(text) and shown >= 0.95 * len(text)


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
    return FileTooLarge(f"{name} expands to {what} when opened, more than a customer list can be (at most "
                        f"{MAX_XLSX_ROWS:,} rows and {MAX_COLUMNS:,} columns). Is this the right file? Open it in "
                        "Excel, keep only the customer sheet, and save it as CSV UTF-8.")


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
        limit = MAX_XLSX_SHARED_STRINGS_BYTES if lower.endswith("sharedstrings.xml") else MAX_XLSX_PART_BYTES
        if part.file_size > limit:
            raise _xlsx_too_big(name, f"{part.file_size / 1024 / 1024:,.0f} MB in its part {part.filename}")
    if total > MAX_XLSX_TOTAL_BYTES:
        raise _xlsx_too_big(name, f"{total / 1024 / 1024:,.0f} MB")


def _open_xlsx(opened: _Opened) -> _Opened:
    """Stream the first sheet into a temporary UTF-8 CSV (cached by the file's hash)."""
    cached = _XLSX_CACHE.get(opened.file_hash)
    if cached and os.path.exists(cached):
        _XLSX_CACHE.move_to_end(opened.file_hash)
    else:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        fd, tmp = tempfile.mkstemp(prefix="optin-import-", suffix=".csv")
        try:
            with opened.binary() as b, os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                _check_xlsx_parts(b, opened.name)
                try:
                    wb = openpyxl.load_workbook(b, read_only=True, data_only=True)
                except (InvalidFileException, KeyError, OSError, ValueError, Exception) as exc:  # noqa: B014
                    raise NotASpreadsheet(
                        f"{opened.name} cannot be opened as an Excel workbook ({type(exc).__name__}). "
                        "Open it in Excel and save it again as Excel Workbook (.xlsx) or CSV UTF-8.") from None
                try:
                    ws = wb.worksheets[0] if wb.worksheets else None
                    if ws is None:
                        raise EmptyFile(f"{opened.name} has no sheets.")
                    max_col = ws.max_column or 0
                    if max_col > MAX_COLUMNS:
                        raise TooManyColumns(_too_many_columns_message(None, max_col))
                    if (ws.max_row or 0) > MAX_XLSX_ROWS:
                        raise _xlsx_too_big(opened.name, f"{ws.max_row:,} rows")
                    w = csv.writer(out)
                    cells_read = 0
                    for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                        cells_read += len(row)
                        if n > MAX_XLSX_ROWS or cells_read > MAX_XLSX_CELLS:
                            raise _xlsx_too_big(opened.name, f"more than {n - 1:,} rows"
                                                if n > MAX_XLSX_ROWS else f"more than {MAX_XLSX_CELLS:,} cells")
                        if n % 10_000 == 0 and out.tell() > MAX_FILE_BYTES:
                            raise _xlsx_too_big(opened.name, f"more than {MAX_FILE_MB} MB of text")
                        cells = [_cell_text(v) for v in row]
                        while cells and cells[-1] == "":
                            cells.pop()
                        w.writerow(cells)  # a row too wide is refused (header) or reported (data) as in a CSV
                finally:
                    wb.close()
        except BaseException:
            os.unlink(tmp)
            raise
        _XLSX_CACHE[opened.file_hash] = tmp
        while len(_XLSX_CACHE) > 2:
            _, old = _XLSX_CACHE.popitem(last=False)
            try:
                os.unlink(old)
            except OSError:
                pass
        cached = tmp
    opened.kind, opened.path, opened.fileobj = "xlsx", cached, None
    opened.encoding, opened.errors, opened.label, opened.delimiter = "utf-8", "strict", "Excel workbook", ","
    return opened


def _too_many_columns_message(row: Optional[int], n: int) -> str:
    where = f"Row {row:,}" if row else "The sheet"
    return (f"{where} has {n:,} columns; a customer list has at most {MAX_COLUMNS:,}. "
            "Is this the right file? Check that it is a customer export and that the delimiter is right.")


def _sniff_delimiter(sample: str) -> str:
    lines = [ln for ln in sample.splitlines() if ln.strip()]
    if not lines:
        return ","
    header = lines[0]

    def unquoted_count(line: str, ch: str) -> int:
        n, quoted = 0, False
        for c in line:
            if c == '"':
                quoted = not quoted
            elif c == ch and not quoted:
                n += 1
        return n

    try:
        found = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=",;\t|").delimiter
    except csv.Error:
        found = None
    if found and unquoted_count(header, found) > 0:
        return found
    counts = {d: unquoted_count(header, d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _prepare(source: Source, file_name: Optional[str]) -> _Opened:
    opened = _open(source, file_name)
    if opened.kind == "csv":
        with opened.text() as t:
            try:
                sample = t.read(SAMPLE_BYTES)
            except UnicodeDecodeError:
                raise NotASpreadsheet(f"{opened.name} is not readable text.") from None
        if len(sample) >= SAMPLE_BYTES and "\n" in sample:
            sample = sample[: sample.rfind("\n")]
        opened.delimiter = _sniff_delimiter(sample)
    return opened


def _reader(opened: _Opened, t: io.TextIOBase):
    return csv.reader(t, delimiter=opened.delimiter, quotechar='"', doublequote=True, skipinitialspace=False)


def _records(opened: _Opened, t: io.TextIOBase,
             bad: Optional[dict[int, str]] = None) -> Iterator[tuple[int, Optional[list[str]]]]:
    """(row number, cells) of every non-blank row, header included; cells None for an unreadable row.
    A header wider than MAX_COLUMNS refuses the file; a wider data row is None, its reason put in `bad`."""
    reader = _reader(opened, t)
    n = 0
    header = True
    while True:
        n += 1
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield n, None
            continue
        if not rec:
            continue
        if len(rec) > MAX_COLUMNS:
            if header:
                raise TooManyColumns(_too_many_columns_message(n, len(rec)))
            if bad is not None:
                bad[n] = _wide_row_reason(len(rec))
            yield n, None
            continue
        for cell in rec:
            if cell and not cell.isspace():
                header = False
                yield n, rec
                break


def _wide_row_reason(n: int) -> str:
    return (f"this row has {n:,} columns; a customer list has at most {MAX_COLUMNS:,} "
            "(is a quote or a delimiter wrong in it?)")


def _unique_headers(raw: list[str]) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(raw):
        h = (h or "").replace("\ufeff", "").strip()
        if not h:
            h = f"Column {_column_letter(i)}"
        base, k = h, seen.get(h.lower(), 0)
        if k:
            h = f"{base} ({k + 1})"
        seen[base.lower()] = k + 1
        out.append(h)
    return out


def _column_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _header(opened: _Opened) -> tuple[int, list[str], list[list[str]]]:
    with opened.text() as t:
        it = _records(opened, t)
        for n, rec in it:
            if rec is None:
                raise NotASpreadsheet(f"The first row of {opened.name} cannot be read as CSV (a cell is "
                                      "longer than 131,072 characters). Is this the right file?")
            headers = _unique_headers(rec)
            preview = []
            for _, r in it:
                if r is not None:
                    preview.append(r[: len(headers)] + [""] * (len(headers) - len(r)))
                if len(preview) >= PREVIEW_ROWS:
                    break
            return n, headers, preview
    raise EmptyFile(f"{opened.name} has no rows: there is nothing to import.")


def sniff(source: Source, *, file_name: Optional[str] = None) -> FileInfo:
    """What the Import page shows before anything is imported: kind, encoding, delimiter, columns, first rows.

    Raises EmptyFile, NotASpreadsheet, FileTooLarge or TooManyColumns (for the header row).
    """
    opened = _prepare(source, file_name)
    header_row, headers, preview = _header(opened)
    looks_like_data = False
    if guess_mapping(headers)["phone"] is None:
        for h in headers:
            try:
                phones.normalize(h, "US")
                looks_like_data = True
                break
            except phones.InvalidPhone:
                continue
    return FileInfo(name=opened.name, size=opened.size, file_hash=opened.file_hash, kind=opened.kind,
                    encoding=opened.label, delimiter=opened.delimiter, headers=headers, preview=preview,
                    header_row=header_row, header_looks_like_data=looks_like_data)


def read(source: Source, *, file_name: Optional[str] = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {header: value}) for every data row; blank rows are skipped. For tests and tools."""
    opened = _prepare(source, file_name)
    with opened.text() as t:
        headers: Optional[list[str]] = None
        for n, rec in _records(opened, t):
            if rec is None:
                continue
            if headers is None:
                headers = _unique_headers(rec)
                continue
            yield n, {h: (rec[i] if i < len(rec) else "") for i, h in enumerate(headers)}


# --- Mapping ------------------------------------------------------------------------------------------------

def _compact(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (header or "").lower())


def guess_mapping(headers: list[str]) -> dict[str, Optional[str]]:
    """{field: header or None} for every field of FIELDS, from the §8 column names (any case or spacing)."""
    compact = [_compact(h) for h in headers]
    used: set[int] = set()
    mapping: dict[str, Optional[str]] = {f: None for f in FIELDS}
    for fld in ("phone", "opt_out", "opt_in", "first_name", "last_name", "email", "full_name", "consented_at",
                "consent_source"):
        for name in _HEADER_NAMES[fld]:
            hit = next((i for i, c in enumerate(compact) if c == name and i not in used), None)
            if hit is not None:
                mapping[fld] = headers[hit]
                used.add(hit)
                break
    if mapping["phone"] is None:
        for i, c in enumerate(compact):
            if i not in used and any(w in c for w in _PHONE_WORDS) and not any(w in c for w in _NOT_PHONE_WORDS):
                mapping["phone"] = headers[i]
                used.add(i)
                break
    return mapping


@dataclass
class _Columns:
    phone: int
    first_name: Optional[int]
    last_name: Optional[int]
    full_name: Optional[int]
    email: Optional[int]
    opt_in: Optional[int]
    opt_out: Optional[int]
    headers: list[str]
    mapping: dict[str, Optional[str]]
    consented_at: Optional[int] = None
    consent_source: Optional[int] = None


def _resolve_mapping(headers: list[str], mapping: Optional[dict[str, Optional[str]]], name: str) -> _Columns:
    guessed = guess_mapping(headers)
    if mapping is None:
        mapping = guessed
    else:
        unknown = [k for k in mapping if k not in FIELDS]
        if unknown:
            raise MappingProblem(f"Unknown field {unknown[0]!r} in the column mapping.")
        mapping = {f: (mapping.get(f) or None) for f in FIELDS}
    index = {h: i for i, h in enumerate(headers)}
    cols: dict[str, Optional[int]] = {}
    seen: dict[int, str] = {}
    for fld, header in mapping.items():
        if header is None:
            cols[fld] = None
            continue
        if header not in index:
            raise MappingProblem(f"The column {header!r} chosen for {FIELDS[fld]} is not in {name}.")
        i = index[header]
        if i in seen:
            raise MappingProblem(f"The column {header!r} is chosen for both {FIELDS[seen[i]]} and {FIELDS[fld]}: "
                                 "pick one.")
        seen[i] = fld
        cols[fld] = i
    if cols["phone"] is None:
        shown = ", ".join(headers[:12]) + (", ..." if len(headers) > 12 else "")
        raise NoPhoneColumn(f"No phone column in {name}. We look for a column named Phone, Mobile, Cell, "
                            f"Phone number or SMS; this file has: {shown}. Choose the phone column in the mapping.")
    return _Columns(headers=headers, mapping=mapping, **cols)


# --- Phones -------------------------------------------------------------------------------------------------

# US/Canada numbers written the usual ways. Digits only ([0-9], never other scripts); extensions as
# phonenumbers reads them; the E.164 form is "+1" + the ten digits. Everything else goes to phones.normalize.
_NANP_RE = re.compile(
    r"(?:(\+1|1)[ .\-]?)?(?:\(([2-9][0-9]{2})\)|([2-9][0-9]{2}))[ .\-]?([0-9]{3})[ .\-]?([0-9]{4})"
    r"(?:\s*(?:[xX#]|[eE][xX][tT]\.?|[eE]xtension)\s*[0-9]{1,6})?"
)
_EXCEL_FLOAT_RE = re.compile(r"(\+?[0-9]{10,11})\.0+")
_EXCEL_SCI_RE = re.compile(r"([0-9])\.([0-9]{9,10})[eE]\+?([0-9]{1,2})")


def _nanp_candidate(raw: str, nanp_region: bool) -> int:
    """The E.164 digits of a common US/Canada spelling of a number (0 when it is not one).

    Only a reduction, never a validity check: the caller validates the candidate once (or finds it
    among customers, which were validated when they were saved)."""
    s = raw.strip()
    if s[:1] == "'":
        s = s.lstrip("'").strip()
    m = _EXCEL_FLOAT_RE.fullmatch(s)
    if m:
        s = m.group(1)
    elif "E" in s or "e" in s:
        m = _EXCEL_SCI_RE.fullmatch(s)
        if m is None or len(m.group(2)) != int(m.group(3)):
            return 0  # shortened by Excel, or not a number: phones.normalize says which
        s = m.group(1) + m.group(2)
    m = _NANP_RE.fullmatch(s)
    if m is None:
        return 0
    if m.group(1) is None and not nanp_region:
        return 0
    if m.group(1) == "1" and not nanp_region:
        return 0
    return int("1" + (m.group(2) or m.group(3)) + m.group(4) + m.group(5))


_PhoneNumber = phonenumbers.PhoneNumber
_is_valid_number = phonenumbers.is_valid_number
_is_valid_for_region = phonenumbers.is_valid_number_for_region


def _nanp_valid(candidate: int) -> bool:
    """phonenumbers' verdict on +1 and ten digits (what phones.normalize checks), without parsing text:
    the number phonenumbers.parse builds from "+1XXXXXXXXXX" is exactly this one. The US check comes
    first because is_valid_number tries the US first for +1 (it has no leading-digits rule), so a number
    valid in the US is valid; others get the full check. When False, phones.normalize gives the reason."""
    number = _PhoneNumber(country_code=1, national_number=candidate - 10_000_000_000)
    return _is_valid_for_region(number, "US") or _is_valid_number(number)


# Status codes (numpy arrays), buckets of the report, and the one rule both the set-wise planning and the
# per-chunk application use.
_STATUS_CODES = {SmsStatus.not_opted_in.value: 0, SmsStatus.pending.value: 1, SmsStatus.opted_in.value: 2,
                 SmsStatus.opted_out.value: 3}
_STATUS_OF_CODE = {v: k for k, v in _STATUS_CODES.items()}
S_NOT, S_PENDING, S_IN, S_OUT = 0, 1, 2, 3
B_NO_STATUS, B_OPTED_IN, B_OPTED_OUT, B_NOT_ATTESTED, B_KEPT = 0, 1, 2, 3, 4
_BUCKET_FIELDS = ("no_status", "opted_in", "opted_out", "not_attested", "kept_opted_out")
T_NONE = -1


def decide(verdict: int, status: int, may_opt_in: bool) -> tuple[int, int]:
    """(report bucket, new status code or T_NONE) for a phone whose row says `verdict` and whose customer
    has `status` (S_NOT for a new customer). The rules of customers.set_status applied to §8:
      says opted out               -> opted_out (unless it already is)
      says opted in, opted_out     -> stays opted_out: opt-out wins (bucket kept_opted_out)
      says opted in, not attested  -> no change (POS data never opts in; bucket not_attested)
      says opted in, attested      -> opted_in from not_opted_in or pending
      blank or "no"                -> no change
    A phone whose rows say both opted in and opted out (V_OUT_OVER_IN) becomes opted_out, counted as kept."""
    if verdict in (V_OUT, V_OUT_OVER_IN):
        return (B_OPTED_OUT if verdict == V_OUT else B_KEPT), (S_OUT if status != S_OUT else T_NONE)
    if verdict == V_IN:
        if status == S_OUT:
            return B_KEPT, T_NONE
        if not may_opt_in:
            return B_NOT_ATTESTED, T_NONE
        return B_OPTED_IN, (S_IN if status in (S_NOT, S_PENDING) else T_NONE)
    return B_NO_STATUS, T_NONE


def _decide_tables(may_opt_in: bool) -> tuple[np.ndarray, np.ndarray]:
    buckets = np.zeros((5, 4), dtype=np.int8)
    targets = np.zeros((5, 4), dtype=np.int8)
    for v in range(5):
        for st in range(4):
            buckets[v, st], targets[v, st] = decide(v, st, may_opt_in)
    return buckets, targets


class _Known:
    """The shop's customers in one scan: phone digits (sorted), id, status code and hashes of first name,
    last name and email (0 = blank). Used to skip parsing numbers customers already have, and to leave
    out of pass 2 the rows that would change nothing. Only when there are at most LOAD_ALL customers."""

    LOAD_ALL = 3_000_000

    def __init__(self, phone, cid, status, h_first, h_last, h_email):
        self.phone, self.id, self.status = phone, cid, status
        self.h_first, self.h_last, self.h_email = h_first, h_last, h_email

    @classmethod
    def load(cls, session: Session) -> tuple[Optional["_Known"], int]:
        """(snapshot or None when there are too many customers, number of customers)."""
        conn = session.connection()
        count = conn.exec_driver_sql("SELECT count(*) FROM customer").scalar() or 0
        if count > cls.LOAD_ALL:
            return None, count
        cols = [array.array("q") for _ in range(6)]
        ph, ids, st, hf, hl, he = cols
        codes = _STATUS_CODES
        if count:
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.execute("SELECT phone, id, sms_status, first_name, last_name, email FROM customer")
                while True:
                    part = cursor.fetchmany(50_000)
                    if not part:
                        break
                    for phone, i, s, f, la, e in part:
                        ph.append(int(phone[1:]))
                        ids.append(i)
                        st.append(codes[s])
                        hf.append(_h(f))
                        hl.append(_h(la))
                        he.append(_h(e))
            finally:
                cursor.close()
        arrays = [np.frombuffer(a, dtype=np.int64) if len(a) else np.zeros(0, dtype=np.int64) for a in cols]
        order = np.argsort(arrays[0], kind="stable")
        return cls(*(a[order] for a in arrays)), count

    def find(self, phone_digits: np.ndarray) -> np.ndarray:
        """Index of each phone in the snapshot, -1 when absent."""
        if len(self.phone) == 0:
            return np.full(len(phone_digits), -1, dtype=np.int64)
        pos = np.searchsorted(self.phone, phone_digits)
        pos[pos >= len(self.phone)] = 0
        return np.where(self.phone[pos] == phone_digits, pos, -1)


def _h(value: Optional[str]) -> int:
    """A name's or email's hash for 'did it change?' (0 = blank). Process-local, like the snapshot."""
    return (hash(value) or 1) if value else 0


class _PhoneResolver:
    """raw cell -> E.164 digits (int > 0) or -(index of the reason); each distinct raw string parsed once.
    A number a customer already has is not parsed again (it was validated when it was saved)."""

    def __init__(self, session: Session, region: str, known: Optional[_Known], count: int):
        self.session = session
        self.region = region
        self.nanp = phonenumbers.country_code_for_region(region) == 1
        self.cache: dict[str, int] = {"": -1}
        self.reasons: list[str] = ["", phones._EMPTY]
        self._reason_index: dict[str, int] = {phones._EMPTY: 1}
        self.valid: set[int] = set()  # candidates validated during this import
        self.known = known if known is not None and len(known.phone) else None
        self.lookup_db = known is None and count > 0  # too many customers to hold: ask per chunk
        self.parsed = 0

    def _reason(self, reason: str) -> int:
        i = self._reason_index.get(reason)
        if i is None:
            i = len(self.reasons)
            self.reasons.append(reason)
            self._reason_index[reason] = i
        return -i

    def resolve(self, raws: set[str]) -> None:
        """Resolve the distinct raw strings not yet in the cache."""
        nanp, valid = self.nanp, self.valid
        cands = {raw: (_nanp_candidate(raw, nanp) if len(raw) <= phones.MAX_INPUT_LENGTH else 0) for raw in raws}
        fresh = [c for c in cands.values() if c and c not in valid]
        if fresh and self.known is not None:
            arr = np.array(fresh, dtype=np.int64)
            valid.update(arr[self.known.find(arr) >= 0].tolist())
        elif fresh and self.lookup_db:
            rows = _in_rows(self.session.connection(), "SELECT phone FROM customer WHERE phone",
                            list({"+" + str(c) for c in fresh}))
            valid.update(int(p[1:]) for (p,) in rows)
        normalize_mobile, not_mobile = phones.normalize_mobile, phones.not_mobile
        for raw, c in cands.items():
            if c and c in valid:
                self.cache[raw] = c
                continue
            self.parsed += 1
            if c and _nanp_valid(c) and not not_mobile(f"+{c}"):
                valid.add(c)
                self.cache[raw] = c
                continue
            try:
                e164 = normalize_mobile("+" + str(c) if c else raw, self.region)  # premium-rate, toll-free: refused
            except phones.InvalidPhone as exc:
                self.cache[raw] = self._reason(exc.reason)
            else:
                self.cache[raw] = int(e164[1:])


# --- Pass 1 -------------------------------------------------------------------------------------------------

@dataclass
class _Scan:
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
    parsed: int = 0
    # _group: the row applied for each phone (data-row indexes, ascending) and what it says
    apply_rows: Optional[np.ndarray] = None
    apply_verdict: Optional[np.ndarray] = None
    duplicates: int = 0


_SCAN_CACHE: "OrderedDict[tuple, _Scan]" = OrderedDict()


def _scan(session: Session, opened: _Opened, columns: _Columns, region: str, known: Optional[_Known], count: int,
          progress: Optional[Progress]) -> _Scan:
    """Pass 1. Cached (the last two) by file, region and the phone/status columns: a dry run's work is
    not done again by the import that follows it."""
    key = (opened.file_hash, opened.size, region, columns.phone, columns.opt_in, columns.opt_out,
           columns.first_name, columns.last_name, columns.full_name, columns.email, columns.consented_at,
           utcnow().date())
    hit = _SCAN_CACHE.get(key)
    if hit is not None:
        _SCAN_CACHE.move_to_end(key)
        return hit
    resolver = _PhoneResolver(session, region, known, count)
    cache = resolver.cache
    pi, ii, oi = columns.phone, columns.opt_in, columns.opt_out
    # names and emails are read here only to tell which rows would change nothing (a shop with customers);
    # into an empty shop every row is new and pass 2 reads them
    hashed = known is not None and len(known.phone) > 0
    with_details = hashed and any(c is not None for c in (columns.first_name, columns.last_name,
                                                          columns.full_name, columns.email))
    phone_header = columns.headers[pi]
    in_header = columns.headers[ii] if ii is not None else ""
    out_header = columns.headers[oi] if oi is not None else ""
    verdict_cache: dict[tuple[str, str], int] = {}
    phone_arr = array.array("q")
    verdict_arr = array.array("b")
    row_arr = array.array("q")
    detail_arr = array.array("q")
    invalid: list[RowError] = []
    warnings: list[RowError] = []
    header_row = 0
    headers: list[str] = []
    rows = 0

    chunk_raw: list[str] = []
    chunk_v: list[int] = []
    chunk_n: list[int] = []

    def flush():
        missing = {r for r in chunk_raw if r not in cache}
        if missing:
            resolver.resolve(missing)
        reasons = resolver.reasons
        for raw, v, n in zip(chunk_raw, chunk_v, chunk_n):
            code = cache[raw]
            if code > 0 and v >= 0:
                phone_arr.append(code)
                verdict_arr.append(v)
            else:
                phone_arr.append(0)
                verdict_arr.append(0)
                if code < 0 and v >= 0:
                    reason = reasons[-code]
                    if reason == phones._EMPTY:
                        invalid.append(RowError(n, phone_header, "no phone number", ""))
                    else:
                        invalid.append(RowError(n, phone_header, reason, raw[:80]))
            row_arr.append(n)
        chunk_raw.clear()
        chunk_v.clear()
        chunk_n.clear()

    too_wide: dict[int, str] = {}
    with opened.text() as t:
        records = _records(opened, t, too_wide)
        for n, rec in records:
            if rec is None:
                raise NotASpreadsheet(f"The header row of {opened.name} cannot be read.")
            header_row, headers = n, _unique_headers(rec)
            break
        else:
            raise EmptyFile(f"{opened.name} has no rows: there is nothing to import.")
        last_report = time.monotonic()
        for n, rec in records:
            rows += 1
            if rec is None:
                invalid.append(RowError(n, "", too_wide.pop(n, None) or "this row cannot be read (a cell is "
                                        "longer than 131,072 characters or a quote is not closed)"))
                chunk_raw.append("")
                chunk_v.append(-1)
                chunk_n.append(n)
                detail_arr.extend((0, 0, 0))
                continue
            width = len(rec)
            raw = rec[pi] if pi < width else ""
            cin = rec[ii] if ii is not None and ii < width else ""
            cout = rec[oi] if oi is not None and oi < width else ""
            v = V_NONE
            if cin or cout:
                v = verdict_cache.get((cin, cout), -9)
                if v == -9:
                    v = verdict_cache[(cin, cout)] = row_verdict(cin, cout)
                if v < 0:
                    cell, header, what = (cin, in_header, "opt-in") if v == BAD_OPT_IN else (cout, out_header, "opt-out")
                    invalid.append(RowError(n, header, f"{cell[:40]!r} is not an {what} value: "
                                            f"{_OPT_IN_HELP if v == BAD_OPT_IN else _OPT_OUT_HELP}", cell[:80]))
            if columns.consented_at is not None and v >= 0:
                v = _consent_date_check(rec, columns, n, v, invalid, warnings)
            if with_details:
                first, last, email = _details(rec, columns, n, warnings)
                detail_arr.extend((_h(first), _h(last), _h(email)))
            else:
                detail_arr.extend((0, 0, 0))
            chunk_raw.append(raw)
            chunk_v.append(v)
            chunk_n.append(n)
            if len(chunk_raw) >= CHUNK_ROWS:
                flush()
                if progress is not None and time.monotonic() - last_report > 0.25:
                    last_report = time.monotonic()
                    done = min(0.99, t.buffer.tell() / max(1, opened.size)) if hasattr(t, "buffer") else 0.5
                    progress(0.6 * done, f"Reading the file: {rows:,} rows so far")
        flush()
    if not headers:
        raise EmptyFile(f"{opened.name} has no rows: there is nothing to import.")
    if rows == 0:
        raise EmptyFile(f"{opened.name} has column names but no customer rows: there is nothing to import.")

    def as_np(a: array.array, dtype) -> np.ndarray:
        return np.frombuffer(a, dtype=dtype).copy() if len(a) else np.zeros(0, dtype=dtype)

    scan = _Scan(headers=headers, header_row=header_row, phone=as_np(phone_arr, np.int64),
                 verdict=as_np(verdict_arr, np.int8), rownum=as_np(row_arr, np.int64),
                 details=as_np(detail_arr, np.int64).reshape(-1, 3), hashed=hashed, invalid=invalid, warnings=[],
                 rows=rows, parsed=resolver.parsed)
    _group(scan)
    if warnings:  # only for the rows that are applied (a duplicate row's email is not imported anyway)
        applied = set(scan.rownum[scan.apply_rows].tolist())
        scan.warnings = [w for w in warnings if w.row in applied]
    _SCAN_CACHE[key] = scan
    while len(_SCAN_CACHE) > 2:
        _SCAN_CACHE.popitem(last=False)
    return scan


def _consent_date_check(rec: list[str], columns: _Columns, n: int, v: int, invalid: list[RowError],
                        warnings: list[RowError]) -> int:
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


def _group(scan: _Scan) -> None:
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


# --- Pass 2 -------------------------------------------------------------------------------------------------

def _clean(value: str, limit: int) -> tuple[str, bool]:
    """(text, too_long), cleaned by text.clean_text (as customers.validate_details)."""
    value = clean_text(value)
    if len(value) > limit:
        return value[:limit].strip(), True
    return value, False


def _email_ok(email: str) -> bool:
    # the rule of customers.validate_details
    local, _, domain = email.partition("@")
    return bool(local) and "." in domain and " " not in email and not domain.startswith(".") and len(email) <= MAX_EMAIL


class _Row(NamedTuple):
    """One phone to apply: the row chosen for it, its names and email (blank = not in the file)."""

    phone: int
    verdict: int
    row: int
    first_name: str
    last_name: str
    email: str
    consented_at: Optional[dt.datetime] = None  # the old provider's consent date and source (§11)
    consent_source: str = ""


@dataclass
class PosTarget:
    """The POS source a sync or a re-evaluation works for (see core/pos.py)."""

    source_id: int
    name: str
    cutoff: Optional[dt.datetime]  # contacts synced at or after this UTC instant get a request; None = off
    round: int


@dataclass
class _Context:
    session: Session
    opened: _Opened
    columns: _Columns
    attested: bool
    origin: str
    now: dt.datetime
    write: bool
    send_requests: bool
    pos: Optional[PosTarget]
    report: ImportReport
    defaults: Any = None
    sql: Any = None
    by: Actor = SHOP
    check_event_keys: bool = True  # False when no event of this file existed when the import started
    check_request_keys: bool = True
    live_clock: bool = False  # no `now` given: each chunk reads the clock under its lock (the ledger's order)
    _evidence_head: str = ""

    def evidence_json(self, row: int) -> str:
        """json.dumps(self.evidence(row)), built from a template (one per event of a million-row import)."""
        if not self._evidence_head:
            head = self.evidence(0)
            del head["row"]
            self._evidence_head = json.dumps(head)[:-1]
        return f'{self._evidence_head}, "row": {row}}}'

    @property
    def may_opt_in(self) -> bool:
        return self.attested and self.origin != Channel.pos_sync.value

    def event_key(self, phone: str, status: str) -> str:
        return f"{_key_prefix(self.origin, self.opened.file_hash, None)}{phone}:{status}"

    def evidence(self, row: int, **extra) -> dict[str, Any]:
        ev: dict[str, Any] = {"file": self.opened.name, "row": row, "attested": bool(self.may_opt_in)}
        if self.by.id is not None:  # a person signed in to the dashboard ran it
            ev.update(self.by.evidence)
        if self.pos is not None:
            ev["pos_source"] = self.pos.name
        ev.update(extra)
        return ev


def _name_or_blank(name: str, what: str, cols: _Columns, col: Optional[int], n: int,
                   warnings: list[RowError]) -> str:
    """The name, or "" (reported) when it holds a link, a phone number or markup (names.problem, the rule of
    every path). The row is still imported: its phone and consent matter more than a name, and an opt-out
    must never be lost over one."""
    found = names.problem(name)
    if found is None:
        return name
    warnings.append(RowError(n, cols.headers[col if col is not None else cols.full_name],
                             f"{what} not imported: it contains {found}", name[:80], True))
    return ""


def _details(rec: list[str], cols: _Columns, n: int, warnings: list[RowError]) -> tuple[str, str, str]:
    width = len(rec)
    first = rec[cols.first_name] if cols.first_name is not None and cols.first_name < width else ""
    last = rec[cols.last_name] if cols.last_name is not None and cols.last_name < width else ""
    if cols.full_name is not None and cols.full_name < width and not first and not last:
        full = rec[cols.full_name].strip()
        first, _, last = full.partition(" ")
    email = rec[cols.email] if cols.email is not None and cols.email < width else ""
    if first:
        first, long_ = _clean(first, MAX_NAME)
        if long_:
            warnings.append(RowError(n, cols.headers[cols.first_name if cols.first_name is not None else cols.full_name],
                                     f"first name longer than {MAX_NAME} characters: shortened", first[:80], True))
        first = _name_or_blank(first, "first name", cols, cols.first_name, n, warnings)
    if last:
        last, long_ = _clean(last, MAX_NAME)
        if long_:
            warnings.append(RowError(n, cols.headers[cols.last_name if cols.last_name is not None else cols.full_name],
                                     f"last name longer than {MAX_NAME} characters: shortened", last[:80], True))
        last = _name_or_blank(last, "last name", cols, cols.last_name, n, warnings)
    if email:
        e, _ = _clean(email, 10_000)
        e = e.lower()
        if e and not _email_ok(e):
            warnings.append(RowError(n, cols.headers[cols.email], "not an email address (name@example.com)",
                                     email[:80], True))
            e = ""
        email = e
    return first, last, email


@dataclass
class _Plan:
    """The applied rows pass 2 must write (spreadsheet row numbers ascending, their phones and verdicts), and
    the counts of the others: rows whose customer exists and would not change at all are left out."""

    rows: list[int]
    phones: list[int]
    verdicts: list[int]
    skipped: int = 0
    skipped_buckets: dict[str, int] = field(default_factory=dict)


def _plan(ctx: _Context, scan: _Scan, known: Optional[_Known]) -> _Plan:
    rows_idx = scan.apply_rows  # ascending data-row indexes
    phone = scan.phone[rows_idx]
    verdict = scan.apply_verdict
    plan = _Plan(rows=scan.rownum[rows_idx].tolist(), phones=phone.tolist(), verdicts=verdict.tolist())
    if known is None or len(known.phone) == 0 or not scan.hashed or ctx.pos is not None or len(rows_idx) == 0:
        return plan  # nothing known (or a POS sync, which records every contact): every row is written
    at = known.find(phone)
    exists = at >= 0
    safe = np.where(exists, at, 0)
    status = np.where(exists, known.status[safe], S_NOT)
    buckets, targets = _decide_tables(ctx.may_opt_in)
    bucket = buckets[verdict, status]
    target = targets[verdict, status]
    d = scan.details[rows_idx]
    same = exists & (target == T_NONE)
    for col, stored in ((0, known.h_first), (1, known.h_last), (2, known.h_email)):
        same &= (d[:, col] == 0) | (d[:, col] == stored[safe])
    if ctx.send_requests:
        same &= (status != S_NOT) & (status != S_PENDING)  # a request may be due: written
    keep = ~same
    plan.rows = scan.rownum[rows_idx[keep]].tolist()
    plan.phones = phone[keep].tolist()
    plan.verdicts = verdict[keep].tolist()
    plan.skipped = int(same.sum())
    counts = np.bincount(bucket[same], minlength=len(_BUCKET_FIELDS))
    plan.skipped_buckets = {name: int(counts[i]) for i, name in enumerate(_BUCKET_FIELDS)}
    return plan


def _apply_file(ctx: _Context, plan: _Plan, progress: Optional[Progress], warn: bool) -> None:
    """Pass 2: read the file again and write the planned rows, CHUNK_ROWS phones per transaction.
    `warn`: report dropped values here (pass 1 did not read names and emails)."""
    cols = ctx.columns
    report = ctx.report
    report.unchanged += plan.skipped
    for name, n in plan.skipped_buckets.items():
        setattr(report, name, getattr(report, name) + n)
    targets, phones_, verdicts = plan.rows, plan.phones, plan.verdicts
    total = len(targets)
    batch: list[_Row] = []
    done = 0
    warnings: list[RowError] = ctx.report.warnings if warn else []  # else pass 1 reported them

    def run_batch():
        nonlocal done
        if batch:
            if ctx.write:
                run_write(ctx.session, lambda: _apply_chunk(ctx, batch))
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
    n = 0  # record number, counted exactly as _records counts it
    with ctx.opened.text() as t:
        it = iter(_reader(ctx.opened, t))
        while ai < total:
            try:
                for rec in it:
                    n += 1
                    if n != target:
                        continue
                    first, last, email = _details(rec, cols, n, warnings)
                    batch.append(_Row(phones_[ai], verdicts[ai], n, first, last, email,
                                      *_origin.read(rec, cols, ctx.now)))
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


_COMPILED: dict[tuple, tuple[str, Optional[list[int]]]] = {}


class _Sql:
    """Set-wise SQL on the session's connection: dialect-specific INSERT ... ON CONFLICT via executemany."""

    def __init__(self, session: Session):
        self.session = session
        self.conn = session.connection()
        self.versions: dict[int, int] = {}  # customer id -> the version this transaction read or wrote
        self.dialect = self.conn.dialect
        self.sqlite = self.dialect.name == "sqlite"
        self.ph = "?" if self.sqlite else "%s"
        impl = DateTime().dialect_impl(self.dialect)
        self._dt = impl.bind_processor(self.dialect) or (lambda v: v)
        self._dt_result = impl.result_processor(self.dialect, None) or (lambda v: v)

    def dt_result(self, value):
        return value if isinstance(value, dt.datetime) else self._dt_result(value)

    def dt(self, value: Optional[dt.datetime]):
        return None if value is None else self._dt(value)

    def insert(self, table, cols: list[str], rows: list[tuple], conflict: Optional[list[str]] = None) -> int:
        """INSERT rows (tuples in `cols` order) ... ON CONFLICT (conflict) DO NOTHING; returns rows inserted."""
        if not rows:
            return 0
        key = (self.dialect.name, table.name, tuple(cols), tuple(conflict or ()))
        if key not in _COMPILED:
            ins = (sqlite_dialect.insert if self.sqlite else pg_dialect.insert)(table)
            stmt = ins.values({c: bindparam(c) for c in cols})
            if conflict:
                stmt = stmt.on_conflict_do_nothing(index_elements=conflict)
            compiled = stmt.compile(dialect=self.dialect)
            order = None
            if self.sqlite:
                pos = list(compiled.positiontup)
                order = [cols.index(p) for p in pos]
            _COMPILED[key] = (compiled.string, order)
        sql, order = _COMPILED[key]
        if self.sqlite:
            params = rows if order == list(range(len(cols))) else [tuple(r[i] for i in order) for r in rows]
        else:
            params = [dict(zip(cols, r)) for r in rows]
        result = self.conn.exec_driver_sql(sql, params)
        return result.rowcount

    def update(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.exec_driver_sql(sql.replace("?", self.ph), rows)

    def update_customers(self, assignments: str, rows: list[tuple]) -> bool:
        """UPDATE customer SET <assignments> for rows (values..., id), each checked against the version this
        chunk read (models.Customer.version). False when a row changed meanwhile (the caller retries)."""
        if not rows:
            return True
        ids = [r[-1] for r in rows]
        params = [(*r, self.versions.get(r[-1], 1)) for r in rows]
        sql = f"UPDATE customer SET {assignments}, version = version + 1 WHERE id = ? AND version = ?"
        result = self.conn.exec_driver_sql(sql.replace("?", self.ph), params)
        if result.rowcount != len(rows):
            return False
        for i in ids:
            self.versions[i] = self.versions.get(i, 1) + 1
        return True

    def existing_keys(self, table, keys: list[str]) -> set[str]:
        return {r[0] for r in _in_rows(self.conn, f"SELECT dedupe_key FROM {table.name} WHERE dedupe_key", keys)}


_CUST = Customer.__table__
_EVENT = ConsentEvent.__table__
_MSG = Message.__table__
_POSC = PosContact.__table__


def _in_rows(conn, sql: str, values: list, tail: str = "", params: tuple = ()) -> list[tuple]:
    """Rows of `sql` + " IN (...)" for every value, in batches, straight from the driver's cursor
    (same connection and transaction as the session; no per-value compiling, no per-row wrapping).
    `sql` is written with ? placeholders for `params` (they come before the IN list's)."""
    if not values:
        return []
    ph = "?" if conn.dialect.name == "sqlite" else "%s"
    if ph != "?":
        sql = sql.replace("?", ph)
    cursor = conn.connection.driver_connection.cursor()
    out: list[tuple] = []
    try:
        for k in range(0, len(values), _IN_BATCH):
            part = values[k:k + _IN_BATCH]
            cursor.execute(f"{sql} IN ({', '.join([ph] * len(part))}){tail}", (*params, *part))
            out.extend(cursor.fetchall())
    finally:
        cursor.close()
    return out


# columns of _existing's tuples
(_ID, _PHONE, _STATUS, _FIRST, _LAST, _EMAIL, _REQUESTS, _LAST_REQUEST, _SOURCE, _DETAIL, _CHANGED_AT, _VERSION,
 _QUEUED, _ZIP) = range(14)


def _existing(ctx: _Context, phone_strs: list[str]) -> dict[str, tuple]:
    """phone -> (id, phone, status, first, last, email, requests, last request, source, source detail,
    status changed at) for this chunk's customers.
    On PostgreSQL the rows are locked (FOR UPDATE) until the chunk commits, so nobody changes them meanwhile."""
    sql = ctx.sql
    tail = " FOR UPDATE" if ctx.write and not sql.sqlite else ""
    rows = _in_rows(sql.conn, "SELECT id, phone, sms_status, first_name, last_name, email, opt_in_requests, "
                    "last_request_at, source, source_detail, status_changed_at, version, queued_requests, zip "
                    "FROM customer WHERE phone", phone_strs, tail)
    for r in rows:
        sql.versions[r[_ID]] = r[_VERSION]
    return {r[1]: r for r in rows}


class _Retry(IntegrityError):
    """A customer of this chunk was created by someone else meanwhile: run the chunk again (run_write retries)."""

    def __init__(self):
        super().__init__("import chunk", None, Exception("a phone of this chunk was added meanwhile; retrying"))


_OUT, _OPTED_IN, _NOT, _PENDING = (SmsStatus.opted_out.value, SmsStatus.opted_in.value,
                                   SmsStatus.not_opted_in.value, SmsStatus.pending.value)
_CUSTOMER_COLS = ["first_name", "last_name", "phone", "email", "zip", "source", "source_detail", "sms_status",
                  "status_changed_at", "opt_in_requests", "last_request_at", "created_at", "updated_at",
                  "queued_requests", "version"]
_EVENT_COLS = ["customer_id", "phone", "old_status", "new_status", "occurred_at", "channel", "evidence", "dedupe_key",
               "pending_seconds", "customer_source", "consented_at"]


def _apply_chunk(ctx: _Context, batch: list[_Row]) -> None:
    """Apply one chunk of rows (one row per phone): statuses by `decide` (the rules of set_status), with
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
    sql = ctx.sql = _Sql(session)
    existing = _existing(ctx, phone_strs)
    need_state = ctx.send_requests or (ctx.pos is not None)
    may_opt_in = ctx.may_opt_in

    # counts are added to the report only once the chunk is in (run_write may run this function again)
    buckets = [0] * len(_BUCKET_FIELDS)
    targets: list[Optional[str]] = []
    codes = _STATUS_CODES
    for row, phone in zip(batch, phone_strs):
        ex = existing.get(phone)
        bucket, target = decide(row.verdict, S_NOT if ex is None else codes[ex[_STATUS]], may_opt_in)
        buckets[bucket] += 1
        targets.append(None if target == T_NONE else _STATUS_OF_CODE[target])

    keys = [ctx.event_key(p, t) for p, t in zip(phone_strs, targets) if t] if ctx.check_event_keys else []
    if keys:
        done_keys = sql.existing_keys(_EVENT, keys)
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
            new_rows.append((row.first_name, row.last_name, phone, row.email, "", origin, source_detail, status,
                             now_db if target else None, 0, None, now_db, now_db, 0, 1))
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
            final[phone] = [ex[_ID], target or ex[_STATUS], ex[_REQUESTS] or 0, ex[_LAST_REQUEST], first, row.row,
                            source, ex[_QUEUED] or 0, ex[_ZIP] or ""]

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
            extra = _origin.evidence(r.consented_at, r.consent_source)
            evidence = json.dumps(ctx.evidence(rownum, **extra)) if extra else ctx.evidence_json(rownum)
            consented = sql.dt(r.consented_at) if r.consented_at is not None and new == _OPTED_IN else None
            events.append((cid, phone, old, new, now_db, origin, evidence, ctx.event_key(phone, new),
                           waited, source, consented))
        if not sql.update_customers("first_name = ?, last_name = ?, email = ?, updated_at = ?", detail_updates):
            raise _Retry()
        if not _write_status_changes(sql, status_updates, events):
            ctx.check_event_keys = True
            raise _Retry()
        if ctx.pos is not None:
            _pos_contacts(ctx, final)

    # opt-in requests: the import option, or the POS source's date setting
    req = RequestTally()
    if ctx.send_requests or (ctx.pos is not None and ctx.pos.cutoff is not None):
        wanted = [(p, s) for p, s in final.items() if s[1] == _NOT or s[1] == _PENDING]
        if ctx.pos is not None and wanted:
            wanted = _synced_after_cutoff(ctx, wanted)
        if wanted:
            req = _bulk_requests(ctx, [(p, _Wanted(*s)) for p, s in wanted])

    report.created += created
    report.updated += updated
    report.unchanged += unchanged
    for name, n in zip(_BUCKET_FIELDS, buckets):
        setattr(report, name, getattr(report, name) + n)
    req.add_to(report)


def _write_status_changes(sql: "_Sql", updates: list[tuple], events: list[tuple]) -> bool:
    """UPDATE the statuses (status, changed at, updated at, id) and INSERT their consent events, as
    set_status does one at a time. False when an event's dedupe key was taken meanwhile (the caller
    runs the chunk again)."""
    if not sql.update_customers("sms_status = ?, status_changed_at = ?, updated_at = ?", updates):
        return False
    return sql.insert(_EVENT, _EVENT_COLS, events, conflict=["dedupe_key"]) == len(events)


def _insert_customers(ctx: _Context, new_rows: list[tuple]) -> dict[str, int]:
    """INSERT the new customers ... ON CONFLICT (phone) DO NOTHING; their ids by phone.

    If a phone was added by someone else meanwhile, the chunk runs again (_Retry). On SQLite, under the
    write lock, the ids are the table's largest id + 1, + 2, ... in insert order (INTEGER PRIMARY KEY
    without AUTOINCREMENT), checked afterwards; elsewhere they are read back."""
    if not new_rows:
        return {}
    sql = ctx.sql
    new_rows.sort(key=lambda r: r[2])
    before = sql.conn.exec_driver_sql("SELECT max(id) FROM customer").scalar() or 0 if sql.sqlite else None
    if sql.insert(_CUST, _CUSTOMER_COLS, new_rows, conflict=["phone"]) != len(new_rows):
        raise _Retry()
    if sql.sqlite:
        after = sql.conn.exec_driver_sql("SELECT max(id) FROM customer").scalar()
        if after == before + len(new_rows):
            return {r[2]: before + 1 + i for i, r in enumerate(new_rows)}
    return {phone: cid for cid, phone in _in_rows(sql.conn, "SELECT id, phone FROM customer WHERE phone",
                                                 [r[2] for r in new_rows])}


@dataclass(slots=True)
class _Wanted:
    """A customer an opt-in request may go to, as it is after the import."""

    id: Optional[int]
    status: str
    requests: int
    last_request_at: Any  # datetime, or the database's text for it (SQLite)
    first_name: str
    row: Optional[int]
    source: str  # customers.source_key of the customer, for the consent event
    queued: int = 0  # requests of this customer waiting in the outbox
    zip: str = ""  # the customer's zip code: their state's sending window (rulebook §9)


def _pending_seconds(sql: "_Sql", ex: tuple, now: dt.datetime) -> Optional[int]:
    """What set_status records on an event that moves a customer out of pending (reports: time to confirm)."""
    if ex[_STATUS] != _PENDING or ex[_CHANGED_AT] is None:
        return None
    return max(0, int((now - sql.dt_result(ex[_CHANGED_AT])).total_seconds()))


def _pos_contacts(ctx: _Context, final: dict[str, list]) -> None:
    rows = [(ctx.pos.source_id, s[0], ctx.sql.dt(ctx.now)) for s in final.values()]
    ctx.sql.insert(_POSC, ["source_id", "customer_id", "synced_at"], rows, conflict=["source_id", "customer_id"])


def _synced_after_cutoff(ctx: _Context, wanted: list[tuple[str, list]]) -> list[tuple[str, list]]:
    """Keep the contacts of this POS source first synced at or after the date setting (a dry run counts
    contacts not synced yet as synced now)."""
    cutoff = ctx.pos.cutoff
    ids = [s[0] for _, s in wanted if s[0] is not None]
    rows = _in_rows(ctx.sql.conn, "SELECT customer_id, synced_at FROM pos_contact WHERE source_id = ? AND customer_id",
                    ids, params=(ctx.pos.source_id,))
    synced = {cid: ctx.sql.dt_result(at) for cid, at in rows}
    return [(p, s) for p, s in wanted if synced.get(s[0], ctx.now) >= cutoff]


# --- Opt-in requests in bulk (the rules of outbox.send, set-wise) ----------------------------------------------

@dataclass
class RequestTally:
    """Opt-in requests of a bulk action: sent now, queued for quiet hours, refused (and why), and those
    not sent because they were already sent for this file or POS round."""

    sent: int = 0
    queued: int = 0
    blocked: int = 0
    already: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def merge(self, other: "RequestTally") -> None:
        self.sent += other.sent
        self.queued += other.queued
        self.blocked += other.blocked
        self.already += other.already
        for k, v in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + v

    def add_to(self, report: Any) -> None:
        report.requests_sent += self.sent
        report.requests_queued += self.queued
        report.requests_blocked += self.blocked
        report.requests_already += self.already
        for k, v in self.reasons.items():
            report.request_reasons[k] = report.request_reasons.get(k, 0) + v


def _prefix_used(session: Session, table, prefix: str) -> bool:
    """Whether any dedupe key of `table` starts with `prefix` (binary order: a range on the unique index)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        sql = f"SELECT 1 FROM {table.name} WHERE dedupe_key >= ? AND dedupe_key < ? LIMIT 1"
        return conn.exec_driver_sql(sql, (prefix, upper)).first() is not None
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = f"SELECT 1 FROM {table.name} WHERE dedupe_key LIKE %s ESCAPE '\\' LIMIT 1"
    return conn.exec_driver_sql(sql, (like,)).first() is not None


def _key_prefix(origin: str, file_hash: str, pos: Optional[PosTarget]) -> str:
    """Dedupe keys: "<origin>:<file>:<phone>:<status>" for a status change an import makes,
    "<origin>:<file>:<phone>:opt_in_request" for its request, "pos:<source>:r<round>:<phone>:opt_in_request"
    for a POS source's request (one per contact per date-setting round); file = the first 16 hex digits
    of the file's SHA-256."""
    if pos is not None:
        return f"pos:{pos.source_id}:r{pos.round}:"
    return f"{origin}:{file_hash[:16]}:"


def request_key(origin: str, file_hash: str, phone: str, pos: Optional[PosTarget]) -> str:
    return f"{_key_prefix(origin, file_hash, pos)}{phone}:opt_in_request"


def _bulk_requests(ctx: _Context, wanted: list[tuple[str, _Wanted]]) -> RequestTally:
    """One opt-in request per customer in `wanted`, decided exactly as outbox.send(kind=opt_in_request,
    bulk=True) decides it -- outbox.refusal (opt-out, already opted in, request limit, 24 hours) and
    outbox.hold (the recipient's state window and cap, §9: queued with the rule) -- and logged set-wise. A request that is not blocked
    makes a not-opted-in customer pending, with its consent event, as customers.request_opt_in does.
    Each request has a dedupe key: one already logged is not sent again ("nothing new")."""
    session, now = ctx.session, ctx.now
    tally = RequestTally()
    defaults = ctx.defaults = ctx.defaults or texting.get_defaults(session)
    sql = ctx.sql
    file_hash = ctx.opened.file_hash if ctx.opened else ""
    keys = {p: request_key(ctx.origin, file_hash, p, ctx.pos) for p, _ in wanted}
    done = sql.existing_keys(_MSG, list(keys.values())) if ctx.check_request_keys else set()
    kind = MessageKind.opt_in_request
    live = providers.is_live(session)
    bodies: dict[str, tuple[str, str, int]] = {}
    messages: list[tuple] = []
    counters: list[tuple] = []
    pendings: list[tuple] = []
    events: list[tuple] = []
    now_db = sql.dt(now)
    recent = outbox.recent_capped(session, [p for p, _ in wanted], now)  # what the states' caps count
    for phone, w in wanted:
        key = keys[phone]
        if key in done:
            tally.already += 1
            continue
        last = w.last_request_at
        who = SimpleNamespace(sms_status=SmsStatus(w.status), opt_in_requests=w.requests, queued_requests=w.queued,
                              last_request_at=sql.dt_result(last) if last is not None else None,
                              first_name=w.first_name or "")
        reason = outbox.refusal(who, kind, defaults, now)
        cached = bodies.get(who.first_name)
        if cached is None:
            body = texting.render(kind, who, defaults)
            seg = segments.count(body)
            cached = bodies[who.first_name] = (body, seg.encoding, seg.segments)
        body, encoding, nseg = cached
        send_at = sent_at = None
        if reason:
            status = MessageStatus.blocked.value
            tally.blocked += 1
            tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
        else:
            held = outbox.hold(phone, now, defaults, zip=w.zip, recent=recent.get(phone, ()))
            if held.until is not None:
                status = MessageStatus.queued.value
                send_at = held.until
                reason = held.reason[:300]
                tally.queued += 1
            else:  # live texting: `sending`, for the background sender (outbox._dispatch)
                status = (MessageStatus.sending if live else MessageStatus.sent).value
                sent_at = None if live else now
                tally.sent += 1
            if send_at is None:  # the counter counts requests sent; the 24 hours run from then
                counters.append((w.requests + 1, w.queued, now, now_db, w.id))
            else:
                counters.append((w.requests, w.queued + 1, sql.dt_result(last) if last is not None else None,
                                 now_db, w.id))
            if w.status == _NOT:
                pendings.append((_PENDING, now_db, now_db, w.id))
                ev = (ctx.evidence(w.row, action="sent an opt-in request") if ctx.opened is not None
                      else {"pos_source": ctx.pos.name, "action": "sent an opt-in request"})
                events.append((w.id, phone, _NOT, _PENDING, now_db, ctx.origin, json.dumps(ev), key + ":pending",
                               None, w.source, None))
        messages.append((w.id, phone, defaults.main_number, Direction.outbound.value, body, kind.value, status,
                         reason, encoding, nseg, now_db, sql.dt(send_at), sql.dt(sent_at), True, key))
    if ctx.write:
        if sql.insert(_MSG, _MESSAGE_COLS, messages, conflict=["dedupe_key"]) != len(messages):
            ctx.check_request_keys = True
            raise _Retry()
        if not sql.update_customers("opt_in_requests = ?, queued_requests = ?, last_request_at = ?, updated_at = ?",
                                    [(*c[:2], sql.dt(c[2]), *c[3:]) for c in counters]):
            ctx.check_request_keys = True
            raise _Retry()
        if not _write_status_changes(sql, pendings, events):
            ctx.check_request_keys = True
            raise _Retry()
    return tally


_MESSAGE_COLS = ["customer_id", "phone", "shop_number", "direction", "body", "kind", "status", "reason", "encoding",
                 "segments", "created_at", "send_at", "sent_at", "bulk", "dedupe_key"]


# --- The entry points ---------------------------------------------------------------------------------------

def _check_region(region: str) -> str:
    region = (region or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise MappingProblem(f"{region!r} is not a country code phone numbers know (e.g. US, CA, GB).")
    return region


def _run(session: Session, source: Source, *, attested: bool, default_region: str, mapping, send_requests: bool,
         origin: str, now: Optional[dt.datetime], file_name: Optional[str], progress: Optional[Progress],
         write: bool, pos: Optional[PosTarget] = None, by: Actor = SHOP) -> ImportReport:
    started = time.perf_counter()
    origin = Channel(origin).value
    if origin not in (Channel.csv_import.value, Channel.pos_sync.value):
        raise MappingProblem("An import's origin is csv_import or pos_sync.")
    region = _check_region(default_region)
    live_clock = now is None
    now = as_utc(now)
    opened = _prepare(source, file_name)
    header_row, headers, _ = _header(opened)
    columns = _resolve_mapping(headers, mapping, opened.name)
    if progress is not None:
        progress(0.0, "Reading the file")
    known, count = _Known.load(session)
    scan = _scan(session, opened, columns, region, known, count, progress)
    session.rollback()  # end pass 1's reads before the write transactions
    report = ImportReport(file_name=opened.name, file_hash=opened.file_hash, origin=origin, dry_run=not write,
                          attested=bool(attested) and origin != Channel.pos_sync.value, rows=scan.rows,
                          invalid=list(scan.invalid), warnings=list(scan.warnings),
                          duplicates_in_file=scan.duplicates,
                          mapping=dict(columns.mapping), encoding=opened.label, delimiter=opened.delimiter)
    if write and len(scan.apply_rows) == 0:
        raise NoValidPhones(f"None of the {scan.rows:,} rows of {opened.name} has a usable phone number in the "
                            f"column {headers[columns.phone]!r}: check the phone column in the mapping.")
    ctx = _Context(session=session, opened=opened, columns=columns, attested=bool(attested), origin=origin,
                   now=now, write=write, send_requests=bool(send_requests) and origin == Channel.csv_import.value,
                   pos=pos, report=report, by=by, live_clock=live_clock)
    if write:
        # keys are checked chunk by chunk only if this file (or this POS round) was applied before
        ctx.check_event_keys = _prefix_used(session, _EVENT, _key_prefix(origin, opened.file_hash, None))
        ctx.check_request_keys = _prefix_used(session, _MSG, _key_prefix(origin, opened.file_hash, pos))
        session.rollback()
    run: Optional[ImportRun] = None
    if write:
        run = ImportRun(file_name=opened.name[:255], file_hash=opened.file_hash, origin=origin, started_at=now,
                        by=by.name[:100], attested=report.attested, counts={"status": "started"}, errors_csv="")
        session.add(run)
        session.commit()
        report.import_run_id = run.id
    plan = _plan(ctx, scan, known)
    suppression.skip_in_plan(session, plan, report, headers[columns.phone])  # deleted customers stay out (§11)
    del known
    _apply_file(ctx, plan, progress, warn=not scan.hashed)
    report.invalid.sort(key=lambda e: e.row)
    report.warnings.sort(key=lambda e: e.row)
    report.seconds = round(time.perf_counter() - started, 3)
    if write:
        def finish():
            r = session.get(ImportRun, report.import_run_id)
            r.finished_at = now + dt.timedelta(seconds=report.seconds)
            r.counts = {**report.counts(), "mapping": report.mapping, "encoding": report.encoding,
                        "delimiter": report.delimiter, "region": region,
                        "send_requests": bool(send_requests), "seconds": report.seconds,
                        **({"pos_source": pos.name} if pos else {})}
            r.errors_csv = report.errors_csv().decode("utf-8-sig") if (report.invalid or report.warnings) else ""
            session.add(r)
            if pos is None:  # a POS sync's line is written by core.importing.pos.sync
                activity.record(session, by, activity.Kind.import_, _activity_line(report), now=now)

        run_write(session, finish)
    log.log(logging.INFO if write else logging.DEBUG, "%s %s%s: %s rows, %s (%.1f s)",
            "import" if write else "import check", opened.name, f" from {pos.name}" if pos else "", f"{scan.rows:,}",
            ", ".join(f"{k} {v:,}" for k, v in report.counts().items() if k != "rows" and isinstance(v, int) and v),
            report.seconds)
    if progress is not None:
        progress(1.0, "Done")
    return report


def _actor(session: Session, by: Optional[Actor | str], action: str) -> Actor:
    """The role check of an import; a plain name (earlier callers: "owner") is the shop itself."""
    return allow(session, by if isinstance(by, Actor) else None, action)


def _activity_line(report: ImportReport) -> str:
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report.counts().items()
                       if isinstance(v, int) and v and k != "rows")
    return (f"Imported {report.file_name} ({report.rows:,} rows{': ' + counts if counts else ''})"
            f"{'; attested consent' if report.attested else ''}")


def import_pos_file(session: Session, source: Source, *, target: PosTarget, default_region: str = "US",
                    mapping: Optional[dict[str, Optional[str]]] = None, now: Optional[dt.datetime] = None,
                    file_name: Optional[str] = None, progress: Optional[Progress] = None,
                    by: Optional[Actor | str] = None) -> ImportReport:
    """A POS sync's import (core.pos.sync): origin pos_sync, never opts in, records each contact for the
    source, sends the requests the source's date setting asks for."""
    by = _actor(session, by, "pos_sync")
    return _run(session, source, attested=False, default_region=default_region, mapping=mapping,
                send_requests=False, origin=Channel.pos_sync.value, now=now, file_name=file_name,
                progress=progress, write=True, pos=target, by=by)


def request_for_pos_contacts(session: Session, *, target: PosTarget, now: Optional[dt.datetime], after_id: int = 0,
                             limit: int = 5000) -> tuple["RequestTally", tuple[int, Optional[int]]]:
    """Inside a write transaction: the next `limit` contacts of the source (keyset after PosContact id
    `after_id`) synced at or after the cutoff and not opted in or pending get an opt-in request by the
    rules of outbox.send (dedupe key per round). Returns (tally, (contacts seen, last id or None at the end))."""
    if target.cutoff is None:
        return RequestTally(), (0, None)
    lock_every_phone(session)  # the phones are picked by the query below
    now = as_utc(now)  # read under the lock: the ledger's times follow its order
    sql = _Sql(session)
    tail = " FOR UPDATE OF c" if not sql.sqlite else ""
    rows = sql.conn.exec_driver_sql(
        ("SELECT pc.id, c.id, c.phone, c.sms_status, c.opt_in_requests, c.last_request_at, c.first_name, c.source, "
         "c.source_detail, c.version, c.queued_requests, c.zip FROM pos_contact pc JOIN customer c ON c.id = pc.customer_id "
         "WHERE pc.source_id = ? AND pc.synced_at >= ? AND pc.id > ? AND c.sms_status IN (?, ?) "
         "ORDER BY pc.id LIMIT ?" + tail).replace("?", sql.ph),
        (target.source_id, sql.dt(target.cutoff), after_id, _NOT, _PENDING, limit)).all()
    ctx = _Context(session=session, opened=None, columns=None, attested=False, origin=Channel.pos_sync.value,
                   now=now, write=True, send_requests=False, pos=target, report=None)
    ctx.sql = sql
    sql.versions.update({r[1]: r[9] for r in rows})
    wanted = [(phone, _Wanted(cid, status, requests or 0, last, first or "", None,
                              customers.source_key(source, detail or ""), queued or 0, zip_code or ""))
              for _pcid, cid, phone, status, requests, last, first, source, detail, _v, queued, zip_code in rows]
    tally = _bulk_requests(ctx, wanted) if wanted else RequestTally()
    last_id = rows[-1][0] if len(rows) == limit else None
    return tally, (len(rows), last_id)


def dry_run(session: Session, source: Source, *, mapping: Optional[dict[str, Optional[str]]] = None,
            default_region: str = "US", attested: bool = False,
            origin: str = "csv_import", file_name: Optional[str] = None, now: Optional[dt.datetime] = None,
            progress: Optional[Progress] = None) -> ImportReport:
    """What import_csv would do, without writing anything: the same counts, the invalid rows. Raises the
    same ImportProblem errors."""
    try:
        return _run(session, source, attested=attested, default_region=default_region, mapping=mapping,
                    send_requests=False, origin=origin, now=now, file_name=file_name, progress=progress,
                    write=False)
    finally:
        session.rollback()


def import_csv(session: Session, source: Source, *, attested: bool, default_region: str = "US",
               mapping: Optional[dict[str, Optional[str]]] = None,
               origin: str = "csv_import", now: Optional[dt.datetime] = None, file_name: Optional[str] = None,
               progress: Optional[Progress] = None, by: Optional[Actor | str] = None) -> ImportReport:
    """Import a CSV or .xlsx customer list (rulebook §8); returns the report.

    `source`: a path or a binary file object. `attested`: the owner confirms these customers agreed to
    receive marketing texts from this business (without it, rows that say opted in import as not opted
    in). An import never sends a text (§11): the owner asks customers from Personas or Member Club.
    Each row's original consent date and source (columns consented_at, source, ...) become the
    consent event's evidence. `progress(fraction, text)` is called as the import goes.
    Commits chunk by chunk; idempotent (see the module docstring). Raises ImportProblem subclasses
    (nothing written) for a file that cannot be imported. `by`: who runs it (the import role; attesting
    consent is the owner's alone).
    """
    by = _actor(session, by, "import")
    if attested:
        by = allow(session, by, "attest_import")
    return _run(session, source, attested=attested, default_region=default_region, mapping=mapping,
                send_requests=False, origin=origin, now=now, file_name=file_name, progress=progress,
                write=True, by=by)


def history(session: Session, *, limit: int = 20, before_id: Optional[int] = None,
            origin: Optional[str] = None) -> list[ImportRun]:
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


# --- What the pages show ----------------------------------------------------------------------------------------

@dataclass
class Figure:
    label: str
    value: int
    help: str = ""


def summary(report: ImportReport) -> dict[str, list[Figure]]:
    """The report as the Import and Integrations pages show it, in three groups."""
    pos_sync = report.origin == Channel.pos_sync.value
    will = "will be" if report.dry_run else "were"
    out = {
        "customers": [
            Figure("New customers", report.created, f"Phones not in Opt-In Desk yet: they {will} added."),
            Figure("Updated", report.updated, "Existing customers whose status, name or email changes."),
            Figure("Unchanged", report.unchanged, "Existing customers the file has nothing new about."),
            Figure("Rows not imported", len(report.invalid),
                   "Invalid phone numbers and unreadable rows: download them below, fix, import again."),
        ],
        "consent": [
            Figure("Opted in", report.opted_in, "Rows that say opted in, with your attestation."),
            Figure("Opted out", report.opted_out, "Rows that say opted out: always recorded."),
            Figure("No status", report.no_status, "A blank (or no) opt-in value: the status stays as it is; "
                   "new customers are not opted in."),
            Figure("Kept opted out", report.kept_opted_out,
                   "Rows that say opted in for a phone that opted out (earlier, or elsewhere in the file): "
                   "opt-out wins."),
            Figure("Opt-ins not applied", report.not_attested,
                   "POS data never opts anyone in." if pos_sync else
                   "Rows that say opted in, imported as not opted in because the attestation box is not ticked."),
            Figure("Duplicate phones", report.duplicates_in_file,
                   "Rows whose phone appears earlier in the file (in any format); opt-out wins among them."),
        ],
        "requests": [
            Figure("Requests sent", report.requests_sent, "Opt-in requests that go out now."),
            Figure("Queued for quiet hours", report.requests_queued,
                   "Requests that wait until the sending window opens for the customer."),
            Figure("Refused", report.requests_blocked, "Request limits: at most 2 per phone, never 2 within 24 hours."),
            Figure("Asked before", report.requests_already, "Already asked for this file (or this date setting)."),
        ],
    }
    return out


def local_time(at: Optional[dt.datetime], timezone: str) -> str:
    """'30 Nov 2026 11:00' in the shop's time zone (stored times are naive UTC)."""
    from zoneinfo import ZoneInfo

    if at is None:
        return "never"
    return at.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(timezone)).strftime("%d %b %Y %H:%M").lstrip("0")


def history_rows(runs: list[ImportRun], timezone: str) -> list[dict[str, Any]]:
    """Import runs as table rows for a page (times in the shop's time zone)."""
    rows = []
    for r in runs:
        c = r.counts or {}
        rows.append({
            "File": r.file_name,
            "When": local_time(r.started_at, timezone),
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
        })
    return rows
