"""Configure > Texting Defaults, driven like a browser would (AppTest) on the `app_db` SQLite file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.messaging import inbox, texting
from core.models import Direction, Message, MessageKind, MessageStatus, utcnow

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "texting_defaults.py")
OPT_OUT_BASE = "Green Leaf Goods: You're unsubscribed and will receive no more messages. Reply START to rejoin."


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["owner_signed_in"] = True
    at.run()
    assert not at.exception
    return at


def saved(engine) -> dict:
    with Session(engine) as s:
        return texting.get_defaults(s).model_dump(exclude={"updated_at"})


def texts(at) -> str:
    """Everything the page wrote, as one string (markdown, captions, alerts)."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info] + [s.value for s in at.success]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts)).replace("**", "")  # as read on screen: markdown escapes removed


def type_into(at, key: str, value) -> AppTest:
    widget = (
        at.text_area(key=key)
        if key.startswith("td_") and key[3:] in texting.TEMPLATE_FIELDS
        else at.text_input(key=key)
    )
    widget.input(value).run()
    assert not at.exception
    return at


def save(at) -> AppTest:
    assert not at.button(key="save").disabled
    at.button(key="save").click().run()
    assert not at.exception
    return at


def test_the_page_opens_with_the_saved_defaults_and_save_enabled(app_db):
    at = open_page()
    assert at.title[0].value == "Texting Defaults"
    assert at.text_input(key="td_join_number").value == "(415) 555-0142"
    assert at.text_area(key="td_opt_in_request").value == texting.default_template("opt_in_request")
    assert [a.label for a in at.text_area] == [
        "Opt-in request",
        "Post opt-in confirmation",
        "Opt-out confirmation",
        "Resubscribe confirmation",
        "Help reply",
    ]
    assert not at.button(key="save").disabled
    assert "Meets the carrier rules" in texts(at)
    assert any(t.value.startswith("Hi Jamie, you're subscribed to Green Leaf Goods texts.") for t in at.text)
    for placeholder in ("{brand}", "{first_name}", "{join_number}", "{help_contact}"):
        assert placeholder in texts(at)
    assert "Why some words are refused here" in texts(at)


def test_twenty_percent_off_in_the_opt_in_request_shows_the_error_and_save_stays_disabled(app_db):
    before = saved(app_db)
    at = type_into(open_page(), "td_opt_in_request", "20% off everything")
    assert 'Remove "20% off": carriers filter opt-in requests that contain offers or prices.' in texts(at)
    assert at.button(key="save").disabled
    assert "Fix before saving: Opt-in request" in texts(at)
    with pytest.raises(Exception, match="disabled"):
        at.button(key="save").click()
    assert saved(app_db) == before


def test_a_compliant_edit_with_only_warnings_can_be_saved(app_db):
    new = texting.default_template("opt_in_request") + " 🌿"
    at = type_into(open_page(), "td_opt_in_request", new)
    assert "UCS-2 because of: 🌿" in texts(at)
    save(at)
    assert "Saved." in texts(at)
    assert saved(app_db)["opt_in_request"] == new


def test_a_template_with_an_unknown_placeholder_is_refused(app_db):
    before = saved(app_db)
    at = type_into(open_page(), "td_help_reply", texting.default_template("help_reply") + " Code: {coupon_code}")
    assert "Remove {coupon_code}: the placeholders you can use are" in texts(at)
    assert at.button(key="save").disabled
    assert saved(app_db) == before


def test_the_segment_count_changes_between_160_and_161_characters_and_with_an_emoji(app_db):
    at = open_page()
    text = OPT_OUT_BASE + " " + "x" * (160 - len(OPT_OUT_BASE) - 1)
    assert len(text) == 160
    type_into(at, "td_opt_out_confirmation", text)
    assert "GSM-7 · 160 of 160 units · 1 segment" in texts(at)
    type_into(at, "td_opt_out_confirmation", text + "x")
    assert "GSM-7 · 161 units · 2 segments" in texts(at)
    type_into(at, "td_opt_out_confirmation", text[:-1] + "😀")
    assert "UCS-2 · 161 units · 3 segments" in texts(at)
    assert "UCS-2 because of: 😀" in texts(at)
    assert not at.button(key="save").disabled  # cost is a warning, not an error


