"""AppTest: the public Stop texting me page (rulebook §10) — no sign-in, one answer for every number,
errors beside the field, the device limit."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.models import Customer, Message, MessageKind, SmsStatus
from tests.factories import make_customer

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "stop.py")


def _open() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    return at


def _stop(at: AppTest, phone: str) -> AppTest:
    at.text_input(key="stop_phone").input(phone)
    at.button(key="stop_submit").click().run()
    assert not at.exception
    return at


def test_the_page_needs_no_sign_in_and_asks_for_the_number(app_db):
    at = _open()
    assert at.title[0].value == "Green Leaf Goods"
    assert at.subheader[0].value == "Stop texting me"
    assert at.text_input(key="stop_phone").label == "Mobile number"
    assert not at.error


def test_a_known_customer_is_opted_out_and_the_answer_is_the_same_for_a_stranger(app_db):
    with Session(app_db) as s:
        c = make_customer(s, status=SmsStatus.opted_in, phone_number="+14155550123")
        cid = c.id
    known = _stop(_open(), "(415) 555-0123")
    stranger = _stop(_open(), "(415) 555-0199")
    assert known.subheader[0].value == stranger.subheader[0].value == "You won't get texts from us"
    assert known.success[0].value.replace("555-0123", "N") == stranger.success[0].value.replace("555-0199", "N")
    with Session(app_db) as s:
        assert s.get(Customer, cid).sms_status is SmsStatus.opted_out
        texts = s.exec(select(Message).where(Message.kind == MessageKind.opt_out_confirmation)).all()
        assert [m.phone for m in texts] == ["+14155550123"]  # the stranger gets nothing


def test_a_number_that_is_not_a_mobile_gets_its_message_beside_the_field(app_db):
    at = _stop(_open(), "1-800-555-0123")
    assert "toll-free" in at.error[0].value
    assert not at.success
    at = _stop(_open(), "12")
    assert "doesn't look like a phone number" in at.error[0].value


def test_past_the_device_limit_the_page_says_try_again_later_or_text_stop(app_db):
    at = _open()
    for n in range(5):
        _stop(at, f"(415) 555-01{n:02d}")
        at.button(key="stop_again").click().run()
    _stop(at, "(415) 555-0188")
    assert "try again later" in at.warning[0].value and "text STOP to (415) 555-0100" in at.warning[0].value
    with Session(app_db) as s:
        assert s.exec(select(Customer).where(Customer.phone == "+14155550188")).first() is None
