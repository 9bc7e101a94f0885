"""The shell in a real browser: first start, demo shop, owner navigation, sign out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import by_key, click, fill, nav_links, shot, sign_in, sign_in_fresh, wait_for_app

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

PASSWORD = "green-leaf-e2e-pass"
OWNER_TITLES = {"Personas", "Audiences", "Inbox", "Reports", "Member Club", "Texting Defaults",
                "Sign-up Forms", "Integrations", "Import", "Walkthrough"}


def test_first_start_demo_shop_owner_pages_then_sign_out_hides_them(app_server, browser_page):
    page = browser_page
    page.goto(app_server)
    wait_for_app(page)
    assert page.get_by_text("Choose the owner password").is_visible()
    shot(page, "shell-01-first-start")

    sign_in_fresh(page, app_server, PASSWORD)
    shot(page, "shell-02-demo-loaded")
    links = nav_links(page)
    owner = [t for t in links if t in OWNER_TITLES]
    assert owner, links
    assert "Sign in" not in links
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "SQLite" in sidebar and PASSWORD not in sidebar
    first = owner[0]
    if (ROOT / "pages" / "personas.py").exists():
        assert first == "Personas"  # the first owner page: where the help articles start

    click(page, "sign_out")
    by_key(page, "password").wait_for()
    shot(page, "shell-03-signed-out")
    body = page.locator('[data-testid="stApp"]').inner_text()
    assert first not in nav_links(page)
    assert not set(nav_links(page)) & OWNER_TITLES
    assert "Sign in" in body

    # an owner page's address leads nowhere while signed out
    page.goto(f"{app_server}/personas")
    wait_for_app(page)
    assert by_key(page, "password").count() == 1
    assert not set(nav_links(page)) & OWNER_TITLES
    shot(page, "shell-04-personas-signed-out")


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_shop(app_server, browser_page):
    page = browser_page  # the password from the first test is set; the demo is loaded
    page.goto(app_server)
    wait_for_app(page)
    fill(page, "password", "not-the-password")
    click(page, "sign_in")
    assert page.get_by_text("That password isn't right").is_visible()
    shot(page, "shell-05-wrong-password")
    sign_in(page, None, PASSWORD)
    by_key(page, "sign_out").wait_for()
    assert set(nav_links(page)) & OWNER_TITLES
