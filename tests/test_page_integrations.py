"""AppTest: Settings > Integrations — POS sources, the date setting (with the help article's label), a sync."""

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from core.importing import pos
from core.models import Customer, ImportRun, Message, PosSource, SmsStatus
from core.reports import period
from tests.factories import make_customer

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "integrations.py")
LABEL = "Send an SMS double opt-in request if a contact with a phone number is synced from this source after:"
EXPORT = b"Mobile,First Name,Accepts SMS Marketing\n415-555-0101,Ann,yes\n415-555-0102,Bob,\nnope,Cy,\n"


@pytest.fixture
def at(app_db):
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["owner_signed_in"] = True
    app.run()
    assert not app.exception
    return app


def with_source(app_db, **kw):
    with Session(app_db) as s:
        src = PosSource(name="Dutchie", **kw)
        s.add(src)
        s.commit()
        return src.id


def test_signed_out_the_page_shows_nothing_but_sign_in(app_db):
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.run()
    assert [e.value for e in app.error] == ["Sign in to see this page."]


def test_without_sources_the_page_says_what_to_do(at):
    assert at.title[0].value == "Integrations"
    assert "No POS source yet" in at.info[0].value


def test_a_source_is_added(at, app_db):
    at.text_input(key="pos_new_name").input("Dutchie")
    at.button(key="pos_add").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Added Dutchie")
    with Session(app_db) as s:
        assert s.exec(select(PosSource.name)).all() == ["Dutchie"]
    at.text_input(key="pos_new_name").input("dutchie")
    at.button(key="pos_add").click().run()
    assert "already a POS source named dutchie" in at.error[0].value


def test_the_date_setting_uses_the_help_articles_label_and_saves(at, app_db):
    sid = with_source(app_db)
    at.run()
    date = at.date_input(key=f"pos_date_{sid}")
    assert date.label == LABEL
    assert date.value is None
    assert "**Off**" in at.caption[1].value or any("**Off**" in c.value for c in at.caption)
    date.set_value(dt.date(2026, 1, 1)).run()
    at.button(key=f"pos_date_save_{sid}").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Saved: Dutchie asks contacts synced after 1 Jan 2026")
    with Session(app_db) as s:
        assert s.get(PosSource, sid).request_after == dt.date(2026, 1, 1)
    at.button(key=f"pos_date_off_{sid}").click().run()
    with Session(app_db) as s:
        assert s.get(PosSource, sid).request_after is None


def test_a_sync_shows_its_results_with_requests_sent_and_refused(at, app_db):
    sid = with_source(app_db, request_after=dt.date(2020, 1, 1), request_round=1)
    with Session(app_db) as s:
        c = make_customer(s, status=SmsStatus.pending, phone_number="+14155550102")
        c.opt_in_requests = 2
        s.add(c)
        s.commit()
    at.run()
    assert at.button(key=f"pos_sync_{sid}").disabled
    at.file_uploader(key=f"pos_file_{sid}").set_value(("dutchie.csv", EXPORT, "text/csv"))
    at.run()
    at.button(key=f"pos_sync_{sid}").click().run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert (shown["New customers"], shown["Rows not imported"]) == ("1", "1")
    assert shown["Requests sent"] == "1" or shown["Queued for quiet hours"] == "1"
    assert shown["Refused"] == "1"
    reasons = [d.value for d in at.dataframe if "Refused because" in d.value.columns][0]
    assert list(reasons["Refused because"]) == ["Request limit reached: 2 opt-in requests already sent to this phone"]
    with Session(app_db) as s:
        assert s.exec(select(Customer).where(Customer.phone == "+14155550101")).one().sms_status in (SmsStatus.pending,)
        assert len(s.exec(select(Message)).all()) == 2
    table = [d.value for d in at.dataframe if "Contacts synced" in d.value.columns][0]
    assert list(table["Contacts synced"]) == [2]


def test_a_bad_export_gets_a_clear_message(at, app_db):
    sid = with_source(app_db)
    at.run()
    at.file_uploader(key=f"pos_file_{sid}").set_value(("export.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "text/csv"))
    at.run()
    at.button(key=f"pos_sync_{sid}").click().run()
    assert not at.exception
    assert "not a spreadsheet" in at.error[0].value


def test_a_source_is_deleted_after_confirmation(at, app_db):
    sid = with_source(app_db)
    at.run()
    at.button(key=f"pos_delete_{sid}").click().run()
    assert "Its list of synced contacts goes" in at.warning[0].value
    at.button(key=f"pos_delete_yes_{sid}").click().run()
    with Session(app_db) as s:
        assert s.exec(select(PosSource)).all() == []
    assert pos.LABEL == LABEL


def open_page() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["owner_signed_in"] = True
    app.run()
    assert not app.exception
    return app


def test_a_pos_export_without_a_phone_column_says_what_to_do_on_this_page_and_writes_nothing(app_db):
    sid = with_source(app_db)
    at = open_page()
    at.file_uploader(key=f"pos_file_{sid}").set_value(("export.csv", b"name,email\nAnn,a@x.com\n", "text/csv"))
    at.run()
    at.button(key=f"pos_sync_{sid}").click().run()
    assert not at.exception
    msg = at.error[0].value
    assert msg.startswith("No phone column in export.csv.")
    assert "mapping" not in msg and "Rename the phone column" in msg and "Nothing was saved" in msg
    with Session(app_db) as s:
        assert s.exec(select(func.count()).select_from(Customer)).one() == 0
        assert s.exec(select(func.count()).select_from(ImportRun)).one() == 0
        assert s.get(PosSource, sid).last_sync_at is None


def test_a_date_that_has_not_started_in_the_shops_time_zone_is_pointed_out(app_db):
    with Session(app_db) as s:
        today = period.local_today(s)
    sid = with_source(app_db, request_after=today + dt.timedelta(days=1), request_round=1)
    assert any("has not started yet in your shop's time zone" in w.value for w in open_page().warning)
    with Session(app_db) as s:
        s.get(PosSource, sid).request_after = today
        s.commit()
    assert not any("has not started yet" in w.value for w in open_page().warning)
