"""The sign-up form in a real browser: a signed-out customer submits it on a phone-sized screen,
the owner texts Y for them in the Inbox and sees them opted in on Personas (rulebook §6, §3)."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    RUN_TIMEOUT_MS,
    by_key,
    click,
    fill,
    nav_links,
    shot,
    nav_click,
    sign_in_fresh,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

PASSWORD = "green-leaf-signup-e2e"
PHONE = "(415) 555-0177"


def _phone_context(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    return context


def _go(page, title: str) -> None:
    """Open an owner page from the sidebar (a new address would start a new, signed-out session)."""
    nav_links(page)  # unfolds "View more" when the list is folded
    nav_click(page, title)
    wait_for_app(page)


def test_a_signed_out_customer_signs_up_replies_y_and_is_opted_in(app_server, browser, browser_page):
    owner = browser_page
    sign_in_fresh(owner, app_server, PASSWORD)
    # the public sign-up page writes to the real shop: the owner leaves the demo shop to see it there
    click(owner, "leave_demo")
    assert "exploring the demo shop" not in owner.locator('[data-testid="stApp"]').inner_text()

    # --- Settings > Sign-up Forms > Share this page ------------------------------------------
    _go(owner, "Sign-up Forms")
    shot(owner, "signup-00-builder")
    owner.get_by_role("tab", name="Share this page").click()
    owner.get_by_text("Main sign-up URL").wait_for()
    assert owner.get_by_text("Main sign-up QR code").is_visible()
    assert owner.get_by_text(f"{app_server}/signup?form=main").first.is_visible()
    shot(owner, "signup-00-share-this-page")

    # --- the customer, signed out, on a phone ---------------------------------------------
    context = _phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{app_server}/signup?form=main")
        wait_for_app(page)
        text = page.locator('[data-testid="stApp"]').inner_text()
        assert "Green Leaf Goods" in text and "Consent is not a condition of purchase" in text
        for owner_word in ("Personas", "Inbox", "Sign-up Forms", "Sign in", "Sign out"):
            assert owner_word not in text
        shot(page, "signup-01-public-form-phone")

        fill(page, "signup_first_name", "Rosa")
        fill(page, "signup_phone", "415-555-CALL")
        click(page, "signup_submit")
        assert page.get_by_text("no letters").is_visible()
        shot(page, "signup-02-field-error-phone")

        fill(page, "signup_phone", PHONE)
        click(page, "signup_submit")
        page.get_by_text("reply Y", exact=False).first.wait_for()
        assert "Check your phone" in page.locator('[data-testid="stApp"]').inner_text()
        shot(page, "signup-03-check-your-phone")
    finally:
        context.close()

    # --- the owner texts Y as that phone in the Inbox -------------------------------------
    _go(owner, "Inbox")
    by_key(owner, "inbox_mode").get_by_text("Any phone number").click()
    wait_for_app(owner)
    fill(owner, "inbox_phone", PHONE)
    owner.keyboard.press("Enter")
    wait_for_app(owner)
    assert (
        "pending" in by_key(owner, "inbox_conversation").locator("xpath=..").inner_text()
        or "pending" in owner.locator('[data-testid="stApp"]').inner_text()
    )
    fill(owner, "inbox_message", "Y")
    click(owner, "inbox_send")
    owner.get_by_text("Post opt-in confirmation", exact=False).first.wait_for()
    shot(owner, "signup-04-inbox-replied-y")

    # --- Personas shows the customer opted in ----------------------------------------------
    _go(owner, "Personas")
    fill(owner, "persona_search", "5550177")
    owner.keyboard.press("Enter")
    wait_for_app(owner)
    row = owner.get_by_text("Rosa", exact=False).first
    row.wait_for()
    assert "✓ opted in" in owner.locator('[data-testid="stApp"]').inner_text()
    shot(owner, "signup-05-personas-opted-in")


def test_an_unknown_form_address_gets_a_friendly_not_found(app_server, browser):
    context = _phone_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{app_server}/signup?form=no-such-form")
        wait_for_app(page)
        assert page.get_by_text("Sign-up form not found").is_visible()
        click(page, "signup_open_main")
        by_key(page, "signup_first_name").wait_for()
        shot(page, "signup-06-not-found-then-main")
    finally:
        context.close()
