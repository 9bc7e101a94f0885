"""Live texting in a real browser: the real server (`streamlit run app.py`: dashboard, webhooks and the
background sender in one process) with Twilio on (presets) and a fake Twilio API; a signed inbound STOP
posted to the webhook; Personas in Chromium shows the customer opted out and the confirmation that went
out through Twilio in the message thread."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from sqlmodel import Session

from core.bootstrap import init_db
from core.db import make_engine
from core.models import SmsStatus
from tests.e2e.conftest import _healthy, _missing, free_port
from tests.e2e.helpers import ARTIFACTS, by_key, fill, shot, sign_in, wait_for_app, nav_click
from tests.factories import make_customer
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, inbound_form, signed

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "twilio-e2e-pass"
PUBLIC = "https://texts.greenleaf.example"
PHONE = "+14158675309"


@pytest.fixture(scope="module")
def live_server():
    if why := _missing():
        pytest.skip(why)
    tmp = tempfile.TemporaryDirectory(prefix="optin-twilio-e2e-")
    url = f"sqlite:///{Path(tmp.name) / 'shop.db'}"
    engine = make_engine(url)
    init_db(engine)
    with Session(engine) as s:
        make_customer(s, status=SmsStatus.opted_in, phone_number=PHONE, first_name="Rosa", last_name="Marquez")
    engine.dispose()
    with FakeTwilio() as api:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
        env.update(
            DATABASE_URL=url,
            OPTIN_DESK_PASSWORD=PASSWORD,
            PYTHONUNBUFFERED="1",
            OPTIN_DESK_SMS_PROVIDER="twilio",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            OPTIN_DESK_PUBLIC_URL=PUBLIC,
            TWILIO_API_URL=api.url,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        log = open(ARTIFACTS / "server-twilio_e2e.log", "w", encoding="utf-8")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
                "--server.runOnSave",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not _healthy(base):
                assert proc.poll() is None, "streamlit exited"
                assert time.monotonic() < deadline, "streamlit did not start"
                time.sleep(0.3)
            yield base, api
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            log.close()
            tmp.cleanup()


def test_a_signed_stop_to_the_webhook_shows_on_personas_with_the_confirmation_sent_through_twilio(
    live_server, browser_page
):
    base, api = live_server
    form = inbound_form(PHONE, "STOP")
    r = requests.post(
        base + "/sms/twilio/inbound", data=form, headers=signed(PUBLIC + "/sms/twilio/inbound", form), timeout=10
    )
    assert r.status_code == 200 and r.text.endswith("<Response/>")
    forged = requests.post(base + "/sms/twilio/inbound", data=inbound_form(PHONE, "START"), timeout=10)
    assert forged.status_code == 403

    deadline = time.monotonic() + 30  # the background sender, in the same process, sends the confirmation
    while not api.creates and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [c["to"] for c in api.creates] == [PHONE]
    assert "no more" in api.creates[0]["body"].lower() or "unsubscribed" in api.creates[0]["body"].lower()

    page = browser_page
    sign_in(page, base, PASSWORD)
    nav_click(page, "Personas")
    wait_for_app(page)
    fill(page, "persona_search", "Rosa")
    by_key(page, "persona_search").locator("input").press("Enter")
    wait_for_app(page)
    assert "✕ opted out" in page.locator('[data-testid="stMain"]').inner_text()
    page.locator('[class*="st-key-view_"] button').first.click()
    wait_for_app(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Opted out by texting STOP" in body
    assert "Opt-out confirmation" in body and "sent" in body
    shot(page, "twilio-01-persona-opted-out")
    time.sleep(0.5)
    assert len(api.creates) == 1  # once
