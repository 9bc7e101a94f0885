"""The shell in a real browser: first start, the separate demo shop, owner navigation, sign out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import (
    by_key,
    click,
    fill,
    nav_links,
    set_password,
    shot,
    sign_in,
    sign_in_fresh,
    wait_for_app,
    nav_click,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

PASSWORD = "green-leaf-e2e-pass"
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


def test_first_start_demo_shop_owner_pages_then_sign_out_hides_them(app_server, browser_page):
    page = browser_page
    page.goto(app_server)
    wait_for_app(page)
    assert page.get_by_text("Choose the owner password").is_visible()
    shot(page, "shell-01-first-start")

    sign_in_fresh(page, app_server, PASSWORD)
    shot(page, "shell-02-demo-loaded")
    assert by_key(page, "demo_banner").is_visible()
    assert "You are exploring the demo shop" in page.locator('[data-testid="stMain"]').inner_text()
    links = nav_links(page)
    owner = [t for t in links if t in OWNER_TITLES]
    assert owner, links
    assert "Sign in" not in links
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "SQLite file shop.demo.db" in sidebar and PASSWORD not in sidebar
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
    page = browser_page
    sign_in_fresh(page, app_server, PASSWORD)  # a shop of its own: first start, the demo shop explored
    click(page, "sign_out")
    by_key(page, "password").wait_for()
    fill(page, "password", "not-the-password")
    click(page, "sign_in")
    assert page.get_by_text("That password isn't right").is_visible()
    shot(page, "shell-05-wrong-password")
    sign_in(page, None, PASSWORD)
    by_key(page, "sign_out").wait_for()
    wait_for_app(page)
    assert set(nav_links(page)) & OWNER_TITLES
    # signing in again opens the real shop, which the demo never touched
    assert by_key(page, "demo_banner").count() == 0
    assert "SQLite file shop.db" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert "No customers yet" in page.locator('[data-testid="stMain"]').inner_text()


def test_the_sidebar_opens_the_demo_shop_and_remove_deletes_it_after_asking(app_server, browser_page):
    page = browser_page
    set_password(page, app_server, PASSWORD)  # a shop of its own, started empty: the demo is a click away
    sign_in(page, None, PASSWORD)
    click(page, "start_empty")
    by_key(page, "sign_out").wait_for()
    click(page, "explore_demo_sidebar")
    by_key(page, "demo_banner").wait_for(timeout=60_000)
    main = page.locator('[data-testid="stMain"]')
    assert "555-01" in main.inner_text()  # Personas of the demo shop: fictional numbers only
    assert "SQLite file shop.demo.db" in page.locator('[data-testid="stSidebar"]').inner_text()
    shot(page, "shell-06-demo-from-the-sidebar")
    if (ROOT / "pages" / "signup.py").exists():  # the public page has no banner of its own: app.py warns
        nav_click(page, "Sign up")
        wait_for_app(page)
        assert "sign-ups on this page go to the demo shop" in main.inner_text()
        nav_click(page, "Personas")
        wait_for_app(page)

    click(page, "remove_demo")
    by_key(page, "remove_demo_confirm").wait_for()
    assert "Remove the demo shop?" in main.inner_text()
    shot(page, "shell-07-remove-the-demo-asks-first")
    click(page, "remove_demo_confirm")
    by_key(page, "explore_demo_sidebar").wait_for()
    assert by_key(page, "demo_banner").count() == 0
    assert "No customers yet" in main.inner_text()
    assert "SQLite file shop.db" in page.locator('[data-testid="stSidebar"]').inner_text()
    shot(page, "shell-08-demo-removed")
