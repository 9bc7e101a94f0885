"""Helpers for browser tests (re-exported by tests/e2e/conftest.py).

from tests.e2e.helpers import sign_in_fresh, shot, wait_for_app, nav_links, by_key, fill, click
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
RUN_TIMEOUT_MS = 30_000


def wait_for_app(page, *, settle_ms: int = 250) -> None:
    """Until the app is connected and its script has finished running (no rerun in flight).

    Streamlit marks its root element: data-test-connection-state="CONNECTED" and
    data-test-script-state cycling initial -> running -> notRunning; the status widget
    ("Running...") is gone once the run is done. A short first pause lets a click's
    rerun start before we look.
    """
    page.wait_for_timeout(settle_ms)
    page.locator('[data-testid="stApp"]').wait_for(state="attached", timeout=RUN_TIMEOUT_MS)
    page.locator('[data-testid="stApp"][data-test-connection-state="CONNECTED"]').wait_for(
        state="attached", timeout=RUN_TIMEOUT_MS
    )
    idle = """() => {
        const app = document.querySelector('[data-testid="stApp"]');
        return app && app.getAttribute('data-test-script-state') === 'notRunning'
            && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
            && !document.querySelector('[data-testid="stSkeleton"]');
    }"""
    # A run that ends in st.rerun() is followed by another: idle twice in a row means done.
    for _ in range(20):
        page.wait_for_function(idle, timeout=RUN_TIMEOUT_MS)
        page.wait_for_timeout(150)
        if page.evaluate(idle):
            return
    raise TimeoutError("the app kept re-running")


def shot(page, name: str) -> Path:
    """A full-page PNG in test-artifacts/ (the name made safe for a file)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def by_key(page, key: str):
    """The element of the widget with this key= (Streamlit adds the class st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def fill(page, key: str, value: str) -> None:
    box = by_key(page, key).locator("input, textarea").first
    box.fill(value)


def click(page, key: str) -> None:
    by_key(page, key).locator("button").first.click()
    wait_for_app(page)


def expand_nav(page) -> None:
    """Unfold the sidebar navigation ("View more") when Streamlit has folded it."""
    more = page.locator('[data-testid="stSidebarNavViewButton"]')
    if more.count() and "more" in more.inner_text().lower():
        more.click()


def nav_click(page, title: str) -> None:
    """Open a page by its title in the sidebar navigation (unfolded first when needed)."""
    expand_nav(page)
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()


def nav_links(page) -> list[str]:
    """Titles of the pages in the sidebar navigation (after "View more" when it is folded)."""
    more = page.locator('[data-testid="stSidebarNavViewButton"]')
    if more.count() and "more" in more.inner_text().lower():
        more.click()
    titles = []
    for text in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts():
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        titles.append(lines[-1] if lines else "")  # a material icon's name comes first as text
    return titles


def set_password(page, base_url: str, password: str) -> None:
    page.goto(base_url)
    wait_for_app(page)
    fill(page, "new_password", password)
    fill(page, "confirm_password", password)
    click(page, "set_password")
    by_key(page, "password").wait_for()


def sign_in(page, base_url: str | None, password: str) -> None:
    """Sign in with an existing password (opens base_url first when given)."""
    if base_url:
        page.goto(base_url)
        wait_for_app(page)
    fill(page, "password", password)
    click(page, "sign_in")


def sign_in_fresh(page, base_url: str, password: str) -> None:
    """First start through the real UI: choose the password, sign in, "Explore the demo shop"
    (this browser tab then works in the separate demo shop; the real shop stays empty)."""
    set_password(page, base_url, password)
    sign_in(page, None, password)
    by_key(page, "explore_demo").wait_for()
    click(page, "explore_demo")
    by_key(page, "sign_out").wait_for(timeout=60_000)
    wait_for_app(page)
