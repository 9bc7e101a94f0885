"""Reading real-world customer files (issue 6): every case is a small file in tests/fixtures/import/."""

from __future__ import annotations

import io
import random

import pytest

from core.importing import phone_cells
from core import phones
from core.importing.mapping import guess_mapping
from core.importing.reading import read, sniff
from tests.import_helpers import fixture


def rows(name: str) -> list[tuple[int, dict[str, str]]]:
    return list(read(fixture(name)))


def test_a_utf8_file_keeps_accented_names():
    info = sniff(fixture("utf8.csv"))
    assert info.encoding == "UTF-8"
    assert info.delimiter == ","
    assert rows("utf8.csv")[0][1]["first_name"] == "José"


def test_a_byte_order_mark_does_not_stick_to_the_first_column_name():
    info = sniff(fixture("utf8_bom.csv"))
    assert info.headers[0] == "phone"
    assert info.encoding == "UTF-8 (with BOM)"
    assert guess_mapping(info.headers)["phone"] == "phone"


def test_a_windows_1252_file_reads_curly_apostrophes_and_the_euro_sign():
    info = sniff(fixture("cp1252.csv"))
    assert info.encoding == "Windows-1252"
    got = rows("cp1252.csv")
    assert got[0][1]["Last Name"] == "O’Brien"
    assert got[0][1]["Notes"] == "paid 5€"
    assert got[2][1]["Last Name"] == "Ørsted"


def test_excel_unicode_text_utf16_with_tabs_is_read():
    info = sniff(fixture("utf16.txt"))
    assert (info.encoding, info.delimiter) == ("UTF-16", "\t")
    assert rows("utf16.txt")[1][1]["Name"] == "Søren Kierkegaard"


@pytest.mark.parametrize("name, delimiter", [("semicolon.csv", ";"), ("tab.csv", "\t"), ("crlf.csv", ",")])
def test_the_delimiter_is_found(name, delimiter):
    assert sniff(fixture(name)).delimiter == delimiter


def test_a_semicolon_file_keeps_commas_inside_values():
    assert rows("semicolon.csv")[0][1]["Last name"] == "Groß, Jr."


def test_quoted_fields_keep_their_newlines_commas_and_quotes():
    got = rows("quoted_newlines.csv")
    assert [n for n, _ in got] == [2, 3]  # the quoted newline does not make a new row
    assert got[0][1]["notes"] == "line one\nline two, with a comma"
    assert got[0][1]["first_name"] == "Mary, Jr."
    assert got[0][1]["last_name"] == 'O"Neil'
    assert got[1][1]["notes"] == 'said "hi"'


def test_blank_lines_are_skipped_and_row_numbers_are_the_spreadsheets():
    info = sniff(fixture("blank_lines.csv"))
    assert info.header_row == 2
    got = rows("blank_lines.csv")
    assert [(n, r["first_name"]) for n, r in got] == [(4, "Ann"), (7, "Bob")]


def test_column_names_in_any_case_and_spacing_are_recognised():
    info = sniff(fixture("odd_headers.csv"))
    mapping = guess_mapping(info.headers)
    assert mapping == {
        "phone": "MOBILE  number",
        "first_name": "first_NAME",
        "last_name": "Last-Name",
        "full_name": None,
        "email": "E-Mail",
        "opt_in": "SMS_Opt_In",
        "opt_out": "Do Not Text",
        "consented_at": None,
        "consent_source": None,  # the old provider's date and source (§11): not in this file
    }


@pytest.mark.parametrize(
    "headers, field, expected",
    [
        (["Phone", "Mobile"], "phone", "Mobile"),
        (["Home Phone", "Email"], "phone", "Home Phone"),
        (["SMS", "Name"], "phone", "SMS"),
        (["Cell", "SMS Opt-In Status"], "opt_in", "SMS Opt-In Status"),
        (["Phone Number", "Accepts SMS Marketing"], "opt_in", "Accepts SMS Marketing"),
        (["phone", "status"], "opt_in", "status"),
        (["phone", "Opted Out"], "opt_out", "Opted Out"),
        (["phone", "Full Name"], "full_name", "Full Name"),
        (["Phone Type", "Phone"], "phone", "Phone"),
    ],
)
def test_guess_mapping_uses_the_rulebook_names(headers, field, expected):
    assert guess_mapping(headers)[field] == expected


def test_an_xlsx_workbook_is_read_from_its_first_sheet():
    info = sniff(fixture("customers.xlsx"))
    assert info.kind == "xlsx"
    got = rows("customers.xlsx")
    assert [n for n, _ in got] == [2, 3, 5, 6, 7]  # row 4 is empty in the sheet
    assert got[0][1]["Mobile Phone"] == "4155550221"
    assert got[1][1]["Mobile Phone"] == "4155550222"  # a float cell
    assert got[0][1]["SMS Opt-In"] == "true"


