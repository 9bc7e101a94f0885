"""AppTest: the public sign-up page — each outcome of §6, each field error, an unknown form."""

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.signups import forms
from core.models import Customer, FormSubmission, Message, SmsStatus
from tests.factories import make_customer

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "signup.py")
E164 = "+14155550123"


def _open(form: str | None = None) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=30)
    if form is not None:
        app.query_params["form"] = form
    app.run()
    assert not app.exception
    return app


def _fill(app: AppTest, **answers) -> AppTest:
    for key, value in answers.items():
        app.text_input(key=f"signup_{key}").input(value)
    app.button(key="signup_submit").click().run()
    assert not app.exception
    return app


def _texts(app, kind):
    return [w.value for w in getattr(app, kind)]


def _count(engine, model):
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _customer(engine):
    with Session(engine) as s:
        return s.exec(select(Customer).where(Customer.phone == E164)).first()


def test_the_page_needs_no_sign_in_and_shows_the_brand_the_fields_and_the_disclosure(app_db):
    app = _open()
    assert app.title[0].value == "Green Leaf Goods"
    labels = [t.label for t in app.text_input]
    assert labels == [
        "First name *",
        "Last name (optional)",
        "Mobile phone *",
        "Email (optional)",
        "Birthday (optional)",
        "Signature (optional)",
    ]  # zip is hidden on the main form
    html = " ".join(str(h.proto) for h in app.get("html"))
    assert "Consent is not a condition of purchase" in html and "Reply HELP for help, STOP to cancel" in html
    assert "Sign in" not in " ".join(_texts(app, "markdown"))


def test_a_view_is_recorded_once_per_browser_session(app_db):
    app = _open()
    app.run()
    app.run()
    _open()  # a second visitor
    with Session(app_db) as s:
        assert forms.main_form(s).views == 2


def test_double_opt_in_says_check_your_phone_and_reply_y(app_db):
    app = _fill(_open(), first_name="Ann", phone="(415) 555-0123")
    assert "Check your phone" in _texts(app, "subheader")
    assert any("reply Y to confirm" in i for i in _texts(app, "info"))
    assert _customer(app_db).sms_status is SmsStatus.pending
    assert not app.text_input  # the form is replaced by the outcome


def test_a_second_submission_of_the_same_phone_says_a_request_was_already_sent(app_db):
    app = _fill(_open(), first_name="Ann", phone="(415) 555-0123")
    app.button(key="signup_again").click().run()
    app = _fill(app, first_name="Ann", phone="415.555.0123")
    assert any("We already sent you a request — reply Y to it" in i for i in _texts(app, "info"))
    assert _count(app_db, Customer) == 1
    with Session(app_db) as s:
        assert len(s.exec(select(Message).where(Message.status == "sent")).all()) == 1


def test_auto_opt_in_says_you_are_subscribed(app_db):
    with Session(app_db) as s:
        main = forms.main_form(s)
        forms.update(
            s, form_id=main.id, fields={**main.fields, "signature": "required"}, double_opt_in=False, auto_opt_in=True
        )
    app = _open()
    assert "Signature *" in [t.label for t in app.text_input]
    app = _fill(app, first_name="Ann", phone="4155550123", signature="Ann Lee")
    assert "You're subscribed!" in _texts(app, "subheader")
    assert any("You're subscribed to texts from Green Leaf Goods" in s for s in _texts(app, "success"))
    assert _customer(app_db).sms_status is SmsStatus.opted_in


def test_an_opted_in_phone_is_told_it_is_already_subscribed(app_db):
    with Session(app_db) as s:
        make_customer(s, status=SmsStatus.opted_in, phone_number=E164)
    app = _fill(_open(), first_name="Ann", phone="4155550123")
    assert any("already subscribed" in s for s in _texts(app, "success"))


def test_an_opted_out_phone_is_told_to_text_start_and_gets_no_text(app_db):
    with Session(app_db) as s:
        make_customer(s, status=SmsStatus.opted_out, phone_number=E164)
    app = _fill(_open(), first_name="Ann", phone="4155550123")
    assert "Text START to rejoin" in _texts(app, "subheader")
    assert any("text START to (415) 555-0100" in w for w in _texts(app, "warning"))
    assert _count(app_db, Message) == 0
    assert _customer(app_db).sms_status is SmsStatus.opted_out


