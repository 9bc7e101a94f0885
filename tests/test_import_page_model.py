"""core/importing/page_model: what the Import and Integrations pages show, worded in core (history a page at a
time with the one pager, times in the shop's zone, rows not imported)."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.importing import page_model
from core.models import ImportRun

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "import_customers.py")
LA = "America/Los_Angeles"


def add_runs(session, n, origin="csv_import"):
    for i in range(n):
        session.add(
            ImportRun(
                file_name=f"list-{i:02d}.csv",
                origin=origin,
                counts={"created": i},
                started_at=dt.datetime(2026, 12, 1, 17, 0) + dt.timedelta(minutes=i),
                finished_at=dt.datetime(2026, 12, 1, 17, 1),
            )
        )
    session.commit()


def test_the_history_pages_newest_first_without_repeating_or_skipping_a_run(session):
    add_runs(session, 25)
    add_runs(session, 3, origin="pos_sync")  # POS syncs are listed on Integrations, not here
    first = page_model.history_page(session)
    assert first.total == 25 and len(first.runs) == 20 and first.next_after is not None
    assert first.runs[0].file_name == "list-24.csv"
    second = page_model.history_page(session, after=first.next_after)
    assert len(second.runs) == 5 and second.next_after is None
    names = [r.file_name for r in first.runs + second.runs]
    assert names == [f"list-{i:02d}.csv" for i in range(24, -1, -1)]


def test_history_rows_and_the_download_picker_read_in_shop_time_with_its_zone(session):
    add_runs(session, 1)
    run = page_model.history_page(session).runs[0]
    assert page_model.history_rows([run], LA)[0]["When"] == "1 Dec 2026, 9:00 AM PST"
    assert page_model.run_label(run, "America/New_York") == "list-00.csv — 1 Dec 2026, 12:00 PM EST (0 rows)"


def test_rows_not_imported_are_listed_by_row_with_what_happens_and_counted_in_the_title():
    err = lambda row, imported=False: SimpleNamespace(  # noqa: E731
        row=row,
        column="Phone",
        value="x",
        reason="bad",  # noqa: E731
        imported=imported,
    )
    report = SimpleNamespace(invalid=[err(9), err(3)], warnings=[err(5, True)])
    found = page_model.problems(report, limit=2)
    assert found.title == "2 rows not imported, 1 value dropped"
    assert [r["Row"] for r in found.rows] == [3, 5] and found.more == 1
    assert found.rows[1]["What happens"] == "imported without this value"
    assert page_model.problems(SimpleNamespace(invalid=[], warnings=[])) is None
    assert page_model.errors_file_name("shop.list.csv") == "shop.list-not-imported.csv"


def test_a_pos_date_not_started_yet_in_the_shop_s_zone_says_so():
    today = dt.date(2026, 12, 1)
    assert page_model.future_date_warning(today, today, LA) == ""
    assert page_model.future_date_warning(dt.date(2026, 12, 3), today, LA).startswith(
        "3 Dec 2026 has not started yet in your shop's time zone (America/Los_Angeles; today is 1 Dec 2026)"
    )


def test_the_import_history_uses_the_one_previous_next_pager(app_db):
    with Session(app_db) as s:
        add_runs(s, 23)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["owner_signed_in"] = True
    at.run()
    assert not at.exception
    table = lambda: [d.value for d in at.dataframe if "Who" in d.value.columns][0]  # noqa: E731
    assert len(table()) == 20 and "Showing 1–20 of 23" in [c.value for c in at.caption]
    assert at.button(key="import_history_prev").disabled
    at.button(key="import_history_next").click().run()
    assert list(table()["File"]) == ["list-02.csv", "list-01.csv", "list-00.csv"]
    assert "Showing 21–23 of 23" in [c.value for c in at.caption] and at.button(key="import_history_next").disabled
    at.button(key="import_history_prev").click().run()
    assert len(table()) == 20