def test_sniff_shows_columns_and_the_first_rows():
    info = sniff(fixture("utf8.csv"))
    assert info.headers == ["phone", "first_name", "last_name", "email", "sms_opt_in"]
    assert info.preview[0][:2] == ["(415) 555-0101", "José"]
    assert info.name == "utf8.csv" and info.size > 0 and len(info.file_hash) == 64


def test_an_upload_is_read_like_a_file_on_disk():
    data = fixture("utf8.csv").read_bytes()
    upload = io.BytesIO(data)
    info = sniff(upload, file_name="list.csv")
    assert info.name == "list.csv"
    assert info.file_hash == sniff(fixture("utf8.csv")).file_hash
    assert len(list(read(io.BytesIO(data)))) == 3


def test_a_headerless_file_is_recognised_as_data_in_the_header_row():
    info = sniff(fixture("headerless.csv"))
    assert info.header_looks_like_data
    assert guess_mapping(info.headers)["phone"] is None


# --- phones: the fast path must say exactly what phones.normalize says --------------------------------------------


def _spellings(rng: random.Random, digits: str) -> list[str]:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return [
        f"({a}) {b}-{c}",
        f"{a}-{b}-{c}",
        f"{a}.{b}.{c}",
        digits,
        f"1{digits}",
        f"+1{digits}",
        f"+1 {a} {b} {c}",
        f"1-{a}-{b}-{c}",
        f"+1-{a}-{b}-{c}",
        f"1 ({a}) {b}-{c}",
        f"+1 ({a}) {b}-{c}",
        f"{digits}.0",
        f"1{digits}.0",
        f"1.{digits}E+10",
        f"1.{digits}e10",
        f"{digits[0]}.{digits[1:]}E+9",
        f"'{digits}",
        f"' {a}-{b}-{c}",
        f"  {a} {b} {c}  ",
        f"{a}-{b}-{c} x{rng.randint(1, 9999)}",
        f"{a}-{b}-{c} ext. {rng.randint(1, 99)}",
        f"({a}) {b}-{c} #12",
        f"{a}.{b}.{c} extension 4",
        f"{digits}x7",
        f"{a}{b}-{c}",
        f"({a}){b}-{c}",
        f"{a} {b}{c}",
        f"{a}-{b}-{c[:3]}",
        f"{a}-{b}-{c}9",
        f"+2{digits}",
        f"+{digits}",
        f"11{digits}",
        f"{digits}.5",
        f"1.{digits[:5]}E+10",
        f"{a}/{b}/{c}",
        f"({a} {b}-{c}",
        f"{a}) {b}-{c}",
        f"{a}--{b}-{c}",
        f"{a}-{b}-{c} ext",
        f"{a}-{b}-{c} x",
    ]


@pytest.mark.parametrize("region", ["US", "CA", "GB"])
def test_the_us_fast_path_agrees_with_phones_normalize(region):
    rng = random.Random(6)
    area = ["201", "212", "415", "305", "011", "123", "555", "800", "900", "911", "264", "684", "787"]
    nanp = phones.phonenumbers.country_code_for_region(region) == 1
    checked = 0
    for _ in range(120):
        digits = rng.choice(area) + f"{rng.randint(0, 999):03d}" + f"{rng.randint(0, 9999):04d}"
        for raw in _spellings(rng, digits):
            cand = phone_cells.nanp_candidate(raw, nanp)
            if not cand:
                continue
            checked += 1
            try:
                want = phones.normalize(raw, region)
            except phones.InvalidPhone as exc:
                want = "invalid: " + exc.reason
            if phone_cells.nanp_valid(cand):
                got = "+" + str(cand)
            else:
                try:
                    got = phones.normalize("+" + str(cand), region)
                except phones.InvalidPhone as exc:
                    got = "invalid: " + exc.reason
                assert not got.startswith("+"), raw
            assert got == want, raw
    assert checked > (1000 if nanp else 200)


def test_the_fast_path_leaves_other_spellings_to_phonenumbers():
    for raw in [
        "+44 20 7946 0958",
        "555-0123",
        "1.41556E+10",
        "abc",
        "",
        "4155550123.5",
        "+2 415 555 0123",
        "٤١٥٥٥٥٠١٢٣",
    ]:
        assert phone_cells.nanp_candidate(raw, True) == 0, raw


def test_the_us_first_validity_check_agrees_with_phonenumbers():
    rng = random.Random(7)
    for _ in range(20_000):
        digits = f"{rng.randint(200, 999)}{rng.randint(0, 999):03d}{rng.randint(0, 9999):04d}"
        number = phones.phonenumbers.parse("+1" + digits, None)
        assert phone_cells.nanp_valid(int("1" + digits)) == phones.phonenumbers.is_valid_number(number), digits
