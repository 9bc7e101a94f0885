"""Personas search with any code point (issue 11): never a crash, on SQLite and PostgreSQL, in core and on the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.consent import personas
from tests.factories import make_customer

ODD_QUERIES = [
    "ann\U0010ffff",  # the last code point: no "next" character after it
    "\U0010ffff",
    "\U0010ffff\U0010ffff",
    "ann\ud7ff",  # the next code point would be a surrogate
    "\ud800",  # lone surrogates: not storable, not encodable as UTF-8
    "ann\udfff",
    "\ud83d\ude00 ann",  # a surrogate pair written as two code units
    "\x00",
    "ann\x00lee",
    "a" * 10_000,
    "ann " * 2_500,
    "5" * 10_000,
    "%",
    "_",
    "\\",
    "%_\\",
    "a%",
    "a_",
    "100%",
    "\\%",
    "'; DROP TABLE customer; --",
    "\u202eann\u202c",
    "\ufeff",
    "\u200b",
    "\ufffd",
    "😀",
    "Ｓｔｏｐ",
    "١٢٣٤٥٦",
    "@",
    "ann@\U0010ffff",
    "\U0010ffff@x",
    "\t\n\r",
]


@pytest.fixture
def people(session):
    make_customer(session, first_name="Ann", last_name="Lee", phone_number="+14155550101", email="ann@example.com")
    make_customer(session, first_name="100%", last_name="Real_Name", phone_number="+14155550102")
    make_customer(session, first_name="Back\\slash", last_name="Zed", phone_number="+14155550103")
    return session


@pytest.mark.parametrize("query", ODD_QUERIES, ids=[repr(q[:12]) + f"/{len(q)}" for q in ODD_QUERIES])
def test_any_query_searches_and_counts_without_crashing(people, query):
    session = people
    q = personas.parse_query(query)
    assert "\x00" not in q.text and not any(0xD800 <= ord(c) <= 0xDFFF for c in q.text)
    page = personas.search(session, query=query)
    assert personas.count(session, query=query) >= len(page.rows)


def test_like_wildcards_in_a_query_match_themselves(people):
    names = lambda q: sorted(c.first_name for c in personas.search(people, query=q).rows)  # noqa: E731
    assert names("100%") == ["100%"]
    assert names("%") == []
    assert names("_") == []
    assert names("back\\") == ["Back\\slash"]
    assert personas.count(people, query="%") == 0


def test_junk_around_a_name_is_ignored_and_the_name_still_found(people):
    for query in ("ann\x00", "\u202eann\u202c", "ann\ud800", "\ud800ann"):
        assert [c.first_name for c in personas.search(people, query=query).rows] == ["Ann"], repr(query)


def test_a_query_ending_in_the_last_code_point_finds_what_starts_with_it(session):
    make_customer(session, first_name="Ann\U0010ffffx", last_name="Lee", phone_number="+14155550104")
    make_customer(session, first_name="Anna", last_name="Lee", phone_number="+14155550105")
    assert [c.first_name for c in personas.search(session, query="ann\U0010ffff").rows] == ["Ann\U0010ffffx"]


# --- the page ------------------------------------------------------------------------------------------------------

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "personas.py")


# (a lone surrogate can't reach the page: the browser sends UTF-8, and AppTest can't encode one either)
@pytest.mark.parametrize("query", ["ann\U0010ffff", "ann\x00", "a" * 10_000, "%_\\", "\u202e\U0010ffff"])
def test_the_personas_page_searches_any_text_without_an_error(app_db, query):
    with Session(app_db) as s:
        make_customer(s, first_name="Ann", last_name="Lee", phone_number="+14155550101")
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["owner_signed_in"] = True
    at.run()
    at.text_input(key="persona_search").set_value(query).run()
    assert not at.exception
    assert not at.error