def test_a_form_without_sms_consent_says_thank_you(app_db):
    with Session(app_db) as s:
        forms.create(
            s,
            name="Newsletter",
            slug="news",
            collects_sms=False,
            fields={"first_name": "required", "email": "required"},
        )
    app = _open("news")
    assert [t.label for t in app.text_input] == ["First name *", "Email *"]
    assert not app.get("html") or "condition of purchase" not in " ".join(str(h.proto) for h in app.get("html"))
    app = _fill(app, first_name="Bo", email="bo@example.com")
    assert "Thank you!" in _texts(app, "subheader")
    assert _count(app_db, Message) == 0


def test_an_unknown_form_gets_a_friendly_not_found_and_a_way_to_the_main_form(app_db):
    app = _open("no-such-form")
    assert "Sign-up form not found" in _texts(app, "subheader")
    assert not app.text_input
    app.button(key="signup_open_main").click().run()
    assert [t.label for t in app.text_input][0] == "First name *"


@pytest.mark.parametrize(
    "answers, message",
    [
        ({"phone": "4155550123"}, "First name is required."),
        ({"first_name": "Ann"}, "Mobile phone is required."),
        ({"first_name": "Ann", "phone": "415-555-CALL"}, "no letters"),
        ({"first_name": "Ann", "phone": "555"}, "too few digits"),
        ({"first_name": "Ann", "phone": "4155550123", "email": "ann@example"}, "email address"),
        ({"first_name": "Ann", "phone": "4155550123", "birthday": "02/31/1990"}, "isn't a real date"),
        ({"first_name": "A" * 5000, "phone": "4155550123"}, "too long (5,000 characters"),
        ({"first_name": "<script>alert(1)</script>", "phone": "4155550123"}, "can't contain symbols like < >"),
        ({"first_name": "Ann", "phone": "4155550123", "signature": "<b>x</b>"}, "can't contain < or >"),
    ],
)
def test_a_wrong_field_gets_its_message_beside_it_and_nothing_is_saved(app_db, answers, message):
    app = _fill(_open(), **answers)
    errors = _texts(app, "error")
    assert any(message in e for e in errors), errors
    assert _count(app_db, Customer) == 0 and _count(app_db, FormSubmission) == 0 and _count(app_db, Message) == 0
    # what was typed is kept, so fixing one field is enough
    for key, value in answers.items():
        assert app.text_input(key=f"signup_{key}").value == value
    assert any("nothing was saved yet" in c for c in _texts(app, "caption"))


def test_fixing_the_wrong_field_then_submits(app_db):
    app = _fill(_open(), first_name="Ann", phone="415-555-CALL")
    app = _fill(app, phone="415-555-0123")
    assert not app.error and "Check your phone" in _texts(app, "subheader")


# --- Issue 11: not an SMS pump ---------------------------------------------------------------------------------


def test_past_the_device_limit_the_page_says_try_again_later_keeps_what_was_typed_and_saves_nothing(app_db):
    app = _open()
    for i in range(5):  # AppTest has no client address: every sign-up here is the same "unknown" device
        _fill(app, first_name="Ann", phone=f"415555{1000 + i}")
        app.button(key="signup_again").click().run()
    assert _count(app_db, Customer) == 5 and _count(app_db, Message) == 5
    _fill(app, first_name="Zed", phone="4155551099")
    assert [w.value for w in app.warning] == [
        "Too many sign-ups from this device in the last hour. Please try again later."
    ]
    assert not app.error and app.text_input(key="signup_first_name").value == "Zed"
    assert _count(app_db, Customer) == 5 and _count(app_db, Message) == 5 and _count(app_db, FormSubmission) == 5


def test_a_premium_rate_number_gets_its_message_beside_the_phone_field(app_db):
    app = _fill(_open(), first_name="Ann", phone="1 900 555 0123")
    assert _texts(app, "error") == ["That looks like a premium-rate number; enter a mobile number."]
    assert _count(app_db, Customer) == 0 and _count(app_db, Message) == 0


def test_a_first_name_with_a_link_is_refused_beside_the_field_and_never_texted(app_db):
    app = _fill(_open(), first_name="visit http://phish.example/x", phone="4155550123")
    assert _texts(app, "error") == ["First name can't contain a web address or link: type just the name."]
    assert _count(app_db, Customer) == 0 and _count(app_db, Message) == 0
