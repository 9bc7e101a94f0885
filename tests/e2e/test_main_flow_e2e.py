"""The main flow in a real browser: demo shop -> Personas search -> Inbox YES, STOP -> Personas shows it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.e2e.helpers import by_key, click, fill, nav_links, shot, sign_in_fresh, wait_for_app, nav_click

pytestmark = pytest.mark.e2e

PASSWORD = "main-flow-e2e-pass"
DATA = Path(__file__).resolve().parents[2] / "data" / "customers.csv"
OWNER_TITLES = {
    "Personas",
    "Audiences",
    "Inbox",
    "Reports",
    "Member Club",
    "Texting Defaults",
    "Sign-up Forms",
    "Integrations",
    "Import",
    "Walkthrough",
}


def a_pending_demo_customer() -> dict:
    """A pending customer of the demo shop whose full name is unique (searched by name and phone)."""
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    names = [(r["first_name"], r["last_name"]) for r in rows]
    for r in rows:
        if (
            r["sms_status"] == "pending"
            and r["first_name"]
            and r["last_name"]
            and names.count((r["first_name"], r["last_name"])) == 1
            and r["phone"].startswith("+1")
        ):
            return r
    raise AssertionError("the demo shop has no pending customer with a unique name")


def go(page, title: str) -> None:
    nav_links(page)  # unfolds "View more" when needed
    nav_click(page, title)
    wait_for_app(page)
    page.locator('[data-testid="stHeading"]', has_text=title).first.wait_for()


def search(page, text: str) -> None:
    fill(page, "persona_search", text)
    by_key(page, "persona_search").locator("input").press("Enter")
    wait_for_app(page)


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_search_text_yes_then_stop_and_see_the_status_change_then_sign_out(app_server, browser_page):
    page = browser_page
    who = a_pending_demo_customer()
    name = f"{who['first_name']} {who['last_name']}"
    national = who["phone"][2:]
    formatted = f"({national[:3]}) {national[3:6]}-{national[6:]}"

    sign_in_fresh(page, app_server, PASSWORD)
    go(page, "Personas")
    assert "customers" in main_text(page)
    shot(page, "main-01-personas")

    # search by the phone typed the way a person writes it: one row, pending
    search(page, f"{national[:3]}-{national[3:6]}-{national[6:]}")  # with the area code: every demo number is 555-01XX
    body = main_text(page)
    assert name in body and formatted in body and "✕ pending" in body
    shot(page, "main-02-personas-search")

    page.locator('[class*="st-key-view_"] button').first.click()
    wait_for_app(page)
    body = main_text(page)
    assert name in body and "SMS" in body and "✕ pending" in body
    shot(page, "main-03-customer-pending")

    # the Inbox: text YES as that customer
    go(page, "Inbox")
    fill(page, "inbox_find", name)
    by_key(page, "inbox_find").locator("input").press("Enter")
    wait_for_app(page)
    status = page.locator('[data-testid="stMarkdownContainer"]', has_text="SMS").filter(has_text=name).first
    assert "✕ pending" in status.inner_text()  # the picked customer's badge above the conversation
    shot(page, "main-04-inbox-picked")
    click(page, "inbox_quick_YES")
    conversation = by_key(page, "inbox_conversation")
    conversation.get_by_text("Post opt-in confirmation").or_(
        conversation.get_by_text("Date of birth question")
    ).first.wait_for()
    if not conversation.get_by_text("Post opt-in confirmation").count():
        # the demo dispensary's age gate (21+): an unverified customer is asked for a birth date first (§11)
        fill(page, "inbox_message", "01/15/1990")
        click(page, "inbox_send")
        click(page, "inbox_quick_YES")  # verified now: their YES confirms
    conversation.get_by_text("Post opt-in confirmation").first.wait_for()
    assert "✓ opted in" in status.inner_text()
    shot(page, "main-05-inbox-yes")

    click(page, "inbox_quick_STOP")
    by_key(page, "inbox_conversation").get_by_text("Opt-out confirmation").first.wait_for()
    assert "✕ opted out" in status.inner_text()
    click(page, "inbox_quick_STOP")  # a second STOP: no second confirmation
    assert "No automatic reply" in main_text(page)
    assert by_key(page, "inbox_conversation").get_by_text("Opt-out confirmation").count() == 1
    shot(page, "main-06-inbox-stop")

    # back on Personas the change shows, with its reason
    go(page, "Personas")
    search(page, name)
    assert "✕ opted out" in main_text(page)
    page.locator('[class*="st-key-view_"] button').first.click()
    wait_for_app(page)
    body = main_text(page)
    assert "Opted out by texting STOP" in body and "✕ opted out" in body
    shot(page, "main-07-customer-opted-out")

    # sign out: the owner pages are gone
    click(page, "sign_out")
    by_key(page, "password").wait_for()
    assert not set(nav_links(page)) & OWNER_TITLES
    assert name not in page.locator('[data-testid="stApp"]').inner_text()
    shot(page, "main-08-signed-out")
