"""Import and POS sync in a real browser, on the demo shop.

Settings > Import: upload a file, see the check (dry run), import, download the rows not imported.
Settings > Integrations: the help article's setting "Send an SMS double opt-in request if a contact with a
phone number is synced from this source after: X Date", then a sync of a POS export.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.helpers import by_key, click, nav_links, shot, sign_in_fresh, wait_for_app, nav_click
from tests.import_helpers import fixture

pytestmark = pytest.mark.e2e

PASSWORD = "green-leaf-import-e2e"
LABEL = "Send an SMS double opt-in request if a contact with a phone number is synced from this source after:"


def enter(page, base_url: str) -> None:
    """Each test starts its own shop (app_server): choose the password, sign in, explore the demo shop."""
    sign_in_fresh(page, base_url, PASSWORD)


def go(page, title: str) -> None:
    nav_links(page)
    nav_click(page, title)
    wait_for_app(page)
    page.get_by_role("heading", name=title).first.wait_for()


def metric(page, label: str) -> int:
    m = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return int(m.locator('[data-testid="stMetricValue"]').inner_text().replace(",", "").strip())


def upload(page, key: str, path) -> None:
    by_key(page, key).locator('input[type="file"]').set_input_files(str(path))
    wait_for_app(page)


def test_upload_check_import_and_download_the_rows_not_imported(app_server, browser_page):
    page = browser_page
    enter(page, app_server)
    go(page, "Import")
    shot(page, "import-01-empty")

    upload(page, "import_file", fixture("bad_rows.csv"))
    page.get_by_text("bad_rows.csv").first.wait_for()
    assert page.get_by_text("These customers agreed to receive marketing texts from").first.is_visible()
    by_key(page, "import_attested").locator("label").first.click()
    wait_for_app(page)
    click(page, "import_check")
    page.get_by_text("Check result").first.wait_for()
    assert metric(page, "Rows not imported") == 4
    new = metric(page, "New customers")
    shot(page, "import-02-checked")

    go_button = by_key(page, "import_go").locator("button")
    assert "Import 4 customers" in go_button.inner_text()
    click(page, "import_go")
    page.get_by_text("Imported bad_rows.csv").first.wait_for(timeout=60_000)
    assert metric(page, "New customers") == new
    shot(page, "import-03-imported")

    with page.expect_download() as info:
        by_key(page, "import_report_download").locator("button").first.click()
    data = open(info.value.path(), "rb").read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert [r["row"] for r in rows] == ["3", "4", "5", "6", "7"]
    assert rows[0]["reason"] == "too few digits"
    assert rows[-1]["what happened"] == "imported without this value"

    page.get_by_role("tab", name="Import history").click()
    wait_for_app(page)
    page.locator('[data-testid="stDataFrame"]').last.wait_for()
    shot(page, "import-04-history")


def test_pos_source_date_setting_and_sync(app_server, browser_page, tmp_path):
    page = browser_page
    enter(page, app_server)
    go(page, "Integrations")
    page.get_by_text("Add a POS source").first.click()
    by_key(page, "pos_new_name").locator("input").fill("Lightspeed")
    click(page, "pos_add")
    page.get_by_text("Added Lightspeed").first.wait_for()
    assert page.get_by_text(LABEL).first.is_visible()

    export = tmp_path / "lightspeed-customers.csv"
    export.write_text(
        "Mobile,First Name,Accepts SMS Marketing\n212-555-0191,Ann,yes\n212-555-0192,Bob,\nnot a phone,Cy,\n",
        encoding="utf-8",
    )
    box = page.locator('[class*="st-key-pos_src_"]').filter(has_text="Lightspeed").first
    sid = [c for c in box.get_attribute("class").split() if c.startswith("st-key-pos_src_")][0].rsplit("_", 1)[1]
    # the date field is made of month / day / year segments: type into the first, it moves on by itself
    by_key(page, f"pos_date_{sid}").locator('[role="spinbutton"][data-type="month"]').first.click()
    page.keyboard.type("01012020")
    page.keyboard.press("Escape")
    box.get_by_role("heading", name="Lightspeed").click()  # leaving the field sends the date
    wait_for_app(page)
    click(page, f"pos_date_save_{sid}")
    page.get_by_text("Saved: Lightspeed asks contacts synced after").first.wait_for()

    upload(page, f"pos_file_{sid}", export)
    click(page, f"pos_sync_{sid}")
    page.get_by_text("Sync of lightspeed-customers.csv").first.wait_for(timeout=60_000)
    assert metric(page, "Rows not imported") == 1
    assert metric(page, "Requests sent") + metric(page, "Queued for quiet hours") == 2
    shot(page, "integrations-01-synced")
