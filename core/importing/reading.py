"""Reading a customer file: size, kind, encoding, delimiter, header and rows (rulebook §8).

* A file is a path or a binary file object (an upload). At most limits.MAX_FILE_MB megabytes (Streamlit's
  own upload limit is 200 MB by default; the Import page sets the same limit on its uploader).
* Encoding: a byte-order mark decides (UTF-8, UTF-16); else UTF-8 when the whole file is valid UTF-8;
  else Windows-1252 (bytes Windows-1252 leaves undefined read as Latin-1), so Excel's "CSV" from a
  Windows machine reads as written.
* Delimiter: csv.Sniffer on a sample, checked against the header line (comma, semicolon, tab or |).
* .xlsx workbooks are streamed into a temporary UTF-8 CSV (core.importing.xlsx), then read as one; the
  copy is kept in the caller's ImportCache.
* The header is the first non-blank row. Row numbers are the ones a spreadsheet shows (header = row 1,
  blank lines count) so an owner can find a reported row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Optional, Union

from core import phones
from core.importing import limits, xlsx
from core.importing.cache import ImportCache
from core.importing.mapping import guess_mapping
from core.importing.report import EmptyFile, FileTooLarge, NotASpreadsheet, TooManyColumns

Source = Union[str, os.PathLike, BinaryIO]


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


_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]


def _cp1252_fallback(exc: UnicodeDecodeError):
    bad = exc.object[exc.start : exc.end]
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
class Opened:
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


def open_source(source: Source, file_name: Optional[str], cache: ImportCache) -> Opened:
    """Check the size, hash the bytes, find the kind and the encoding (no row is read yet)."""
    if source is None:
        raise EmptyFile("No file was given.")
    name = _name_of(source, file_name)
    try:
        size = _size_of(source)
    except OSError as exc:
        raise NotASpreadsheet(f"The file {name} cannot be read ({exc.strerror or exc}).") from None
    if size > limits.MAX_FILE_BYTES:
        raise FileTooLarge(limits.too_large_message(size))
    if size == 0:
        raise EmptyFile(f"{name} is empty: there is nothing to import.")

    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    fileobj = None if path is not None else source
    if fileobj is not None and not (hasattr(fileobj, "seekable") and fileobj.seekable()):
        spooled = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
        shutil.copyfileobj(fileobj, spooled)
        fileobj = spooled

    opened = Opened(
        name=name,
        size=size,
        file_hash="",
        kind="csv",
        encoding="utf-8-sig",
        errors="strict",
        label="UTF-8",
        path=path,
        fileobj=fileobj,
    )
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    with opened.binary() as f:
        head = f.read(limits.SAMPLE_BYTES)
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
        return _open_xlsx(opened, cache)
    if lower.endswith((".xlsx", ".xlsm")):
        raise NotASpreadsheet(
            f"{name} is not a real Excel workbook: open it in Excel and save it again "
            "as Excel Workbook (.xlsx) or CSV UTF-8."
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotASpreadsheet(
            f"{name} is an old Excel .xls file (or another Office file). In Excel choose "
            "File > Save As > CSV UTF-8 (or Excel Workbook .xlsx) and import that file."
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        opened.encoding, opened.label = "utf-16", "UTF-16"
        return opened
    if utf16:
        if decoder16 is None or not _readable(head, utf16):
            raise NotASpreadsheet(
                f"{name} looks like UTF-16 without a byte-order mark, and it does not read as "
                "UTF-16 text throughout: save it as UTF-8 CSV (in Excel: File > Save As > "
                "CSV UTF-8) and import that file."
            )
        opened.encoding, opened.label = utf16, "UTF-16 (no byte-order mark)"
        return opened
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise NotASpreadsheet(
                f"{name} is {what}, not a spreadsheet. Export your customer list as CSV "
                "or Excel (.xlsx) and import that file."
            )
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if b"\x00" in head or controls > max(8, len(head) // 50):
        raise NotASpreadsheet(
            f"{name} holds binary data, not text: it is not a CSV file. Export your customer "
            "list as CSV or Excel (.xlsx) and import that file."
        )
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


def _open_xlsx(opened: Opened, cache: ImportCache) -> Opened:
    """Read the workbook's first sheet as a CSV: the copy the cache holds for this file, or a new one."""
    path = cache.xlsx_copy(opened.file_hash)
    if path is None:
        with opened.binary() as b:
            path = xlsx.workbook_to_csv(b, opened.name)
        cache.keep_xlsx_copy(opened.file_hash, path)
    opened.kind, opened.path, opened.fileobj = "xlsx", path, None
    opened.encoding, opened.errors, opened.label, opened.delimiter = "utf-8", "strict", "Excel workbook", ","
    return opened


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


