"""Hostile and odd text (issue 11): compatibility forms of keywords count, and bidirectional controls
never reach a stored name or text, whichever path it came in by."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.audiences import saved as aud_saved
from core.consent import customers
from core.signups import forms, signup
from core.importing import pos, service
from core.messaging import inbox, texting
from core.consent.keywords import Keyword, classify
from core.models import Customer, Direction, Message, SmsStatus
from core.text import clean_text
from tests.conftest import NOW
from tests.factories import make_customer
from tests.import_helpers import write_csv

PHONE = "+14155550123"

# Right-to-left override + isolates + marks: "\u202eevil\u202c" displays reversed
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
HOSTILE_NAME = f"\u202eAda\u202c{BIDI}"


# --- keywords ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "ＳＴＯＰ",
        "ｓｔｏｐ",
        "ＵＮＳＵＢＳＣＲＩＢＥ",
        "Ｓｔｏｐ！",
        "ＯＰＴ ＯＵＴ",
        "ＳＴＯＰ．",
        "\u202eSTOP\u202c",
        "\u2066stop\u2069",
        "\u200fSTOP",
    ],
)
def test_full_width_and_bidi_wrapped_keywords_opt_out(body):
    assert classify(body) is Keyword.OPT_OUT


@pytest.mark.parametrize(
    "body", ["please ｓｔｏｐ texting me", "ＵＮＳＵＢＳＣＲＩＢＥ me from this", "Ｃａｎｃｅｌ my texts please"]
)
def test_full_width_revocation_words_in_a_longer_text_are_possible_opt_outs(body):
    assert classify(body) is Keyword.POSSIBLE_OPT_OUT


def test_full_width_yes_and_start_count_too():
    assert classify("ＹＥＳ") is Keyword.CONFIRM
    assert classify("ｓｔａｒｔ") is Keyword.RESUBSCRIBE
    assert classify("ｗｅｅｋｅｎｄ") is Keyword.NONE


def test_a_full_width_stop_texted_in_opts_the_customer_out(session, now):
    c = make_customer(session, status=SmsStatus.opted_in, phone_number=PHONE)
    inbox.receive(session, phone=PHONE, body="ＳＴＯＰ", now=now)
    session.refresh(c)
    assert c.sms_status is SmsStatus.opted_out


# --- bidi controls -------------------------------------------------------------------------------------------------


def test_clean_text_drops_control_and_bidi_characters_and_collapses_whitespace():
    assert clean_text(HOSTILE_NAME) == "Ada"
    assert clean_text(" Ann\t\n  Lee\x00\x7f\x85 ") == "Ann Lee"
    assert clean_text(None) == ""
    assert clean_text("مرحبا") == "مرحبا"  # right-to-left letters themselves are kept


def test_an_inbound_text_is_stored_and_shown_without_bidi_controls_but_keeps_its_lines(session, now):
    make_customer(session, status=SmsStatus.opted_in, phone_number=PHONE)
    inbox.receive(session, phone=PHONE, body="see you \u202eon Friday\u202c\nbye\u2069", now=now)
    inbound = session.exec(select(Message).where(Message.direction == Direction.inbound)).one()
    assert inbound.body == "see you on Friday\nbye"
    assert inbox.clean_body("\u200fhi\u200e") == "hi"


def _stored_names(session):
    session.expire_all()
    return [(c.first_name, c.last_name) for c in session.exec(select(Customer).order_by(Customer.id))]


def test_a_name_typed_on_the_dashboard_is_stored_without_bidi_controls(session, now):
    customers.add_customer(session, phone=PHONE, first_name=HOSTILE_NAME, last_name="Love\u202elace", now=now)
    assert _stored_names(session) == [("Ada", "Lovelace")]


def test_a_name_typed_on_the_sign_up_form_is_stored_without_bidi_controls(session, now):
    signup.submit(
        session,
        form_slug="main",
        answers={"first_name": HOSTILE_NAME, "last_name": "\u2067Lee\u2069", "phone": PHONE},
        now=now,
    )
    assert _stored_names(session) == [("Ada", "Lee")]


def test_an_imported_name_is_stored_without_bidi_controls(session, tmp_path, now):
    path = write_csv(tmp_path, "list.csv", ["Phone,First Name,Last Name", f"{PHONE},{HOSTILE_NAME},\u202eLee"])
    service.import_csv(session, path, attested=False, now=now)
    assert _stored_names(session) == [("Ada", "Lee")]


def test_a_pos_synced_name_and_the_source_name_are_stored_without_bidi_controls(session, tmp_path, now):
    src = pos.create_source(session, name="\u202eDutchie\u202c", now=now)
    assert src.name == "Dutchie"
    path = write_csv(tmp_path, "d.csv", ["Mobile,First Name", f"{PHONE},{HOSTILE_NAME}"])
    pos.sync(session, source_id=src.id, file=path, now=now)
    assert _stored_names(session) == [("Ada", "")]


def test_brand_form_and_audience_names_are_stored_without_bidi_controls(session, now):
    texting.update_defaults(session, brand="\u202eCorner Shop\u202c")
    assert texting.get_defaults(session).brand == "Corner Shop"
    assert forms.create(session, name="\u2066Counter\u2069", now=now).name == "Counter"
    assert aud_saved.save(session, name="\u200fRegulars", conditions=[], now=NOW).name == "Regulars"
