"""Review polish: clear messages on Inbox, Import and Integrations for input a shop owner gets wrong."""

import datetime as dt
from pathlib import Path

from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from core.reports import reports
from core.models import Customer, ImportRun, Message, PosSource

PAGES = Path(__file__).resolve().parent.parent / "pages"


def app(page, **state):
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state["owner_signed_in"] = True
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception
    return at


def test_a_phone_that_is_not_a_phone_is_named_once_and_the_typed_text_is_kept(app_db):
    at = app("inbox.py", inbox_mode="phone")
    at.text_input(key="inbox_phone").set_value("hello there").run()
    at.text_input(key="inbox_message").set_value("YES")
    at.button(key="inbox_send").click().run()
    assert not at.exception
    msg = at.error[0].value
    assert msg.startswith("That is not a phone number: “hello there”.")
    assert "not a phone number: not a phone number" not in msg
    at.text_input(key="inbox_phone").set_value("123").run()
    at.button(key="inbox_send").click().run()
    assert at.error[0].value.startswith("That is not a phone number (too few digits): “123”.")
    assert at.text_input(key="inbox_message").value == "YES"  # nothing lost
    with Session(app_db) as s:
        assert s.exec(select(func.count()).select_from(Message)).one() == 0


def test_a_small_file_shows_its_size_in_bytes_not_0_kb(app_db):
    at = app("import_customers.py")
    at.file_uploader(key="import_file").set_value(("tiny.csv", b"phone,name\n4155550101,Ann\n", "text/csv"))
    at.run()
    assert not at.exception
    line = "\n".join(m.value for m in at.markdown)
    assert "26 bytes" in line and "0 KB" not in line


def _source(app_db, **kw) -> int:
    with Session(app_db) as s:
        src = PosSource(name="Dutchie", **kw)
        s.add(src)
        s.commit()
        return src.id


def test_a_pos_export_without_a_phone_column_says_what_to_do_on_this_page_and_writes_nothing(app_db):
    sid = _source(app_db)
    at = app("integrations.py")
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
        today = reports.local_today(s)
    sid = _source(app_db, request_after=today + dt.timedelta(days=1), request_round=1)
    at = app("integrations.py")
    assert any("has not started yet in your shop's time zone" in w.value for w in at.warning)
    with Session(app_db) as s:
        s.get(PosSource, sid).request_after = today
        s.commit()
    at = app("integrations.py")
    assert not any("has not started yet" in w.value for w in at.warning)
