"""Staff accounts in a real browser (issue 17): the owner adds a staff member; the staff member signs in,
records an opt-out at the counter, can't open Import (not in the menu, refused by URL); the Activity page
shows the opt-out under the staff member's name."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import by_key, click, fill, nav_links, set_password, shot, wait_for_app

pytestmark = pytest.mark.e2e

OWNER_PASSWORD = "owner-e2e-password"
STAFF_PASSWORD = "counter-e2e-password"


def go(page, title: str) -> None:
    nav_links(page)
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
    wait_for_app(page)
    page.locator('[data-testid="stHeading"]', has_text=title).first.wait_for()


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_owner_adds_staff_who_records_an_opt_out_and_activity_names_them(app_server, browser_page):
    page = browser_page
    set_password(page, app_server, OWNER_PASSWORD)
    fill(page, "password", OWNER_PASSWORD)  # a shop of one: the owner password alone
    click(page, "sign_in")
    by_key(page, "start_empty").wait_for()
    click(page, "start_empty")
    by_key(page, "sign_out").wait_for()
    wait_for_app(page)
    assert {"People", "Activity", "Import"} <= set(nav_links(page))

    # the owner adds a customer, then a staff member
    go(page, "Personas")
    page.get_by_text("Add a customer").first.click()
    fill(page, "persona_add_phone", "(415) 555-0123")
    fill(page, "persona_add_first", "Jordan")
    fill(page, "persona_add_last", "Reyes")
    click(page, "persona_add_submit")
    assert "Added Jordan Reyes" in main_text(page)

    go(page, "People")
    fill(page, "people_add_name", "Pat Budtender")
    fill(page, "people_add_login", "pat")
    fill(page, "people_add_password", STAFF_PASSWORD)
    fill(page, "people_add_again", STAFF_PASSWORD)
    click(page, "people_add_submit")
    assert "Added Pat Budtender" in main_text(page)
    shot(page, "roles-01-owner-added-staff")
    click(page, "sign_out")

    # the staff member signs in with their own name and password
    by_key(page, "sign_in_name").wait_for()
    fill(page, "sign_in_name", "pat")
    fill(page, "password", STAFF_PASSWORD)
    click(page, "sign_in")
    by_key(page, "sign_out").wait_for()
    wait_for_app(page)
    links = set(nav_links(page))
    assert {"Personas", "Inbox", "Reports"} <= links
    assert not links & {"Import", "People", "Activity", "Audiences", "Integrations", "Texting Defaults"}
    assert "Signed in as Pat Budtender · Staff" in page.locator('[data-testid="stSidebar"]').inner_text()
    shot(page, "roles-02-staff-menu")

    # records an opt-out at the counter
    go(page, "Personas")
    fill(page, "persona_search", "Jordan")
    by_key(page, "persona_search").locator("input").press("Enter")
    wait_for_app(page)
    page.locator('[class*="st-key-view_"] button').first.click()
    wait_for_app(page)
    fill(page, "persona_optout_reason_1", "asked at the counter")
    by_key(page, "persona_optout_reason_1").locator("input").press("Enter")
    wait_for_app(page)
    click(page, "persona_optout")
    assert "Opt-out recorded" in main_text(page)
    assert "Download proof of consent" not in main_text(page)  # no exports for staff
    shot(page, "roles-03-staff-opt-out")

    # Import by its address, in this signed-in tab (a reload starts a new, signed-out session): calmly refused
    page.evaluate("() => { history.pushState({}, '', '/import'); dispatchEvent(new PopStateEvent('popstate')); }")
    wait_for_app(page)
    page.get_by_text("not available for your role (Staff)").wait_for()
    assert "Import a file" not in main_text(page)
    assert "Import" not in nav_links(page)
    shot(page, "roles-04-staff-import-by-url")
    click(page, "sign_out")

    # the owner (now with a sign-in name) sees the opt-out under Pat's name on Activity
    by_key(page, "sign_in_name").wait_for()
    fill(page, "sign_in_name", "owner")
    fill(page, "password", OWNER_PASSWORD)
    click(page, "sign_in")
    by_key(page, "sign_out").wait_for()
    wait_for_app(page)
    shot(page, "roles-05-owner-back")
    go(page, "Activity")
    shot(page, "roles-05-activity")
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    text = main_text(page)
    assert "Showing 1–3 of 3" in text
    # the data grid draws on a canvas: filter by the person instead, as an owner would
    by_key(page, "activity_person").click()
    page.get_by_role("option", name="Pat Budtender (staff)").click()
    wait_for_app(page)
    assert "Showing 1–1 of 1" in main_text(page), text
    shot(page, "roles-06-activity-pat")
