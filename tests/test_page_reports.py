"""AppTest: Data Analytics > Reports and Member Club (the help article: "Pending double-opt-in requests can be
tracked by running a Member Club report under Data Analytics")."""

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.consent import customers
from core.models import Customer, Message, MessageKind, SmsStatus, utcnow
from tests.factories import make_customer, open_window_around_now

ROOT = Path(__file__).resolve().parent.parent
REPORTS = str(ROOT / "pages" / "reports.py")
CLUB = str(ROOT / "pages" / "member_club.py")


def open_page(path):
    app = AppTest.from_file(path, default_timeout=30)
    app.session_state["owner_signed_in"] = True
    app.run()
    assert not app.exception
    return app


def metrics(app) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


@pytest.fixture
def shop(app_db):
    now = utcnow()
    with Session(app_db) as s:
        for i in range(3):
            make_customer(s, status=SmsStatus.opted_in, first_name=f"In{i}", now=now - dt.timedelta(days=2))
        make_customer(s, status=SmsStatus.opted_out, first_name="Gone", now=now - dt.timedelta(days=1))
        for i, days in enumerate((10, 3)):
            c = make_customer(s, first_name=f"Wait{i}", last_name="Long", now=now - dt.timedelta(days=20))
            customers.request_opt_in(s, customer_id=c.id, now=now - dt.timedelta(days=days))
    return app_db


@pytest.mark.parametrize("page", [REPORTS, CLUB])
def test_signed_out_the_pages_show_nothing_but_sign_in(app_db, page):
    app = AppTest.from_file(page, default_timeout=30)
    app.run()
    assert not app.exception
    assert [e.value for e in app.error] == ["Sign in to see this page."]


def test_reports_show_the_headline_figures_for_the_last_30_days(shop):
    app = open_page(REPORTS)
    assert app.title[0].value == "Reports"
    m = metrics(app)
    assert (m["Opted in"], m["Pending"], m["Opted out"], m["Not opted in"]) == ("3", "2", "1", "0")
    assert m["Opt-in rate"] == "50%"
    assert m["Requests sent"] == "2"
    assert {d.key for d in app.get("download_button")} >= {
        "rep_csv_opt_ins_outs",
        "rep_csv_by_source",
        "rep_csv_funnel",
    }
    assert len(app.get("vega_lite_chart")) >= 3  # opt-ins/outs, by source, funnel (+ forms when viewed)
    assert [e.label for e in app.expander].count("Table") >= 3


def test_reports_group_by_week_and_pick_a_form(shop):
    app = open_page(REPORTS)
    app.segmented_control(key="rep_by").set_value("week").run()
    assert not app.exception
    app.selectbox(key="rep_form").set_value(app.selectbox(key="rep_form").options[1]).run()
    assert not app.exception


def test_a_date_range_ending_before_it_starts_is_a_clear_error(shop):
    app = open_page(REPORTS)
    before = app.date_input(key="rep_from").value - dt.timedelta(days=1)
    app.date_input(key="rep_to").set_value(before).run()
    assert not app.exception
    assert f"ends ({before:%d %b %Y}) before it starts" in app.error[0].value
    assert not app.metric


def test_an_empty_shop_reports_zeros_and_says_nothing_happened(app_db):
    app = open_page(REPORTS)
    assert metrics(app)["Opt-in rate"] == "–"
    assert "Nothing in this range yet." in [i.value for i in app.info]
    assert any("Nothing is waiting" in c.value for c in app.caption)


def test_member_club_lists_the_pending_requests_longest_waiting_first(shop):
    app = open_page(CLUB)
    assert app.title[0].value == "Member Club"
    assert metrics(app) == {"Waiting for a reply": "2"}
    table = app.dataframe[0].value
    assert list(table["Name"]) == ["Wait0 Long", "Wait1 Long"]
    assert list(table["Days waiting"]) == [10, 3]
    assert list(table.columns) == [
        "Name",
        "Phone",
        "Requested at",
        "Requests sent",
        "Days waiting",
        "Last request",
        "Source",
    ]
    assert app.button(key="mc_resend").disabled


def test_resend_from_the_member_club_report_says_what_was_sent_and_refused(shop):
    open_window_around_now(shop)
    app = open_page(CLUB)
    app.session_state["mc_table_0"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    app.run()
    assert app.button(key="mc_resend").label == "Resend the request to 2 customers"
    app.button(key="mc_resend").click().run()
    assert not app.exception
    # Wait0 was asked 10 days ago: a second request may go. Wait1 too (3 days ago).
    # A third request is over the limit of 2: resend both again and both are refused.
    text = app.success[0].value if app.success else app.warning[0].value
    assert "2 sent now." in text
    assert app.button(key="mc_resend").disabled  # the ticks are cleared with the new table
    app.session_state["mc_table_1"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    app.run()
    app.button(key="mc_resend").click().run()
    text = app.warning[0].value
    assert "0 sent now." in text and "2 refused:" in text
    assert "Request limit reached: 2 opt-in requests already sent to this phone (2)" in text
    with Session(shop) as s:
        requests = s.exec(select(Message).where(Message.kind == MessageKind.opt_in_request)).all()
        assert len(requests) == 6  # 2 first requests, 2 resent, 2 refused (logged as blocked)
        assert sorted(m.status.value for m in requests).count("blocked") == 2


def test_member_club_with_nobody_waiting_says_so(app_db):
    app = open_page(CLUB)
    assert metrics(app) == {"Waiting for a reply": "0"}
    assert "Nobody is waiting" in app.info[0].value


def test_member_club_pages_fifty_at_a_time(app_db):
    now = utcnow()
    with Session(app_db) as s:
        for i in range(60):
            make_customer(
                s, status=SmsStatus.pending, first_name=f"P{i:02d}", now=now - dt.timedelta(hours=60 - i), commit=False
            )
        s.commit()
        assert len(s.exec(select(Customer)).all()) == 60
    app = open_page(CLUB)
    assert len(app.dataframe[0].value) == 50
    app.button(key="mc_next").click().run()
    assert list(app.dataframe[0].value["Name"])[0] == "P50 Lovelace"
    app.button(key="mc_prev").click().run()
    assert len(app.dataframe[0].value) == 50
