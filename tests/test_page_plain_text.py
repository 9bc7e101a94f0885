"""Markdown in owner-typed text (issue 11): a brand, a file name, a POS source name is shown as the
characters typed, never as bold, a link, a colour, LaTeX or an icon (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.importing import pos
from core.messaging import texting
from widgets import plain

PAGES = Path(__file__).resolve().parent.parent / "pages"
EVIL = "**Bold** [x](http://e.x) :red[hi] $x$"
# what the markdown source must hold: every markup character escaped, so it renders as typed
SHOWN = r"\*\*Bold\*\* \[x\](http\://e.x) \:red\[hi\] \$x\$"


def page(name: str, *, signed_in: bool = True) -> AppTest:
    """`name` under pages/, or app.py (the navigation, the sidebar and the sign-in page)."""
    at = AppTest.from_file(str(PAGES.parent / name if name == "app.py" else PAGES / name), default_timeout=60)
    if signed_in:
        at.session_state["owner_signed_in"] = True
    at.run()
    assert not at.exception
    return at


def sources(at) -> list[str]:
    return [
        str(e.value)
        for e in (*at.title, *at.subheader, *at.markdown, *at.caption, *at.success, *at.error, *at.warning, *at.info)
    ] + [c.label for c in at.checkbox]


def assert_literal(shown: list[str]):
    """Somewhere the value is shown escaped; nowhere is it shown as live markdown."""
    assert any(SHOWN in s for s in shown), shown
    for s in shown:
        for live in ("**Bold**", "[x](", ":red[hi]", "$x$"):
            assert live not in s, s


@pytest.mark.parametrize(
    "text, expected",
    [
        (EVIL, SHOWN),
        ("# Big\n- item\r\n1. one", r"\# Big - item 1. one"),
        ("- a list?", r"\- a list?"),
        ("1. Ann", r"1\. Ann"),
        (
            ":material/home: <b>hi</b> ~~no~~ `code` a|b &amp; _i_",
            r"\:material/home: \<b\>hi\</b\> \~\~no\~\~ \`code\` "
            r"a\|b \&amp; \_i\_",
        ),
        ("Ann-Lee, 3 o'clock: fine (ok).", "Ann-Lee, 3 o'clock: fine (ok)."),
    ],
)
def test_plain_escapes_every_kind_of_markup_and_leaves_ordinary_text_alone(text, expected):
    assert plain(text) == expected


def test_the_brand_on_the_sign_in_page_is_plain_text(app_db, monkeypatch):
    monkeypatch.delenv("OPTIN_DESK_PASSWORD", raising=False)
    with Session(app_db) as s:
        texting.update_defaults(s, brand=EVIL)
    at = page("app.py", signed_in=False)
    assert [h.value for h in at.subheader] == [f"Welcome to {SHOWN}"]
    assert_literal(sources(at))


def test_the_brand_in_the_sidebar_and_the_import_attestation_is_plain_text(app_db):
    with Session(app_db) as s:
        texting.update_defaults(s, brand=EVIL)
    at = page("app.py")
    assert f"### {SHOWN}" in [m.value for m in at.sidebar.markdown]
    at.switch_page("pages/import_customers.py").run()
    at.file_uploader(key="import_file").set_value(("list.csv", b"phone\n415-555-0101\n", "text/csv")).run()
    assert not at.exception
    assert at.checkbox(key="import_attested").label.endswith(SHOWN)
    assert_literal(sources(at))


def test_a_file_name_on_the_import_page_is_plain_text_in_the_check_the_result_and_an_error(app_db):
    at = page("import_customers.py")
    name = f"{EVIL}.csv"
    at.file_uploader(key="import_file").set_value((name, b"phone,first_name\n415-555-0101,Ann\n", "text/csv")).run()
    assert not at.exception
    at.button(key="import_check").click().run()
    at.button(key="import_go").click().run()
    assert not at.exception
    assert at.success[0].value.startswith(f"Imported {SHOWN}.csv: 1 new")
    assert_literal(sources(at))

    at.file_uploader(key="import_file").set_value((name, b"", "text/csv")).run()
    assert not at.exception
    assert at.error[0].value.startswith(f"{SHOWN}.csv is empty")
    assert_literal(sources(at))


def test_a_pos_source_name_is_plain_text_when_added_listed_and_synced(app_db):
    at = page("integrations.py")
    at.text_input(key="pos_new_name").input(EVIL)
    at.button(key="pos_add").click().run()
    assert not at.exception
    assert at.success[0].value.startswith(f"Added {SHOWN}.")
    assert [h.value for h in at.subheader] == [SHOWN]
    assert_literal(sources(at))
    with Session(app_db) as s:
        [src] = pos.list_sources(s)
        assert src.name == EVIL  # stored as typed: only the display escapes it


def test_a_duplicate_pos_source_name_in_the_error_is_plain_text(app_db):
    with Session(app_db) as s:
        pos.create_source(s, name=EVIL)
    at = page("integrations.py")
    at.text_input(key="pos_new_name").input(EVIL)
    at.button(key="pos_add").click().run()
    assert not at.exception
    assert any(f"already a POS source named {SHOWN}" in e.value for e in at.error)
    assert_literal(sources(at))