def test_a_help_reply_saved_on_the_page_is_the_next_reply_in_the_inbox(app_db):
    new = "{brand} here, {first_name}! Questions? Write to {help_contact}. Reply STOP to opt out."
    save(type_into(open_page(), "td_help_reply", new))
    with Session(app_db) as s:
        [reply] = inbox.receive(s, phone="+14155550123", body="HELP")
    assert reply.body == (
        "Green Leaf Goods here, there! Questions? Write to support@greenleafgoods.example. Reply STOP to opt out."
    )
    assert reply.status is MessageStatus.sent


def test_reset_to_default_puts_the_default_template_back(app_db):
    at = type_into(open_page(), "td_help_reply", "nonsense")
    at.button(key="reset_help_reply").click().run()
    assert at.text_area(key="td_help_reply").value == texting.default_template("help_reply")
    assert at.button(key="reset_help_reply").disabled
    assert not at.button(key="save").disabled


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "Write the message; it can't be blank."),
        ("x" * 2000, "Shorten the message to 1,000 characters or fewer (it has 2,000)."),
    ],
)
def test_an_empty_or_2000_character_template_is_refused_with_a_clear_message(app_db, value, message):
    before = saved(app_db)
    at = type_into(open_page(), "td_opt_in_request", value)
    assert message in texts(at)
    assert at.button(key="save").disabled
    assert saved(app_db) == before


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("td_join_number", "555-01", "Text To Join number: too few digits."),
        ("td_main_number", "(415) 555-014", "Main number: too few digits."),
        ("td_main_number", "hello", "Main number: not a phone number."),
        ("td_join_number", "", "Enter the Text To Join number: it cannot be blank."),
        ("td_join_number", "(415) 555-0100", "The Text To Join number must differ from the main number."),
        ("td_brand", "", "The brand name cannot be empty"),
        ("td_help_contact", "ask at the counter", "must be a phone number, an email or a website"),
        ("td_join_keyword", "STOP", "STOP is a reserved keyword"),
    ],
)
def test_an_invalid_setting_shows_a_clear_message_and_nothing_is_saved(app_db, key, value, message):
    before = saved(app_db)
    at = type_into(open_page(), key, value)
    assert message in texts(at)
    assert at.button(key="save").disabled
    assert saved(app_db) == before


def test_a_valid_number_is_saved_in_e164_and_shown_the_way_people_read_it(app_db):
    at = save(type_into(open_page(), "td_join_number", "415.555.0177"))
    assert saved(app_db)["join_number"] == "+14155550177"
    assert at.text_input(key="td_join_number").value == "(415) 555-0177"
    assert "Customers text JOIN to (415) 555-0177" in texts(at)


def test_an_end_of_quiet_hours_before_the_start_is_refused_beside_the_end(app_db):
    """Rulebook §9 (issue 14): no state allows texts overnight, so the window must end after it starts."""
    before = saved(app_db)
    at = open_page()
    at.time_input(key="td_window_start").set_value(dt.time(22, 0)).run()
    at.time_input(key="td_window_end").set_value(dt.time(6, 0)).run()
    assert "The window must end after it starts: 22:00 until 06:00 would run overnight" in texts(at)
    assert at.button(key="save").disabled
    assert saved(app_db) == before


def test_an_equal_start_and_end_of_the_window_is_refused(app_db):
    before = saved(app_db)
    at = open_page()
    at.time_input(key="td_window_end").set_value(dt.time(8, 0)).run()
    assert "The sending window cannot start and end at the same time." in texts(at)
    assert at.button(key="save").disabled
    assert saved(app_db) == before


def test_the_shops_time_zone_and_region_are_saved(app_db):
    at = open_page()
    assert at.selectbox(key="td_timezone").options[0] == "America/New_York"
    at.selectbox(key="td_timezone").set_value("America/Chicago").run()
    at.selectbox(key="td_default_region").set_value("CA").run()
    at.number_input(key="td_max_opt_in_requests").set_value(3).run()
    save(at)
    row = saved(app_db)
    assert (row["timezone"], row["default_region"], row["max_opt_in_requests"]) == ("America/Chicago", "CA", 3)


def test_the_text_to_join_sign_is_shown_and_downloadable(app_db):
    at = open_page()
    assert "Customers text JOIN to (415) 555-0142" in texts(at)
    assert len(at.get("image")) == 1
    assert at.get("download_button")[0].proto.label == "Download the sign (PNG)"


