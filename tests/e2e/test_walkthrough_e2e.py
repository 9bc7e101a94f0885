"""Walkthrough scenarios 1 and 2 in a real browser: from the Walkthrough page through the public
sign-up form and the Inbox, in the training shop; the real shop stays untouched."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import by_key, click, fill, nav_links, shot, sign_in_fresh, wait_for_app, nav_click

pytestmark = pytest.mark.e2e

PASSWORD = "walkthrough-e2e-pass"
PHONE = "(415) 555-0166"  # not in the demo shop


def go(page, title: str) -> None:
    nav_links(page)
    nav_click(page, title)
    wait_for_app(page)


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def sign_up(page, first: str) -> str:
    go(page, "Sign up")
    if by_key(page, "signup_again").count():  # the last submission's outcome is still shown
        click(page, "signup_again")
    fill(page, "signup_first_name", first)
    fill(page, "signup_phone", PHONE)
    click(page, "signup_submit")
    return main_text(page)


def text_shop(page, body: str) -> None:
    go(page, "Inbox")
    by_key(page, "inbox_mode").get_by_text("Any phone number").click()
    wait_for_app(page)
    fill(page, "inbox_phone", PHONE)
    by_key(page, "inbox_phone").locator("input").press("Enter")
    wait_for_app(page)
    fill(page, "inbox_message", body)
    click(page, "inbox_send")


def scenario_label(page, number: str) -> str:
    go(page, "Walkthrough")
    click(page, "check_again")
    return page.locator('[data-testid="stExpander"] summary', has_text=f"{number}.").first.inner_text()


def test_scenarios_1_and_2_turn_green_in_the_training_shop_and_the_real_shop_is_untouched(app_server, browser_page):
    page = browser_page
    sign_in_fresh(page, app_server, PASSWORD)

    go(page, "Walkthrough")
    fill(page, "trainee_name", "Robin Trainee")
    page.get_by_role("button", name="Start a walkthrough").click()
    wait_for_app(page)
    by_key(page, "check_again").wait_for(timeout=60_000)
    wait_for_app(page)
    assert "Training shop —" in main_text(page)
    assert "0 of 7 scenarios done" in main_text(page)
    shot(page, "walkthrough-01-started")

    # Scenario 1: sign up on the public form, reply YES, see the green check on Personas
    assert "reply Y" in sign_up(page, "Tess")
    assert "Training shop" in main_text(page)
    text_shop(page, "YES")
    by_key(page, "inbox_conversation").get_by_text("Post opt-in confirmation").first.wait_for()
    go(page, "Personas")
    fill(page, "persona_search", PHONE)
    by_key(page, "persona_search").locator("input").press("Enter")
    wait_for_app(page)
    page.locator('[class*="st-key-view_"] button').first.click()
    wait_for_app(page)
    assert "✓ opted in" in main_text(page)
    assert "done" in scenario_label(page, "1")
    shot(page, "walkthrough-02-scenario-1-done")

    # Scenario 2: STOP (one confirmation), sign up again (told to text START), START
    text_shop(page, "STOP")
    by_key(page, "inbox_conversation").get_by_text("Opt-out confirmation").first.wait_for()
    assert "START" in sign_up(page, "Tess")
    text_shop(page, "START")
    by_key(page, "inbox_conversation").get_by_text("Resubscribe confirmation").first.wait_for()
    assert "done" in scenario_label(page, "2")
    assert "2 of 7 scenarios done" in main_text(page)
    shot(page, "walkthrough-03-scenario-2-done")

    # Back to the real shop: the trainee's customer is not there
    click(page, "leave_training")
    page.get_by_role("button", name="Start a walkthrough").wait_for()
    assert "Training shop —" not in main_text(page)
    go(page, "Personas")
    fill(page, "persona_search", PHONE)
    by_key(page, "persona_search").locator("input").press("Enter")
    wait_for_app(page)
    assert "Tess" not in main_text(page)
    shot(page, "walkthrough-04-real-shop-untouched")
