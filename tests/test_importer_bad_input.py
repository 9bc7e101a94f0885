"""Bad input (issue 6): a clear, named error and nothing written."""

from __future__ import annotations

import io
import os

import pytest

import tempfile
from core.importing import service
from core.importing.report import (
    EmptyFile,
    FileTooLarge,
    ImportProblem,
    MappingProblem,
    NoPhoneColumn,
    NoValidPhones,
    NotASpreadsheet,
    TooManyColumns,
)
from core.importing.reading import sniff
from core.importing.service import import_csv
from tests.conftest import NOW
from tests.import_helpers import counts, fixture, write_csv

NOTHING = {"customers": 0, "events": 0, "messages": 0, "runs": 0, "pos_contacts": 0}


@pytest.mark.parametrize(
    "name, error, words",
    [
        ("empty.csv", EmptyFile, "empty.csv is empty"),
        ("whitespace_only.csv", EmptyFile, "has no rows"),
        ("header_only.csv", EmptyFile, "column names but no customer rows"),
        ("no_phone_column.csv", NoPhoneColumn, "No phone column"),
        ("headerless.csv", NoPhoneColumn, "No phone column"),
        ("binary.csv", NotASpreadsheet, "a PNG image, not a spreadsheet"),
        ("random_bytes.csv", NotASpreadsheet, "binary data"),
        ("fake.xlsx", NotASpreadsheet, "not a real Excel workbook"),
        ("old.xls", NotASpreadsheet, "old Excel .xls file"),
        ("wide_header.csv", TooManyColumns, "has 10,001 columns"),
    ],
)
def test_a_file_that_cannot_be_imported_says_why_and_writes_nothing(session, name, error, words):
    with pytest.raises(error, match=words):
        import_csv(session, fixture(name), attested=True, now=NOW)
    session.rollback()
    assert counts(session) == NOTHING
    with pytest.raises(ImportProblem):
        service.dry_run(session, fixture(name), attested=True)


def test_every_import_problem_is_a_value_error_with_a_sentence():
    for cls in (EmptyFile, NotASpreadsheet, FileTooLarge, TooManyColumns, NoPhoneColumn, MappingProblem, NoValidPhones):
        assert issubclass(cls, ImportProblem) and issubclass(cls, ValueError)


def test_a_300_mb_file_is_refused_before_it_is_read(session, tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.write(b"phone\n415-555-0101\n")
        f.truncate(300 * 1024 * 1024)  # sparse: takes no disk
    with pytest.raises(FileTooLarge, match=r"300 MB; the import takes files up to 200 MB"):
        import_csv(session, path, attested=False, now=NOW)
    assert counts(session) == NOTHING


def test_a_large_upload_is_refused_by_its_size(session):
    class Upload(io.BytesIO):
        size = 300 * 1024 * 1024

    with pytest.raises(FileTooLarge):
        sniff(Upload(b"phone\n"), file_name="big.csv")


def test_the_no_phone_column_message_lists_the_columns(session):
    with pytest.raises(NoPhoneColumn) as exc:
        import_csv(session, fixture("no_phone_column.csv"), attested=False, now=NOW)
    assert "first_name, last_name, email" in str(exc.value)
    assert "Choose the phone column" in str(exc.value)


@pytest.mark.parametrize(
    "mapping, words",
    [
        ({"phone": "Mobile"}, "'Mobile' chosen for Phone is not in"),
        ({"phone": "phone", "first_name": "phone"}, "chosen for both Phone and First name"),
        ({"telephone": "phone"}, "Unknown field"),
    ],
)
def test_a_wrong_mapping_is_named(session, tmp_path, mapping, words):
    path = write_csv(tmp_path, "m.csv", ["phone,first_name", "415-555-0101,Ann"])
    with pytest.raises(MappingProblem, match=words):
        import_csv(session, path, attested=False, now=NOW, mapping=mapping)
    assert counts(session) == NOTHING


def test_an_unknown_region_is_refused(session):
    with pytest.raises(MappingProblem, match="not a country code"):
        import_csv(session, fixture("utf8.csv"), attested=False, default_region="XX", now=NOW)


def test_a_row_with_10000_columns_is_reported_as_a_bad_row_and_the_others_import(session):
    report = import_csv(session, fixture("wide_row.csv"), attested=False, now=NOW)
    assert report.created == 2
    assert [(e.row, e.reason[:31]) for e in report.invalid] == [(3, "this row has 10,000 columns; a ")]


def test_no_temporary_file_is_left_behind_by_a_bad_workbook(tmp_path):
    before = set(os.listdir(tempfile.gettempdir()))
    with pytest.raises(NotASpreadsheet):
        sniff(io.BytesIO(b"PK\x03\x04not really a zip"), file_name="x.xlsx")
    after = {f for f in os.listdir(tempfile.gettempdir()) if f.startswith("optin-import-")}
    assert after <= before