def test_queued_messages_are_counted_and_released_by_the_button(app_db):
    from tests.factories import make_customer

    with Session(app_db) as s:
        c = make_customer(s, phone_number="+14155550123")
        s.add(
            Message(
                customer_id=c.id,
                phone=c.phone,
                direction=Direction.outbound,
                body="x",
                kind=MessageKind.opt_in_request,
                status=MessageStatus.queued,
                send_at=utcnow() + dt.timedelta(days=1),
            )
        )
        s.commit()
    at = open_page()
    assert "1 text is waiting for quiet hours to end; the next goes" in texts(at)
    assert at.metric[0].value == "1"
    with Session(app_db) as s:  # its time comes
        msg = s.exec(select(Message).where(Message.status == MessageStatus.queued)).one()
        msg.send_at = utcnow() - dt.timedelta(minutes=1)
        s.add(msg)
        s.commit()
    at.button(key="release_due").click().run()
    assert "Sent 1, blocked 0, still waiting 0." in texts(at)
    assert "No texts are waiting for quiet hours to end." in texts(at)
    with Session(app_db) as s:
        assert s.exec(select(Message)).one().status is MessageStatus.sent


def test_a_signed_out_visitor_sees_nothing(app_db):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert at.error[0].value == "Sign in to see this page."
    assert not at.text_area


def test_a_help_contact_with_an_offer_a_regulated_word_and_a_shortener_is_refused_beside_the_field(app_db):
    at = type_into(open_page(), "td_help_contact", "FREE CBD deals bit.ly/x7")
    shown = texts(at)
    assert 'Remove "FREE" from the support contact' in shown and 'Remove "CBD" from the support contact' in shown
    assert "Replace the bit.ly link in the support contact" in shown
    assert at.button(key="save").disabled
    assert saved(app_db)["help_contact"] == texting.DEFAULT_HELP_CONTACT


def test_a_2000_character_template_is_refused_with_its_length_and_nothing_is_saved(app_db):
    with Session(app_db) as s:
        before = texting.get_defaults(s).opt_in_confirmation
    at = open_page()
    at.text_area(key="td_opt_in_confirmation").input("X" * 2000).run()
    assert not at.exception
    assert any("it has 2,000" in m.value for m in at.markdown)
    assert at.button(key="save").disabled
    assert at.text_area(key="td_opt_in_confirmation").value == "X" * 2000  # what was typed stays
    with Session(app_db) as s:
        assert texting.get_defaults(s).opt_in_confirmation == before


# --- Rulebook §9–§10 (issue 14) -------------------------------------------------------------------------------


def test_the_page_says_which_window_applies_to_the_shops_own_area_and_why(app_db):
    at = open_page()  # the main number (415) 555-0100: San Francisco, California
    shown = texts(at)
    assert "Customers in California (your number's area): 08:00–21:00 every day" in shown
    assert "the federal rule applies" in shown and "narrow today's window to 08:00–20:00" in shown
    type_into(at, "td_main_number", "(713) 555-0100")  # the area sentence follows the saved number
    save(at)
    shown = texts(at)
    assert "Customers in Texas (your number's area): Monday–Saturday 09:00–21:00, Sunday 12:00–21:00" in shown
    assert "Tex. Bus. & Com. Code §301.051" in shown
    table = at.dataframe[0].value  # the state table
    assert list(table["Where"]) == ["Connecticut", "Florida", "Maryland", "Oklahoma", "Texas", "Everywhere else"]


def test_extra_opt_out_and_help_words_are_chosen_and_saved_and_the_fcc_words_are_shown_fixed(app_db):
    at = open_page()
    assert "Always on, and can't be removed: opt-out STOP, STOPALL, UNSUBSCRIBE" in texts(at)
    assert "ALTO" in at.multiselect(key="td_extra_opt_out_words").options
    at.multiselect(key="td_extra_opt_out_words").set_value(["ALTO", "PARAR"]).run()
    at.multiselect(key="td_extra_help_words").set_value(["AYUDA"]).run()
    at.toggle(key="td_confirm_recorded_opt_outs").set_value(False).run()
    save(at)
    row = saved(app_db)
    assert (row["extra_opt_out_words"], row["extra_help_words"]) == ("ALTO PARAR", "AYUDA")
    assert row["confirm_recorded_opt_outs"] is False
    assert open_page().multiselect(key="td_extra_opt_out_words").value == ["ALTO", "PARAR"]
