"""Audiences, Reports and Member Club in a real browser, on the demo shop.

The help article's bulk check: "Go to your Audiences tab, create an audience that uses the trait -
Performed Event / Opt-in status is true ... you can set it to 'is false' for the opposite"; the count
must match Personas filtered by opted in. Then "Pending double-opt-in requests can be tracked by
running a Member Club report under Data Analytics".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.helpers import by_key, click, nav_links, shot, sign_in_fresh, wait_for_app, nav_click

pytestmark = pytest.mark.e2e

PASSWORD = "green-leaf-audiences-e2e"


def choose(page, key: str, option: str) -> None:
    """Pick `option` in the selectbox or multiselect with this key."""
    by_key(page, key).get_by_role("combobox").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_for_app(page)


def go(page, title: str) -> None:
    """Open an owner page through the sidebar (a new address would start a new, signed-out session)."""
    nav_links(page)  # unfolds "View more"
    nav_click(page, title)
    wait_for_app(page)
    page.get_by_role("heading", name=title).first.wait_for()


def metric_value(page, key_or_label: str) -> int:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=key_or_label).first
    text = metric.locator('[data-testid="stMetricValue"]').inner_text()
    return int(text.replace(",", "").strip())


def test_opt_in_status_is_true_matches_personas_filtered_by_opted_in(app_server, browser_page):
    page = browser_page
    sign_in_fresh(page, app_server, PASSWORD)
    links = nav_links(page)
    assert {"Audiences", "Reports", "Member Club"} <= set(links), links

    # --- Audiences: build "Performed Event / Opt-in status is true" ---------------------------
    go(page, "Audiences")
    click(page, "aud_new")
    choose(page, "aud_trait_1_opt_in_status", "Performed Event / Opt-in status")
    choose(page, "aud_op_1_opt_in_status", "is false")
    others = metric_value(page, "Customers in this audience")
    choose(page, "aud_op_1_opt_in_status", "is true")
    opted_in = metric_value(page, "Customers in this audience")
    assert opted_in > 0 and others > 0
    assert page.get_by_text("Performed Event / Opt-in status is true").first.is_visible()
    assert page.locator('[data-testid="stDataFrame"]').first.is_visible()
    shot(page, "audiences-01-opt-in-status-is-true")

    # save it, then it is in the saved list
    by_key(page, "aud_name").locator("input").fill("Opted in")
    click(page, "aud_save_new")
    assert page.get_by_text("Saved “Opted in”").is_visible()
    shot(page, "audiences-02-saved")

    # the export: one row per customer, phones as tel:+E.164
    with page.expect_download() as download:
        by_key(page, "aud_export").locator("button").click()
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("phone,first_name,last_name")
    assert len(lines) == opted_in + 1
    assert all(line.startswith("tel:+") for line in lines[1:])

    # --- Personas filtered by opted in: the same count -----------------------------------------
    go(page, "Personas")
    choose(page, "persona_status", "✓ opted in")
    shown = page.get_by_text(re.compile(r"of \d[\d,]* customers? matching")).first.inner_text()
    total = int(re.search(r"of (\d[\d,]*) customers?", shown).group(1).replace(",", ""))
    assert total == opted_in, (shown, opted_in)
    shot(page, "audiences-03-personas-opted-in")

    # --- Data Analytics > Reports and Member Club -----------------------------------------------
    go(page, "Reports")
    assert metric_value(page, "Opted in") == opted_in
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 2
    shot(page, "reports-01-last-30-days")

    go(page, "Member Club")
    waiting = metric_value(page, "Waiting for a reply")
    assert waiting > 0
    shot(page, "member-club-01-pending")
