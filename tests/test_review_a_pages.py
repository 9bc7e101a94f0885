"""Review pass (pages a shop owner follows from the texting guide): bad input gets a clear message and loses nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from core.messaging import texting
from core.models import Customer, SignupForm, SmsStatus
from tests.factories import make_customer

PAGES = Path(__file__).resolve().parent.parent / "pages"


def open_page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=30)
    at.session_state["owner_signed_in"] = True
    at.run()
    assert not at.exception
    return at


def customer_count(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Customer)).one()


# --- Personas: Add a customer --------------------------------------------------------------------------------------

def test_adding_a_customer_shows_every_problem_at_once_and_keeps_what_was_typed(app_db):
    at = open_page("personas.py")
    long_name = "<b>x</b>" + "N" * 5000
    at.text_input(key="persona_add_phone").set_value("555-CALL-NOW")
    at.text_input(key="persona_add_first").set_value(long_name)
    at.text_input(key="persona_add_email").set_value("bad@")
    at.button(key="persona_add_submit").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("phone number can't be used" in e for e in errors)
    assert any("First name is too long" in e for e in errors)
    assert any("Email" in e for e in errors)
    assert customer_count(app_db) == 0
    assert at.text_input(key="persona_add_phone").value == "555-CALL-NOW"
    assert at.text_input(key="persona_add_first").value == long_name


def test_adding_a_customer_without_a_phone_asks_for_one(app_db):
    at = open_page("personas.py")
    at.text_input(key="persona_add_first").set_value("Walk")
    at.button(key="persona_add_submit").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Type the customer's mobile phone number."]
    assert customer_count(app_db) == 0


def test_a_name_with_markup_is_refused_when_adding_and_nothing_is_added(app_db):
    at = open_page("personas.py")
    at.text_input(key="persona_add_phone").set_value("415 555 0199")
    at.text_input(key="persona_add_first").set_value("*Star*")
    at.button(key="persona_add_submit").click().run()
    assert not at.exception and not at.success
    assert any("First name" in e.value for e in at.error)
    with Session(app_db) as s:
        assert s.exec(select(Customer)).all() == []


def test_an_opted_in_customer_says_plainly_why_no_request_can_be_sent(app_db):
    with Session(app_db) as s:
        cid = make_customer(s, first_name="Ada", status=SmsStatus.opted_in).id
    at = AppTest.from_file(str(PAGES / "personas.py"), default_timeout=30)
    at.session_state["owner_signed_in"] = True
    at.query_params["customer"] = str(cid)
    at.run()
    assert not at.exception
    assert "Can't send. Already opted in: no opt-in request needed." in [c.value for c in at.caption]


# --- Audiences: a date range that ends before it starts ------------------------------------------------------------

def test_a_range_ending_before_it_starts_is_explained_keeps_the_name_and_blocks_save(app_db):
    with Session(app_db) as s:
        make_customer(s, first_name="In", status=SmsStatus.opted_in)
    at = open_page("audiences.py")
    at.text_input(key="aud_name").input("Late autumn").run()
    at.button(key="aud_add").click().run()
    at.selectbox(key="aud_trait_2_opt_in_status").set_value("created").run()
    at.selectbox(key="aud_op_2_created").set_value("between").run()
    at.date_input(key="aud_val_2_created_between_a").set_value(dt.date(2026, 11, 20)).run()
    at.date_input(key="aud_val_2_created_between_b").set_value(dt.date(2026, 11, 1)).run()
    assert not at.exception
    [warning] = [w.value for w in at.warning]
    assert "Condition 2: The range ends (01 Nov 2026) before it starts (20 Nov 2026)." in warning
    assert "nothing else is lost" in warning
    # the save box stays on screen with the name as typed; saving waits for the fix
    assert at.text_input(key="aud_name").value == "Late autumn"
    assert at.button(key="aud_save_new").disabled
    assert "Fix the condition above to save." in [c.value for c in at.caption]
    at.date_input(key="aud_val_2_created_between_b").set_value(dt.date(2026, 12, 31)).run()
    assert not at.exception and not at.warning
    assert at.text_input(key="aud_name").value == "Late autumn"
    assert not at.button(key="aud_save_new").disabled


# --- Sign-up Forms: names are shown as text --------------------------------------------------------------------------

def test_a_new_form_named_with_markdown_is_announced_as_text(app_db):
    at = open_page("signup_forms.py")
    at.text_input(key="sf_new_name").input("*Tablet* <script>").run()
    at.button(key="sf_create").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Created “\\*Tablet\\* \\<script\\>”.")
    with Session(app_db) as s:
        assert s.exec(select(SignupForm).where(SignupForm.name == "*Tablet* <script>")).one()


# --- Texting Defaults: a 2,000-character template --------------------------------------------------------------------

def test_a_2000_character_template_is_refused_with_its_length_and_nothing_is_saved(app_db):
    with Session(app_db) as s:
        before = texting.get_defaults(s).opt_in_confirmation
    at = open_page("texting_defaults.py")
    at.text_area(key="td_opt_in_confirmation").input("X" * 2000).run()
    assert not at.exception
    assert any("it has 2,000" in m.value for m in at.markdown)
    assert at.button(key="save").disabled
    assert at.text_area(key="td_opt_in_confirmation").value == "X" * 2000  # what was typed stays
    with Session(app_db) as s:
        assert texting.get_defaults(s).opt_in_confirmation == before
