"""Every page renders without an exception, signed in, on an empty shop and on the demo shop;
signed out, no owner page shows anything but the sign-in notice."""

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.training import demo

ROOT = Path(__file__).resolve().parent.parent
OWNER_PAGES = [
    "personas",
    "audiences",
    "inbox",
    "reports",
    "member_club",
    "texting_defaults",
    "signup_forms",
    "integrations",
    "import_customers",
    "walkthrough",
]


def run(page: str, signed_in: bool = True, demo_url: str = "") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=60)
    if signed_in:
        at.session_state["owner_signed_in"] = True
    if demo_url:
        at.session_state["demo_db_url"] = demo_url  # the tab explores the separate demo shop
    at.run()
    return at


@pytest.mark.parametrize("page", OWNER_PAGES + ["signup"])
def test_each_page_renders_on_an_empty_shop(app_db, page):
    at = run(page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", OWNER_PAGES + ["signup"])
def test_each_page_renders_on_the_demo_shop(app_db, page):
    at = run(page, demo_url=demo.prepare(str(app_db.url)))
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", OWNER_PAGES)
def test_signed_out_an_owner_page_shows_only_the_sign_in_notice(app_db, page):
    with Session(app_db) as s:
        demo.load_demo(s)
    at = run(page, signed_in=False)
    assert [e.value for e in at.error] == ["Sign in to see this page."]
    assert not at.dataframe and not at.text_area and not at.button
