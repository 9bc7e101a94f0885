"""AppTest: the §11 screens — Age gate, Carrier registration, deleting a customer's data (twice), the opt-out
list, the age gate on the public form and in the Inbox simulator, a deactivation file on Import."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from core.consent import age
from core.messaging import registration, texting
from core.models import Customer, Message, SignupForm, SmsStatus, Suppression
from tests.factories import make_customer

PAGES = Path(__file__).resolve().parent.parent / "pages"
PHONE = "+14155550123"


def _app(name: str, *, owner: bool = True, **params) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=30)
    if owner:
        at.session_state["owner_signed_in"] = True
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    return at


def _all_text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(parts)


def _gate(engine, value: int) -> None:
    with Session(engine) as s:
        age.set_min_age(s, value)


# --- Settings > Age gate ----------------------------------------------------------------------


def test_the_age_gate_page_turns_the_gate_on_and_counts_refusals(app_db):
    at = _app("age_gate.py")
    assert at.title[0].value == "Age gate"
    assert "Off: no date of birth is asked." in _all_text(at)
    at.segmented_control(key="age_choice").set_value(21).run()
    at.button(key="age_save").click().run()
    assert not at.exception
    assert "Age gate on: customers must be 21 or older to join." in _all_text(at)
    with Session(app_db) as s:
        assert age.min_age(s) == 21
    assert "No one has been refused for age yet." in _all_text(at)


# --- the public form ------------------------------------------------------------------------------


def test_the_public_form_asks_for_the_date_of_birth_and_refuses_a_minor_calmly(app_db):
    _gate(app_db, 21)
    at = _app("signup.py", owner=False)
    labels = [t.label for t in at.text_input]
    assert "Date of birth *" in labels
    assert "You must be 21 or older to join." in _all_text(at)
    at.text_input(key="signup_first_name").input("Kid")
    at.text_input(key="signup_phone").input("(415) 555-0123")
    at.text_input(key="signup_birthday").input("02/31/2005")
    at.button(key="signup_submit").click().run()
    assert "isn't a real date" in _all_text(at)
    at.text_input(key="signup_birthday").input("07/14/2010")
    at.button(key="signup_submit").click().run()
    assert not at.exception
    assert at.subheader[0].value == "Sorry, we can't sign you up"
    assert "only for customers 21 or older" in _all_text(at)
    with Session(app_db) as s:
        assert s.exec(select(func.count()).select_from(Customer)).one() == 0
        assert s.exec(select(SignupForm.age_refusals).where(SignupForm.is_main == True)).one() == 1  # noqa: E712


# --- the Inbox simulator ----------------------------------------------------------------------------


def test_the_simulator_shows_the_birth_date_question_and_the_under_age_reply(app_db):
    _gate(app_db, 21)
    with Session(app_db) as s:
        texting.get_defaults(s)
    at = _app("inbox.py")
    at.segmented_control(key="inbox_mode").set_value("phone").run()
    at.text_input(key="inbox_phone").input("(415) 555-0123").run()
    at.radio(key="inbox_to").set_value("join").run()
    at.text_input(key="inbox_message").input("JOIN")
    at.button(key="inbox_send").click().run()
    assert not at.exception
    bubbles = "\n".join(t.value for t in at.text)
    assert "JOIN" in bubbles and "Reply with your date of birth (MM/DD/YYYY)" in bubbles
    at.text_input(key="inbox_message").input("07/14/2012")
    at.button(key="inbox_send").click().run()
    assert not at.exception
    assert "under age, so this conversation is not kept" in _all_text(at)
    with Session(app_db) as s:
        assert s.exec(select(func.count()).select_from(Message).where(Message.phone == PHONE)).one() == 0


# --- Personas: delete a customer's data, the opt-out list -------------------------------------------


def test_deleting_a_customer_on_personas_needs_confirmation_and_twice_says_it_was_done(app_db):
    with Session(app_db) as s:
        c = make_customer(s, first_name="Ann", phone_number=PHONE, status=SmsStatus.opted_in)
        cid = c.id
    at = _app("personas.py", customer=str(cid))
    assert at.button(key="persona_delete").disabled
    at.checkbox(key=f"persona_delete_sure_{cid}").check().run()
    at.button(key="persona_delete").click().run()
    assert not at.exception
    assert "Their number stays suppressed" in _all_text(at)
    with Session(app_db) as s:
        assert s.get(Customer, cid) is None and s.exec(select(func.count()).select_from(Suppression)).one() == 1
    # an old link (or a second tab) to the deleted customer
    again = _app("personas.py", customer=str(cid))
    assert "This customer's data was deleted on" in _all_text(again)
    assert "persona_delete" not in [b.key for b in again.button]


def test_deleting_from_a_stale_page_says_already_deleted(app_db):
    with Session(app_db) as s:
        cid = make_customer(s, first_name="Ann", phone_number=PHONE).id
    first = _app("personas.py", customer=str(cid))
    second = _app("personas.py", customer=str(cid))
    for at in (first, second):
        at.checkbox(key=f"persona_delete_sure_{cid}").check().run()
    first.button(key="persona_delete").click().run()
    second.button(key="persona_delete").click().run()
    assert not second.exception
    assert "already deleted on" in _all_text(second)


def test_the_opt_out_list_downloads_from_personas_and_audiences(app_db):
    with Session(app_db) as s:
        make_customer(s, first_name="Out", phone_number=PHONE, status=SmsStatus.opted_out)
    at = _app("personas.py")
    assert "1 opted-out phone" in _all_text(at)
    aud = _app("audiences.py")
    assert "Every opted-out phone with when, how and where" in _all_text(aud)


def test_audiences_say_how_many_are_left_out_by_the_age_gate(app_db):
    with Session(app_db) as s:
        make_customer(s, status=SmsStatus.opted_in, phone_number=PHONE)
    _gate(app_db, 21)
    at = _app("audiences.py")
    assert "Age gate 21+: 1 customer whose age is not verified" in _all_text(at)


# --- Import > Deactivated numbers ---------------------------------------------------------------------


def test_a_deactivation_file_on_the_import_page_voids_and_reports_unknown_numbers(app_db):
    with Session(app_db) as s:
        make_customer(s, phone_number=PHONE, status=SmsStatus.opted_in, now=dt.datetime(2025, 1, 1))
    at = _app("import_customers.py")
    data = b"phone,deactivation_date\n415-555-0123,2025-06-01\n415-555-0199,2025-06-01\n"
    at.file_uploader(key="deact_file").set_value(("deact.csv", data, "text/csv"))
    at.run()
    at.button(key="deact_go").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Voided"] == "1" and metrics["Not customers"] == "1"
    assert "not your customers (that's normal" in _all_text(at)
    with Session(app_db) as s:
        assert s.exec(select(Customer.sms_status).where(Customer.phone == PHONE)).one() is SmsStatus.not_opted_in


# --- Settings > Carrier registration ------------------------------------------------------------------


def test_the_registration_page_shows_what_is_missing_then_offers_the_packet(app_db):
    at = _app("registration.py")
    assert at.title[0].value == "Carrier registration"
    assert "Before the packet can be generated" in _all_text(at)
    assert "not localhost" in _all_text(at)
    at.button(key="reg_save").click().run()  # the suggestions, as offered
    assert not at.exception
    with Session(app_db) as s:
        texting.update_defaults(s, base_url="https://greenleaf.example")
        assert registration.answers(s)["sample_1"]
    at = _app("registration.py")
    assert "Before the packet can be generated" not in _all_text(at)
    assert "https://greenleaf.example/signup?form=main" in _all_text(at)
    at.text_input(key="reg_sample_2").input("Weekend hours: open late")
    at.button(key="reg_save").click().run()
    assert "must name your shop (Green Leaf Goods)" in _all_text(at)
