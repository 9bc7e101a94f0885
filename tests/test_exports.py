"""The one CSV writer every download uses: formula-safe cells, tel: phones, a BOM once, CRLF lines."""

import csv
import datetime as dt
import io

import pytest

from core import exports


@pytest.mark.parametrize(
    "raw,safe",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ann", "Ann"),
        ("", ""),
        (None, ""),
        ("a=b", "a=b"),
        (42, "42"),
    ],
)
def test_safe_cell_follows_owasp(raw, safe):
    assert exports.safe_cell(raw) == safe


def test_a_phone_is_a_tel_uri_a_spreadsheet_keeps_as_text():
    assert exports.phone_cell("+14158675309") == "tel:+14158675309"
    assert exports.phone_cell("") == ""


def test_a_file_streamed_in_chunks_has_one_bom_crlf_lines_and_every_row_once():
    rows = [(i, f"José {i}") for i in range(25)]
    chunks = list(exports.csv_chunks(("n", "name"), rows, rows_per_chunk=10))
    assert len(chunks) == 3
    data = b"".join(chunks)
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert list(csv.reader(io.StringIO(text)))[1:] == [[str(i), f"José {i}"] for i in range(25)]


def test_a_file_with_no_rows_is_its_header():
    assert exports.csv_bytes(("phone", "name"), []) == b"\xef\xbb\xbfphone,name\r\n"


def test_a_chart_table_keeps_numbers_and_days_and_makes_text_safe():
    table = [
        {"day": dt.date(2026, 11, 30), "source": "=cmd", "opt_ins": 3, "share": 0.5},
        {"day": dt.datetime(2026, 12, 1), "source": "Text To Join", "opt_ins": 0, "share": None},
    ]
    rows = list(csv.reader(io.StringIO(exports.table_csv(table).decode("utf-8-sig"))))
    assert rows == [
        ["day", "source", "opt_ins", "share"],
        ["2026-11-30", "'=cmd", "3", "0.5"],
        ["2026-12-01", "Text To Join", "0", ""],
    ]
