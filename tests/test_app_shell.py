"""The app shell (AppTest on app.py): what the navigation offers signed out and signed in,
the first-start password setup, sign-in, the lockout and the demo-or-empty choice."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit
from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from core.audiences import export as aud_export
from core import auth, db
from core.training import demo
from core.models import Customer

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "green-leaf-owner"


def _owner_files() -> list[str]:
    import ast

    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "OWNER_PAGES":
            return [row[1] for row in ast.literal_eval(node.value)]
    raise AssertionError("app.py has no OWNER_PAGES")


OWNER_FILES = _owner_files()


@pytest.fixture
def nav(monkeypatch):
    """Records the pages app.py hands to st.navigation (titles, in order)."""
    seen: list[list[str]] = []
    real = streamlit.navigation

    def spy(pages, **kwargs):
        flat = [p for group in pages.values() for p in group] if isinstance(pages, dict) else list(pages)
        seen.append([p.title for p in flat])
        return real(pages, **kwargs)

    monkeypatch.setattr(streamlit, "navigation", spy)
    return seen


@pytest.fixture
def app(app_db, monkeypatch):
    monkeypatch.delenv("OPTIN_DESK_PASSWORD", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    return at


def _texts(at) -> str:
    parts = [
        e.value for e in (*at.title, *at.subheader, *at.markdown, *at.caption, *at.error, *at.warning, *at.success)
    ]
    return "\n".join(str(p) for p in parts)


def _set_password(at, password=PASSWORD, again=None):
    at.text_input(key="new_password").input(password)
    at.text_input(key="confirm_password").input(again if again is not None else password)
    at.button(key="set_password").click().run()


def _sign_in(at, password=PASSWORD):
    at.text_input(key="password").input(password)
    at.button(key="sign_in").click().run()


def test_signed_out_the_navigation_holds_only_sign_in_sign_up_and_stop_texting_me(app, nav):
    app.run()
    assert not app.exception
    expected = ["Sign in"] + (["Sign up"] if (ROOT / "pages/signup.py").exists() else []) + ["Stop texting me"]
    assert nav[-1] == expected
    links = [link.label for link in app.main.get("page_link")]
    if (ROOT / "pages/signup.py").exists():
        assert "Looking to join the text list? Sign up here" in links
    assert "Want no more texts from us? Stop them here" in links  # rulebook §10


@pytest.mark.parametrize("page", [f for f in OWNER_FILES if (ROOT / f).exists()] or ["(none yet)"])
def test_an_owner_page_run_directly_while_signed_out_shows_only_the_sign_in_error(app_db, page):
    if page == "(none yet)":
        pytest.skip("no owner page exists yet")
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Sign in to see this page."]
    assert not at.text_input and not at.button and not at.dataframe


def test_an_owner_page_is_not_even_registered_while_signed_out(app, nav):
    app.run()
    existing = [f for f in OWNER_FILES if (ROOT / f).exists()]
    if not existing:
        pytest.skip("no owner page exists yet")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(existing[0])  # signed out, the owner pages are not registered at all
    assert "Sign in" in nav[-1] and len(nav[-1]) <= 3


def _customers(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Customer)).one()


def _first_start_in_the_demo(at) -> None:
    at.run()
    _set_password(at)
    _sign_in(at)
    at.button(key="explore_demo").click().run()


def test_the_first_start_asks_for_a_password_then_sign_in_then_demo_or_empty(app, app_db, nav):
    app.run()
    assert "Choose the owner password" in _texts(app)
    assert "Opt-In Desk" in _texts(app)
    _set_password(app)
    assert not app.exception
    with Session(app_db) as s:
        assert auth.has_password(s)
    assert "Password saved" in _texts(app)
    _sign_in(app)
    assert not app.exception
    assert "owner_signed_in" not in app.session_state  # not yet: the first-start choice comes first
    assert app.button(key="explore_demo") and app.button(key="start_empty")
    app.button(key="explore_demo").click().run()
    assert not app.exception
    assert app.session_state["owner_signed_in"] is True
    with Session(app_db) as s:
        assert auth.first_start_done(s)
    owner_titles = [t for t in nav[-1] if t not in ("Sign up", "Stop texting me")]
    assert "Sign in" not in nav[-1]
    existing = [f for f in OWNER_FILES if (ROOT / f).exists()]
    assert len(owner_titles) == len(existing)


def test_exploring_the_demo_fills_a_separate_demo_shop_and_leaves_the_real_shop_empty(app, app_db):
    _first_start_in_the_demo(app)
    assert not app.exception
    demo_url = app.session_state["demo_db_url"]
    assert demo_url.endswith("app.demo.db")
    demo_engine = db.make_engine(demo_url)
    try:
        assert _customers(demo_engine) >= 250
    finally:
        demo_engine.dispose()
    assert _customers(app_db) == 0
    with Session(app_db) as s:  # an "opt-in status is true" export from the real shop: nobody
        rows = b"".join(aud_export.export_csv(s, [{"trait": "opt_in_status", "op": "is true", "value": None}]))
    assert rows.decode().strip().count("\n") == 0  # the header only
    assert "You are exploring the demo shop" in _texts(app)  # the first page, Personas, has the banner
    assert "Demo shop" in "\n".join(str(e.value) for e in app.sidebar.caption)
    assert "app.demo.db" in "\n".join(str(e.value) for e in app.sidebar.caption)


@pytest.mark.parametrize("page", [f for f in OWNER_FILES if (ROOT / f).exists()])
def test_every_owner_page_shows_the_demo_banner_while_in_the_demo(app_db, page):
    url = demo.prepare(str(app_db.url))
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    at.session_state["owner_signed_in"] = True
    at.session_state["demo_db_url"] = url
    at.run()
    assert not at.exception
    assert "You are exploring the demo shop" in _texts(at)
    assert at.button(key="leave_demo") and at.button(key="remove_demo")


def test_leave_the_demo_returns_to_the_real_shop_and_the_demo_stays_for_later(app, app_db):
    _first_start_in_the_demo(app)
    app.button(key="leave_demo").click().run()
    assert not app.exception
    assert "demo_db_url" not in app.session_state
    assert "You are exploring the demo shop" not in _texts(app)
    assert "You are back in your real shop" in _texts(app)
    assert "No customers yet" in "\n".join(str(e.value) for e in app.info)  # Personas of the real shop
    assert demo.exists(str(app_db.url))
    assert _customers(app_db) == 0


def test_remove_the_demo_shop_asks_first_then_deletes_its_file_and_returns_to_the_real_shop(app, app_db, tmp_path):
    _first_start_in_the_demo(app)
    assert (tmp_path / "app.demo.db").exists()
    app.button(key="remove_demo").click().run()
    assert "Remove the demo shop?" in _texts(app)
    app.button(key="remove_demo_cancel").click().run()  # "Keep it": nothing happens
    assert "Remove the demo shop?" not in _texts(app)
    assert (tmp_path / "app.demo.db").exists() and app.session_state["demo_db_url"]
    app.button(key="remove_demo").click().run()
    app.button(key="remove_demo_confirm").click().run()
    assert not app.exception
    assert not (tmp_path / "app.demo.db").exists()
    assert "demo_db_url" not in app.session_state
    assert "You are exploring the demo shop" not in _texts(app)
    assert "The demo shop is removed" in _texts(app)
    assert (tmp_path / "app.db").exists() and _customers(app_db) == 0


def test_signing_in_again_opens_the_real_shop_not_the_demo(app, app_db):
    _first_start_in_the_demo(app)
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)  # a new session, after sign out
    again.run()
    _sign_in(again)
    assert not again.exception
    assert again.session_state["owner_signed_in"] is True
    assert "demo_db_url" not in again.session_state
    assert "You are exploring the demo shop" not in _texts(again)
    assert again.sidebar.button(key="explore_demo_sidebar")


def test_start_empty_signs_in_with_no_customers_and_is_not_asked_again(app, app_db):
    app.run()
    _set_password(app)
    _sign_in(app)
    app.button(key="start_empty").click().run()
    assert not app.exception
    assert app.session_state["owner_signed_in"] is True
    with Session(app_db) as s:
        assert s.exec(select(func.count()).select_from(Customer)).one() == 0
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.run()
    _sign_in(again)
    assert again.session_state["owner_signed_in"] is True


def test_two_different_passwords_at_setup_save_nothing(app, app_db):
    app.run()
    _set_password(app, PASSWORD, "green-leaf-ownr")
    assert "two passwords are different" in _texts(app)
    with Session(app_db) as s:
        assert not auth.has_password(s)


def test_a_short_password_at_setup_is_refused_with_the_rule(app, app_db):
    app.run()
    _set_password(app, "short", "short")
    assert "at least 8 characters" in _texts(app)
    with Session(app_db) as s:
        assert not auth.has_password(s)


def test_a_wrong_password_gets_a_clear_message_and_no_entry(app, app_db):
    with Session(app_db) as s:
        auth.set_password(s, PASSWORD)
    app.run()
    _sign_in(app, "not the password")
    assert not app.exception
    assert "That password isn't right" in _texts(app)
    assert "4 more tries" in _texts(app)
    assert not app.session_state["owner_signed_in"] if "owner_signed_in" in app.session_state else True


def test_five_wrong_passwords_pause_sign_in_even_for_the_right_one(app, app_db):
    with Session(app_db) as s:
        auth.set_password(s, PASSWORD)
        auth.mark_first_start(s, "empty")
    app.run()
    for _ in range(5):
        _sign_in(app, "wrong password")
    assert "Sign-in paused for 30 seconds" in _texts(app)
    _sign_in(app)
    assert "Sign-in paused for" in _texts(app)
    assert "owner_signed_in" not in app.session_state
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)  # a reload does not reset it
    fresh.run()
    assert "Sign-in paused for" in _texts(fresh)


def test_a_strangers_pause_does_not_stop_the_owner_signing_in_from_this_browser(app, app_db):
    with Session(app_db) as s:
        auth.set_password(s, PASSWORD)
        auth.mark_first_start(s, "empty")
        stranger = auth.client_key("203.0.113.9")
        for _ in range(auth.FREE_ATTEMPTS - 1):
            auth.sign_in(s, "guess", client=stranger)
        with pytest.raises(auth.Locked):
            auth.sign_in(s, "guess", client=stranger)
    app.run()  # AppTest has no address: this browser is the local client
    assert "paused" not in _texts(app)
    _sign_in(app)
    assert not app.exception
    assert app.session_state["owner_signed_in"] is True


def test_a_preset_password_skips_the_setup(app_db, monkeypatch):
    monkeypatch.setenv("OPTIN_DESK_PASSWORD", "preset-password-1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert "Choose the owner password" not in _texts(at)
    with Session(app_db) as s:
        assert auth.verify(s, "preset-password-1")
    _sign_in(at, "preset-password-1")
    assert at.button(key="explore_demo")


def test_the_sidebar_shows_the_database_but_never_the_password(app, app_db):
    with Session(app_db) as s:
        auth.set_password(s, PASSWORD)
        auth.mark_first_start(s, "empty")
    app.run()
    _sign_in(app)
    assert app.session_state["owner_signed_in"] is True
    sidebar_text = "\n".join(str(e.value) for e in (*app.sidebar.markdown, *app.sidebar.caption))
    assert "Green Leaf Goods" in sidebar_text
    assert "SQLite" in sidebar_text and PASSWORD not in sidebar_text
    assert app.sidebar.button(key="sign_out")
    # Signing out is tested in the browser (tests/e2e/test_shell_e2e.py): AppTest drops a
    # click on a sidebar widget drawn before st.navigation once an owner page has run.
