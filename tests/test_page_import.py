"""AppTest: Settings > Import — upload a file, check it (dry run), import it, see the report and the history."""

from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.importing import service
from core.models import Customer, ImportRun, SmsStatus
from tests.factories import make_customer
from tests.import_helpers import fixture

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "import_customers.py")


@pytest.fixture
def at(app_db):
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["owner_signed_in"] = True
    app.run()
    assert not app.exception
    return app


def upload(app, name, data=None, mime="text/csv"):
    app.file_uploader(key="import_file").set_value(
        (name, data if data is not None else fixture(name).read_bytes(), mime)
    )
    app.run()
    assert not app.exception
    return app


def metrics(app) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_signed_out_the_page_shows_nothing_but_sign_in(app_db):
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.run()
    assert [e.value for e in app.error] == ["Sign in to see this page."]


def test_before_a_file_is_chosen_the_page_explains_what_it_reads(at):
    assert at.title[0].value == "Import"
    assert "columns named **Phone**" in at.info[0].value
    assert at.file_uploader(key="import_file").label == "Customer file (CSV or Excel .xlsx)"


def test_an_upload_shows_the_file_its_columns_and_the_consent_choices(at, app_db):
    upload(at, "bad_rows.csv")
    assert "**bad\\_rows.csv**" in at.markdown[0].value or "bad_rows.csv" in at.markdown[0].value
    assert at.selectbox(key="import_map_phone").value == "phone"
    assert at.selectbox(key="import_map_opt_in").value == "sms_opt_in"
    assert at.selectbox(key="import_map_last_name").value == "— not in this file —"
    assert (
        at.checkbox(key="import_attested").label == "These customers agreed to receive marketing texts from "
        "Green Leaf Goods"
    )
    # an import never sends a text (§11): no option to, and the page says so
    assert not [c for c in at.checkbox if c.key == "import_send_requests"]
    assert any("An import never sends a text" in c.value for c in at.caption)
    assert at.selectbox(key="import_region").value == "US"


def test_check_then_import_then_history(at, app_db):
    with Session(app_db) as s:
        make_customer(s, status=SmsStatus.opted_out, phone_number="+14155550701")
    upload(at, "bad_rows.csv")
    at.checkbox(key="import_attested").check().run()
    at.button(key="import_check").click().run()
    assert not at.exception
    m = metrics(at)
    assert (m["New customers"], m["Unchanged"], m["Rows not imported"], m["Kept opted out"]) == ("3", "0", "4", "1")
    with Session(app_db) as s:
        assert len(s.exec(select(Customer)).all()) == 1  # the check wrote nothing
    assert at.button(key="import_go").label == "Import 4 customers"
    assert at.download_button(key="import_dry_download").label == "Download these rows (CSV)"

    at.button(key="import_go").click().run()
    assert not at.exception
    assert at.success[0].value.startswith(r"Imported bad\_rows.csv: 3 new, 1 updated, 0 unchanged")  # plain text
    with Session(app_db) as s:
        assert len(s.exec(select(Customer)).all()) == 4
        assert s.exec(select(Customer).where(Customer.phone == "+14155550701")).one().sms_status is SmsStatus.opted_out
        run = s.exec(select(ImportRun)).one()
        assert run.attested and run.counts["kept_opted_out"] == 1
    history = [d.value for d in at.dataframe if "Who" in d.value.columns][0]
    assert list(history["File"]) == ["bad_rows.csv"] and list(history["Not imported"]) == [4]
    assert at.selectbox(key="import_history_run").value.file_name == "bad_rows.csv"


def test_changing_a_setting_after_the_check_asks_for_a_new_check(at):
    upload(at, "merge.csv")
    at.button(key="import_check").click().run()
    assert at.button(key="import_go")
    at.checkbox(key="import_attested").check().run()
    assert "check the file again" in at.info[0].value
    assert not [b for b in at.button if b.key == "import_go"]


def test_the_mapping_can_be_corrected_before_the_check(at):
    data = b"Telefon,Vorname\n415-555-0821,J\xc3\xbcrgen\n"
    upload(at, "custom.csv", data)
    assert at.selectbox(key="import_map_phone").value == "— not in this file —"
    assert "Choose the column that holds phone numbers." in [e.value for e in at.error]
    at.selectbox(key="import_map_phone").set_value("Telefon").run()
    at.selectbox(key="import_map_first_name").set_value("Vorname").run()
    at.button(key="import_check").click().run()
    assert metrics(at)["New customers"] == "1"


@pytest.mark.parametrize(
    "name, words",
    [
        ("binary.csv", "a PNG image, not a spreadsheet"),
        ("empty.csv", "is empty"),
        ("wide_header.csv", "10,001 columns"),
    ],
)
def test_a_bad_file_gets_a_clear_message_and_no_traceback(at, name, words):
    upload(at, name)
    assert words in at.error[0].value
    assert not at.exception


def test_a_workbook_imports(at, app_db):
    upload(at, "customers.xlsx", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "Excel workbook" in at.markdown[0].value
    at.button(key="import_check").click().run()
    assert metrics(at)["New customers"] == "4"
    at.button(key="import_go").click().run()
    with Session(app_db) as s:
        assert len(s.exec(select(Customer)).all()) == 4


def test_an_import_that_breaks_off_says_what_to_do_without_a_traceback(at, monkeypatch):
    upload(at, "merge.csv")
    at.button(key="import_check").click().run()

    def broken(*args, **kwargs):
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(service, "import_csv", broken)
    at.button(key="import_go").click().run()
    assert not at.exception
    assert "finishes where it stopped when you import the same file again" in at.error[0].value


def test_a_small_file_shows_its_size_in_bytes_not_0_kb(at):
    upload(at, "tiny.csv", b"phone,name\n4155550101,Ann\n")
    line = "\n".join(m.value for m in at.markdown)
    assert "26 bytes" in line and "0 KB" not in line