def prepare(source: Source, file_name: Optional[str], cache: ImportCache) -> Opened:
    """The file opened (size, hash, kind, encoding) with its delimiter found; no row read yet."""
    opened = open_source(source, file_name, cache)
    if opened.kind == "csv":
        with opened.text() as t:
            try:
                sample = t.read(limits.SAMPLE_BYTES)
            except UnicodeDecodeError:
                raise NotASpreadsheet(f"{opened.name} is not readable text.") from None
        if len(sample) >= limits.SAMPLE_BYTES and "\n" in sample:
            sample = sample[: sample.rfind("\n")]
        opened.delimiter = _sniff_delimiter(sample)
    return opened


def csv_reader(opened: Opened, t: io.TextIOBase):
    return csv.reader(t, delimiter=opened.delimiter, quotechar='"', doublequote=True, skipinitialspace=False)


def records(
    opened: Opened, t: io.TextIOBase, bad: Optional[dict[int, str]] = None
) -> Iterator[tuple[int, Optional[list[str]]]]:
    """(row number, cells) of every non-blank row, header included; cells None for an unreadable row.
    A header wider than limits.MAX_COLUMNS refuses the file; a wider data row is None, its reason put in `bad`."""
    reader = csv_reader(opened, t)
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
        if len(rec) > limits.MAX_COLUMNS:
            if header:
                raise TooManyColumns(limits.too_many_columns_message(n, len(rec)))
            if bad is not None:
                bad[n] = limits.wide_row_reason(len(rec))
            yield n, None
            continue
        for cell in rec:
            if cell and not cell.isspace():
                header = False
                yield n, rec
                break


def unique_headers(raw: list[str]) -> list[str]:
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


def header(opened: Opened) -> tuple[int, list[str], list[list[str]]]:
    with opened.text() as t:
        it = records(opened, t)
        for n, rec in it:
            if rec is None:
                raise NotASpreadsheet(
                    f"The first row of {opened.name} cannot be read as CSV (a cell is "
                    "longer than 131,072 characters). Is this the right file?"
                )
            headers = unique_headers(rec)
            preview = []
            for _, r in it:
                if r is not None:
                    preview.append(r[: len(headers)] + [""] * (len(headers) - len(r)))
                if len(preview) >= limits.PREVIEW_ROWS:
                    break
            return n, headers, preview
    raise EmptyFile(f"{opened.name} has no rows: there is nothing to import.")


def sniff(source: Source, *, file_name: Optional[str] = None, cache: Optional[ImportCache] = None) -> FileInfo:
    """What the Import page shows before anything is imported: kind, encoding, delimiter, columns, first rows.

    Raises EmptyFile, NotASpreadsheet, FileTooLarge or TooManyColumns (for the header row).
    """
    with own_cache(cache) as cache:
        opened = prepare(source, file_name, cache)
        header_row, headers, preview = header(opened)
    looks_like_data = False
    if guess_mapping(headers)["phone"] is None:
        for h in headers:
            try:
                phones.normalize(h, "US")
                looks_like_data = True
                break
            except phones.InvalidPhone:
                continue
    return FileInfo(
        name=opened.name,
        size=opened.size,
        file_hash=opened.file_hash,
        kind=opened.kind,
        encoding=opened.label,
        delimiter=opened.delimiter,
        headers=headers,
        preview=preview,
        header_row=header_row,
        header_looks_like_data=looks_like_data,
    )


def read(
    source: Source, *, file_name: Optional[str] = None, cache: Optional[ImportCache] = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {header: value}) for every data row; blank rows are skipped. For tests and tools."""
    with own_cache(cache) as cache:
        opened = prepare(source, file_name, cache)
        yield from _rows(opened)


def _rows(opened: Opened) -> Iterator[tuple[int, dict[str, str]]]:
    with opened.text() as t:
        headers: Optional[list[str]] = None
        for n, rec in records(opened, t):
            if rec is None:
                continue
            if headers is None:
                headers = unique_headers(rec)
                continue
            yield n, {h: (rec[i] if i < len(rec) else "") for i, h in enumerate(headers)}


@contextmanager
def own_cache(cache: Optional[ImportCache]) -> Iterator[ImportCache]:
    """The caller's cache, or one for this call only (its workbook copy deleted at the end)."""
    if cache is not None:
        yield cache
    else:
        with ImportCache() as mine:
            yield mine
