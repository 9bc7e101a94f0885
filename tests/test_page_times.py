"""AppTest: every time a page shows the owner is the shop's time with its zone label (core.clock.shop_time),
never bare UTC: Personas, Inbox and Member Club, for a Los Angeles shop and a New York one."""

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.consent import customers
from core.messaging import inbox, texting
from core.models import SmsStatus
from tests.factories import make_customer

PAGES = Path(__file__).resolve().parent.parent / "pages"
WINTER = dt.datetime(2026, 12, 2, 17, 5)  # 9:05 AM in Los Angeles (PST), 12:05 PM in New York (EST)
SUMMER = dt.datetime(2026, 7, 2, 16, 5)  # 9:05 AM in Los Angeles (PDT)


def page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=30)
    at.session_state["owner_signed_in"] = True
    for k, v in state.items():
        at.session_state[k] = v
    return at


def shown(elements) -> list[str]:
    """What the owner reads: markdown escapes (9\\:05) rendered away."""
    return [e.value.replace("\\", "") for e in elements]


def everything_shown(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "text", "success") for e in getattr(at, kind)]
    for frame in at.dataframe:
        parts.extend(str(v) for v in frame.value.to_numpy().ravel())
    return "\n".join(map(str, parts))


def set_zone(engine, zone: str) -> None:
    with Session(engine) as s:
        texting.update_defaults(s, timezone=zone)


@pytest.fixture
def stop_in_winter(app_db):
    with Session(app_db) as s:
        c = make_customer(
            s,
            first_name="Wyn",
            last_name="Ter",
            status=SmsStatus.opted_in,
            phone_number="+14155550161",
            now=WINTER - dt.timedelta(days=3),
        )
        inbox.receive(s, phone=c.phone, body="STOP", now=WINTER)
        return c.id


def test_personas_shows_the_status_sentence_and_history_in_shop_time_with_its_zone(app_db, stop_in_winter):
    at = page("personas.py")
    at.query_params["customer"] = str(stop_in_winter)
    at.run()
    assert not at.exception
    assert "Opted out by texting STOP on 2 Dec 2026, 9:05 AM PST." in shown(at.info)
    ledger = at.dataframe[0].value
    assert list(ledger["When"])[0] == "2 Dec 2026, 9:05 AM PST"
    assert "UTC" not in everything_shown(at)  # nothing left in bare UTC
    assert "2 Dec 2026, 9:05 AM PST" in shown(at.caption)  # the customer's STOP in the thread


def test_personas_reads_pdt_for_a_summer_event(app_db):
    with Session(app_db) as s:
        c = make_customer(
            s, first_name="Sam", last_name="Mer", status=SmsStatus.opted_in, phone_number="+14155550162", now=SUMMER
        )
    at = page("personas.py")
    at.query_params["customer"] = str(c.id)
    at.run()
    assert "Opted in by texting YES on 2 Jul 2026, 9:05 AM PDT." in shown(at.info)


def test_a_new_york_shop_reads_est_on_personas(app_db, stop_in_winter):
    set_zone(app_db, "America/New_York")
    at = page("personas.py")
    at.query_params["customer"] = str(stop_in_winter)
    at.run()
    assert "Opted out by texting STOP on 2 Dec 2026, 12:05 PM EST." in shown(at.info)


def test_the_inbox_shows_the_thread_status_and_log_in_shop_time_with_its_zone(app_db, stop_in_winter):
    at = page("inbox.py", inbox_mode="customer")
    at.run()
    assert not at.exception
    captions = shown(at.caption)
    assert "2 Dec 2026, 9:05 AM PST" in captions  # the customer's STOP bubble
    assert any("Opted out by texting STOP on 2 Dec 2026, 9:05 AM PST" in c for c in captions)
    log = at.dataframe[0].value
    assert "2 Dec 2026, 9:05 AM PST" in list(log["time"])
    assert "UTC" not in everything_shown(at)


def test_a_new_york_shop_reads_est_in_the_inbox_log_and_its_review_cards(app_db):
    with Session(app_db) as s:
        c = make_customer(
            s,
            first_name="Rev",
            last_name="Iew",
            status=SmsStatus.opted_in,
            phone_number="+14155550163",
            now=WINTER - dt.timedelta(days=3),
        )
        inbox.receive(s, phone=c.phone, body="please stop texting me", now=WINTER)
    set_zone(app_db, "America/New_York")
    at = page("inbox.py")
    at.run()
    assert not at.exception
    assert "2 Dec 2026, 12:05 PM EST" in list(at.dataframe[0].value["time"])
    assert any("received 2 Dec 2026, 12:05 PM EST" in c for c in shown(at.caption))  # the possible opt-out


def test_member_club_shows_when_each_request_went_in_shop_time_with_its_zone(app_db):
    with Session(app_db) as s:
        c = make_customer(
            s, first_name="Pen", last_name="Ding", phone_number="+14155550164", now=WINTER - dt.timedelta(days=2)
        )
        customers.request_opt_in(s, customer_id=c.id, now=WINTER)
    at = page("member_club.py")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Requested at"]) == ["2 Dec 2026, 9:05 AM PST"]
    assert list(table["Last request"]) == ["2 Dec 2026, 9:05 AM PST"]
    set_zone(app_db, "America/New_York")
    at = page("member_club.py")
    at.run()
    assert list(at.dataframe[0].value["Requested at"]) == ["2 Dec 2026, 12:05 PM EST"]
