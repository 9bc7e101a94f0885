"""Hostile and odd files (issue 11): a too-wide row is one bad row, a zip bomb is refused before it
is expanded, a UTF-16 file without a byte-order mark is read (or named accurately)."""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile

import pytest

from core.importing import limits, service
from core.importing.report import FileTooLarge, NotASpreadsheet, TooManyColumns
from core.importing.reading import sniff
from core.importing.service import import_csv
from tests.conftest import NOW
from tests.import_helpers import counts, status_of, write_csv

NOTHING = {"customers": 0, "events": 0, "messages": 0, "runs": 0, "pos_contacts": 0}


# --- a row with 10,001 columns -------------------------------------------------------------------------------------


def test_a_row_with_10001_columns_is_a_bad_row_and_the_rest_of_the_file_imports(session, tmp_path):
    lines = (
        ["phone,first_name"]
        + [f"415-555-{1000 + i},N{i}" for i in range(50)]
        + [",".join(["415-555-0999"] + ["x"] * 10_000)]
        + ["415-555-1050,Last"]
    )
    report = import_csv(session, write_csv(tmp_path, "wide.csv", lines), attested=False, now=NOW)
    assert report.created == 51
    [bad] = report.invalid
    assert bad.row == 52
    assert "10,001 columns" in bad.reason and "at most 1,000" in bad.reason
    assert status_of(session, "+14155550999") is None
    assert status_of(session, "+14155551050") == "not_opted_in"


def test_a_header_with_10001_columns_still_refuses_the_file(session, tmp_path):
    path = write_csv(
        tmp_path, "wide_header.csv", ["phone," + ",".join(f"h{i}" for i in range(10_000)), "415-555-0611,Ann"]
    )
    with pytest.raises(TooManyColumns, match="Row 1 has 10,001 columns"):
        import_csv(session, path, attested=False, now=NOW)
    assert counts(session) == NOTHING


def test_a_dry_run_and_the_preview_skip_a_wide_row(session, tmp_path):
    lines = ["phone,first_name", ",".join(["x"] * 10_001), "415-555-0101,Ann"]
    path = write_csv(tmp_path, "wide2.csv", lines)
    assert sniff(path).preview == [["415-555-0101", "Ann"]]
    report = service.dry_run(session, path, attested=False)
    assert [e.row for e in report.invalid] == [2] and report.created == 1


# --- zip bombs -----------------------------------------------------------------------------------------------------


def _workbook(rows: int = 3, cols: int = 2) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["phone", "first_name"][:cols] + [f"c{i}" for i in range(cols - 2)])
    for i in range(rows):
        ws.append([f"415-555-{1000 + i}", f"N{i}"][:cols] + ["v"] * (cols - 2))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rewrite(xlsx: bytes, change) -> bytes:
    """The workbook with each part's bytes passed through change(name, data)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info.filename)))
    return out.getvalue()


def _never_loaded(monkeypatch):
    import openpyxl

    def boom(*a, **k):
        raise AssertionError("openpyxl must not read a workbook that expands past the limits")

    monkeypatch.setattr(openpyxl, "load_workbook", boom)


def test_a_sheet_declaring_2000000_rows_is_refused_with_a_clear_message(session, tmp_path):
    def declare(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:B2000000"/>', data)
        return data

    xlsx = _rewrite(_workbook(), declare)
    assert b"2000000" in zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml")
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(xlsx)
    with pytest.raises(FileTooLarge, match=r"bomb.xlsx expands to 2,000,000 rows.*at most 1,048,576 rows"):
        import_csv(session, path, attested=False, now=NOW)
    assert counts(session) == NOTHING


def test_a_huge_shared_strings_part_is_refused_before_openpyxl_reads_it(session, tmp_path, monkeypatch):
    # a 300 MB shared-strings part compresses to a few hundred KB: a zip bomb
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_workbook())) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        with dst.open("xl/sharedStrings.xml", "w") as part:
            chunk = b"<si><t>x</t></si>" * 65536
            for _ in range(300 * 1024 * 1024 // len(chunk)):
                part.write(chunk)
    path = tmp_path / "strings.xlsx"
    path.write_bytes(bomb.getvalue())
    assert path.stat().st_size < 5 * 1024 * 1024
    _never_loaded(monkeypatch)
    with pytest.raises(FileTooLarge, match=r"expands to 300 MB in its part xl/sharedStrings.xml"):
        sniff(path)
    with pytest.raises(FileTooLarge):
        import_csv(session, path, attested=False, now=NOW)
    assert counts(session) == NOTHING


def test_a_workbook_expanding_past_the_total_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_XLSX_TOTAL_BYTES", 4096)
    path = tmp_path / "big.xlsx"
    path.write_bytes(_workbook(rows=200))
    _never_loaded(monkeypatch)
    with pytest.raises(FileTooLarge, match="big.xlsx expands to"):
        sniff(path)


def test_rows_and_cells_are_capped_while_reading_whatever_the_sheet_declares(tmp_path, monkeypatch):
    def undeclare(name, data):  # no <dimension>: the size is only known by reading
        return re.sub(rb'<dimension ref="[^"]*" ?/>', b"", data) if name.endswith("sheet1.xml") else data

    path = tmp_path / "rows.xlsx"
    path.write_bytes(_rewrite(_workbook(rows=200), undeclare))
    before = _workbook_copies()
    monkeypatch.setattr(limits, "MAX_XLSX_ROWS", 100)
    with pytest.raises(FileTooLarge, match="more than 100 rows"):
        sniff(path)
    monkeypatch.setattr(limits, "MAX_XLSX_ROWS", 1_048_576)
    monkeypatch.setattr(limits, "MAX_XLSX_CELLS", 150)
    with pytest.raises(FileTooLarge, match="more than 150 cells"):
        sniff(path)
    assert _workbook_copies() <= before  # no temporary CSV left behind by a refused workbook


def _workbook_copies() -> set[str]:
    return {f for f in os.listdir(tempfile.gettempdir()) if f.startswith("optin-import-")}


def test_a_normal_workbook_still_imports(session, tmp_path):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(_workbook(rows=3))
    assert import_csv(session, path, attested=False, now=NOW).created == 3


# --- UTF-16 without a byte-order mark ------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_utf16_file_without_a_byte_order_mark_is_read_correctly(session, tmp_path, codec):
    text = "Phone,First Name,Last Name\r\n415-555-0101,Zoë,Ng\r\n415-555-0102,José,Núñez\r\n"
    path = tmp_path / "u16.csv"
    path.write_bytes(text.encode(codec))
    info = sniff(path)
    assert info.headers == ["Phone", "First Name", "Last Name"]
    assert "UTF-16" in info.encoding
    report = import_csv(session, path, attested=False, now=NOW)
    assert report.created == 2 and report.invalid == []
    from core.consent.customers import get_by_phone

    assert get_by_phone(session, "+14155550102").last_name == "Núñez"


def test_a_broken_utf16_file_without_a_byte_order_mark_gets_an_accurate_message(session, tmp_path):
    path = tmp_path / "u16bad.csv"
    path.write_bytes("Phone,First Name\r\n415-555-0101,Ann\r\n".encode("utf-16-le") + b"\x00\xd8A\x00")
    with pytest.raises(NotASpreadsheet, match="looks like UTF-16 without a byte-order mark.*UTF-8 CSV"):
        import_csv(session, path, attested=False, now=NOW)
    assert counts(session) == NOTHING
