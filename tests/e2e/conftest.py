"""Browser tests: the real app (`streamlit run app.py`) in Debian's headless Chromium via Playwright.

Fixtures
- `app_server` (each test): starts the app on a free port against a fresh temporary SQLite file
  (no OPTIN_DESK_PASSWORD, so the first start asks for a password); yields the base URL. Every
  test has a shop of its own: no test depends on what another did before it, in any order.
- `browser` (module: only the browser process is shared) and `browser_page` (each test: a new
  browser context, so no cookies or session carry over): a Chromium page, 1280x900.

Helpers (tests/e2e/helpers.py, re-exported here: `from tests.e2e.helpers import sign_in_fresh, shot`)
- `wait_for_app(page)`: until Streamlit is connected and its script has finished running.
- `sign_in_fresh(page, base_url, password)`: first start through the real UI: choose the
  password, sign in, "Explore the demo shop" (the tab works in the separate demo shop).
- `sign_in(page, base_url, password)`: sign in when the password is already set.
- `nav_links(page)`: the page titles the sidebar navigation offers.
- `shot(page, name)`: a full-page screenshot in test-artifacts/ (git-ignored).

Without /usr/bin/chromium (or Playwright) these tests are skipped, unless E2E_REQUIRED=1 (CI),
which makes them fail instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.helpers import (  # noqa: F401  (re-exported for the browser tests)
    ARTIFACTS,
    RUN_TIMEOUT_MS,
    by_key,
    click,
    fill,
    nav_links,
    set_password,
    shot,
    sign_in,
    sign_in_fresh,
    wait_for_app,
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
E2E_DIR = Path(__file__).resolve().parent
START_TIMEOUT_S = 60


def _missing() -> str:
    """Why the browser tests cannot run here ('' when they can)."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -e '.[test]')"
    return ""


def _required() -> bool:
    return os.environ.get("E2E_REQUIRED", "").strip() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    why = _missing()
    for item in items:
        if E2E_DIR not in Path(str(item.fspath)).resolve().parents:
            continue
        item.add_marker(pytest.mark.e2e)
        if why and not _required():
            item.add_marker(pytest.mark.skip(reason=f"browser test skipped: {why}"))


# --- the app server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


@pytest.fixture
def app_server(request):
    """`streamlit run app.py` on a free port with a fresh SQLite database, for this test alone;
    yields the base URL."""
    why = _missing()
    if why:
        if _required():
            pytest.fail(f"E2E_REQUIRED=1 but {why}")
        pytest.skip(why)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    tmp = tempfile.TemporaryDirectory(prefix="optin-e2e-")
    env = {k: v for k, v in os.environ.items() if k not in ("OPTIN_DESK_PASSWORD", "TEST_DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite:///{Path(tmp.name) / 'shop.db'}"
    env["PYTHONUNBUFFERED"] = "1"
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"server-{request.module.__name__.rsplit('.', 1)[-1]}-{request.node.name}.log"
    log = open(log_path, "w", encoding="utf-8")
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
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(base_url):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"streamlit exited with {proc.returncode}; see {log_path}:\n" + log_path.read_text()[-3000:]
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"streamlit did not answer {base_url}/_stcore/health within "
                    f"{START_TIMEOUT_S} s; see {log_path}:\n" + log_path.read_text()[-3000:]
                )
            time.sleep(0.3)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        tmp.cleanup()


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    why = _missing()
    if why:
        if _required():
            pytest.fail(f"E2E_REQUIRED=1 but {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


@pytest.fixture
def browser_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
