"""The age gate in a real browser (rulebook §11): the owner requires 21 on Settings > Age gate; a customer on a
phone is refused calmly with an under-age date of birth, told about an impossible one, and signs up as an adult."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    RUN_TIMEOUT_MS,
    by_key,
    click,
    fill,
    nav_links,
    shot,
    sign_in_fresh,
    wait_for_app,
    nav_click,
)

pytestmark = pytest.mark.e2e

PASSWORD = "green-leaf-age-gate-e2e"


def _go(page, title: str) -> None:
    nav_links(page)
    nav_click(page, title)
    wait_for_app(page)


def test_the_public_form_walks_the_age_gate(app_server, browser, browser_page):
    owner = browser_page
    sign_in_fresh(owner, app_server, PASSWORD)
    click(owner, "leave_demo")  # the public form writes to the real shop
    _go(owner, "Age gate")
    by_key(owner, "age_choice").get_by_text("21 or older").click()
    wait_for_app(owner)
    click(owner, "age_save")
    owner.get_by_text("Age gate on: customers must be 21 or older to join.").wait_for()
    shot(owner, "age-00-settings")

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{app_server}/signup?form=main")
        wait_for_app(page)
        app = page.locator('[data-testid="stApp"]')
        assert "You must be 21 or older to join." in app.inner_text()
        assert "Date of birth *" in app.inner_text()
        fill(page, "signup_first_name", "Rosa")
        fill(page, "signup_phone", "(415) 555-0178")
        fill(page, "signup_birthday", "02/31/2001")
        click(page, "signup_submit")
        page.get_by_text("isn't a real date").wait_for()
        shot(page, "age-01-not-a-real-date")

        fill(page, "signup_birthday", "07/14/2010")
        click(page, "signup_submit")
        page.get_by_text("Sorry, we can't sign you up").wait_for()
        assert "only for customers 21 or older" in app.inner_text()
        assert "haven't kept any of your details" in app.inner_text()
        shot(page, "age-02-under-age")

        click(page, "signup_again")
        fill(page, "signup_first_name", "Rosa")
        fill(page, "signup_phone", "(415) 555-0178")
        fill(page, "signup_birthday", "07/14/1990")
        click(page, "signup_submit")
        page.get_by_text("Check your phone").wait_for()
        shot(page, "age-03-adult-signed-up")
    finally:
        context.close()

    _go(owner, "Age gate")
    owner.get_by_text("Refused for age").wait_for()
    assert owner.locator('[data-testid="stDataFrame"]').count() == 1
