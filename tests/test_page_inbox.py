"""AppTest: the Inbox — the SMS simulator, possible opt-outs and the message log."""

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from core.training import demo
from core.messaging import inbox, outbox
from core.models import Customer, Direction, Message, MessageKind, PossibleOptOut, SmsStatus
from tests.factories import make_customer

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "inbox.py")
EVIL = "<img src=x onerror=alert(1)> **Loud**"


def app(**state):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["owner_signed_in"] = True
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception
    return at


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def bubbles(at) -> list[tuple[str, str]]:
    """(who, text) of each chat bubble in the simulator."""
    out = []
    for msg in at.chat_message:
        body = [t.value for t in msg.text]
        out.append((msg.name, body[0] if body else ""))
    return out


def outbound(engine, phone) -> list[Message]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(Message)
                .where(Message.phone == phone, Message.direction == Direction.outbound)
                .order_by(Message.id)
            ).all()
        )


def text(at, body):
    at.text_input(key="inbox_message").set_value(body)
    at.button(key="inbox_send").click().run()
    assert not at.exception
    return at


@pytest.fixture
def shop(app_db):
    with Session(app_db) as s:
        made = {
            "pending": make_customer(
                s, first_name="Pat", last_name="Pending", phone_number="+14158675309", status=SmsStatus.pending
            ),
            "in": make_customer(
                s, first_name="Ina", last_name="In", phone_number="+14155550111", status=SmsStatus.opted_in
            ),
            "evil": make_customer(s, first_name=EVIL, last_name="Evil", phone_number="+14155550122"),
        }
        return {k: c.id for k, c in made.items()}


def test_signed_out_the_page_shows_nothing_but_sign_in(app_db):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Sign in to see this page."]
    assert not at.title and not at.tabs and not at.button and not at.text_input


def test_an_empty_shop_renders_every_tab_with_its_empty_state(app_db):
    at = app()
    assert at.title[0].value == "Inbox"
    assert [t.label for t in at.tabs] == ["Simulator", "Possible opt-outs", "Message log"]
    assert "Pick a customer" in captions(at)
    infos = " ".join(i.value for i in at.info)
    assert "Nothing to review" in infos and "No messages yet" in infos
    assert "(415) 555-0100" in at.radio(key="inbox_to").options[0]
    assert "(415) 555-0142" in at.radio(key="inbox_to").options[1]


def test_the_demo_shop_renders_with_reviews_and_a_log(app_db):
    with Session(app_db) as s:
        counts = demo.load_demo(s)
        waiting = len(inbox.pending_reviews(s))
    at = app()
    assert f"of **{counts['messages']:,}** messages" in markdown(at)
    assert waiting and len([b for b in at.button if (b.key or "").startswith("review_confirm_")]) == waiting
    at.button(key="log_next").click().run()
    assert not at.exception and "51–100 of" in markdown(at)


def test_yes_from_a_pending_customer_shows_the_confirmation_and_the_badge_turns_opted_in(shop, app_db):
    at = app(inbox_pick=shop["pending"])
    assert "**SMS** :orange-badge[✕ pending]" in markdown(at)
    text(at, "yes")
    assert "**SMS** :green-badge[✓ opted in]" in markdown(at)
    assert bubbles(at)[-2][0] == "user" and bubbles(at)[-2][1] == "yes"
    assert bubbles(at)[-1][0] == "assistant" and "Green Leaf Goods" in bubbles(at)[-1][1]
    assert ":green-badge[sent] Post opt-in confirmation" in captions(at)
    assert "Delivered. 1 automatic reply." in captions(at)
    assert at.text_input(key="inbox_message").value == ""  # ready for the next text


def test_stop_sends_one_confirmation_and_a_second_stop_sends_nothing(shop, app_db):
    at = app(inbox_pick=shop["in"])
    at.button(key="inbox_quick_STOP").click().run()
    assert not at.exception
    assert "**SMS** :red-badge[✕ opted out]" in markdown(at)
    assert [m.kind for m in outbound(app_db, "+14155550111")] == [MessageKind.opt_out_confirmation]
    assert ":green-badge[sent] Opt-out confirmation" in captions(at)
    at.button(key="inbox_quick_STOP").click().run()
    assert len(outbound(app_db, "+14155550111")) == 1
    assert "No automatic reply" in captions(at)
    at.button(key="inbox_quick_YES").click().run()  # an opted-out customer must text START
    assert "**SMS** :red-badge[✕ opted out]" in markdown(at)
    at.button(key="inbox_quick_START").click().run()
    assert "**SMS** :green-badge[✓ opted in]" in markdown(at)
    assert outbound(app_db, "+14155550111")[-1].kind is MessageKind.resubscribe_confirmation


def test_help_gets_the_help_reply(shop, app_db):
    at = app(inbox_pick=shop["in"])
    at.button(key="inbox_quick_HELP").click().run()
    assert ":green-badge[sent] Help reply" in captions(at)


def test_an_unknown_number_texting_the_join_number_becomes_a_pending_customer(app_db):
    at = app(inbox_mode="phone")
    at.text_input(key="inbox_phone").set_value("(415) 555-0199").run()
    assert ":gray-badge[new number]" in markdown(at)
    at.radio(key="inbox_to").set_value("join").run()
    text(at, "Hi, I'd like to join")
    assert "**SMS** :orange-badge[✕ pending]" in markdown(at)
    assert ":green-badge[sent] Opt-in request" in captions(at)
    with Session(app_db) as s:
        c = s.exec(select(Customer).where(Customer.phone == "+14155550199")).one()
        assert c.source == "text_to_join"


def test_an_empty_message_and_a_phone_that_is_not_a_phone_are_clear_errors_and_write_nothing(shop, app_db):
    at = app(inbox_pick=shop["pending"])
    text(at, "   ")
    assert at.error[0].value == "The message is empty: type what the customer texts."
    at = app(inbox_mode="phone")
    at.text_input(key="inbox_phone").set_value("not a phone").run()
    text(at, "YES")
    assert at.error[0].value.startswith("That is not a phone number")
    at.text_input(key="inbox_phone").set_value("").run()
    text(at, "YES")
    assert "Pick a customer, or type the phone number" in at.error[0].value
    text_too_long = "x" * 1601
    at.text_input(key="inbox_phone").set_value("415 555 0177").run()
    text(at, text_too_long)
    assert "at most 1,600 characters" in at.error[0].value
    assert at.text_input(key="inbox_message").value == text_too_long  # nothing lost
    with Session(app_db) as s:
        assert s.exec(select(func.count()).select_from(Message)).one() == 0


def test_the_customer_picker_searches_and_names_are_shown_as_text(shop):
    at = app(inbox_pick=shop["pending"])
    at.text_input(key="inbox_find").set_value("evil").run()
    pick = at.selectbox[0]
    assert pick.options == [f"{EVIL} Evil · (415) 555-0122 · ✕ not opted in"]  # a selectbox shows plain text
    status_line = next(m.value for m in at.markdown if "**SMS**" in m.value)  # the first match is picked
    assert not re.search(r"(?<!\\)<", status_line) and "\\<img" in status_line and "\\*\\*Loud\\*\\*" in status_line
    for m in at.markdown:
        assert not m.allow_html


def test_a_possible_opt_out_is_listed_with_its_deadline_and_dismiss_needs_a_reason(shop, app_db):
    with Session(app_db) as s:
        inbox.receive(s, phone="+14155550111", body="please stop texting me")
        review = s.exec(select(PossibleOptOut)).one()
        rid = review.id
    at = app()
    assert "please stop texting me" in " ".join(t.value for t in at.text)
    assert f"Decide by {review.deadline.strftime('%d %b %Y').lstrip('0')}" in markdown(at)
    at.button(key=f"review_dismiss_{rid}").click().run()
    assert "reason is required" in at.error[0].value
    at.text_input(key=f"review_reason_{rid}").set_value("They meant a different shop")
    at.button(key=f"review_dismiss_{rid}").click().run()
    assert not at.exception and "Dismissed" in at.success[0].value
    with Session(app_db) as s:
        assert s.get(PossibleOptOut, rid).decision.value == "dismissed"
        assert s.get(Customer, shop["in"]).sms_status is SmsStatus.opted_in


def test_confirming_a_possible_opt_out_opts_the_customer_out_and_overdue_ones_stand_out(shop, app_db):
    with Session(app_db) as s:
        inbox.receive(s, phone="+14158675309", body="Please STOP these", now=dt.datetime(2026, 1, 5, 18, 0))
        rid = s.exec(select(PossibleOptOut.id)).one()
    at = app()
    assert ":red-badge[Overdue: was due" in markdown(at)
    assert not at.warning
    at.button(key=f"review_confirm_{rid}").click().run()
    assert "Opt-out confirmed" in at.success[0].value
    with Session(app_db) as s:
        assert s.get(Customer, shop["pending"]).sms_status is SmsStatus.opted_out
    assert "Nothing to review" in " ".join(i.value for i in at.info)


def test_a_review_the_customer_answered_with_start_later_shows_the_newer_text_and_asks_again(shop, app_db):
    with Session(app_db) as s:
        inbox.receive(s, phone="+14158675309", body="please stop texting me", now=dt.datetime(2026, 11, 2, 18, 0))
        inbox.receive(s, phone="+14158675309", body="YES", now=dt.datetime(2026, 11, 3, 18, 0))
        rid = s.exec(select(PossibleOptOut.id)).one()
    at = app()
    assert "Newer text" in at.warning[0].value and "YES" in at.warning[0].value
    at.button(key=f"review_confirm_{rid}").click().run()
    assert not at.success
    assert any("opted back in" in w.value for w in at.warning)
    with Session(app_db) as s:  # nothing undone silently
        assert s.get(Customer, shop["pending"]).sms_status is SmsStatus.opted_in
        assert s.get(PossibleOptOut, rid).decision is None
    at.button(key=f"review_override_{rid}").click().run()
    assert "Opt-out confirmed" in at.success[0].value
    with Session(app_db) as s:
        assert s.get(Customer, shop["pending"]).sms_status is SmsStatus.opted_out


def test_the_message_log_filters_and_explains_a_bad_phone_filter(shop, app_db):
    with Session(app_db) as s:
        inbox.receive(s, phone="+14158675309", body="YES")
        inbox.receive(s, phone="+14155550111", body="HELP")
    at = app()
    table = at.dataframe[0].value
    assert len(table) == 4 and set(table["direction"]) == {"in ←", "out →"}
    at.selectbox(key="log_direction").set_value(Direction.outbound).run()
    assert set(at.dataframe[0].value["kind"]) == {"Post opt-in confirmation", "Help reply"}
    at.multiselect(key="log_kind").set_value([MessageKind.help_reply]).run()
    assert list(at.dataframe[0].value["phone"]) == ["(415) 555-0111"]
    at.multiselect(key="log_kind").set_value([]).run()
    at.text_input(key="log_phone").set_value("867-5309").run()
    assert list(at.dataframe[0].value["kind"]) == ["Post opt-in confirmation"]
    at.text_input(key="log_phone").set_value("12").run()
    assert "last 4 digits" in at.error[0].value
    at.text_input(key="log_phone").set_value("0000").run()
    assert "No messages match" in at.info[-1].value


def test_queued_messages_show_their_send_time_and_release_reports_how_many_went(shop, app_db):
    from core.clock import shop_time
    from core.models import utcnow

    night = dt.datetime.combine(utcnow().date() + dt.timedelta(days=2), dt.time(6, 0))  # 22:00 in SF
    with Session(app_db) as s:
        c = s.get(Customer, shop["evil"])
        msg = outbox.send(s, customer=c, kind=MessageKind.opt_in_request, now=night, bulk=True)
        s.commit()
        mid, send_at = msg.id, msg.send_at
    at = app()
    assert "**1** message queued for quiet hours" in markdown(at)
    shown = shop_time(send_at, "America/Los_Angeles")  # the shop's time, with its zone label
    assert shown.endswith((" PST", " PDT")) and shown in markdown(at)
    queued = at.dataframe[0].value
    assert list(queued["status"]) == ["queued"] and list(queued["sends at"]) == [shown]
    at.button(key="log_release").click().run()
    assert "No queued message is due yet." in at.success[0].value
    from tests.factories import open_window_around_now

    open_window_around_now(app_db)  # release happens on the real clock: make it daytime for the shop
    with Session(app_db) as s:  # its time has come
        m = s.get(Message, mid)
        m.send_at = utcnow() - dt.timedelta(minutes=1)
        s.add(m)
        s.commit()
    at.button(key="log_release").click().run()
    assert "Released 1 due message: 1 sent, 0 blocked." in at.success[0].value
    assert "No messages are queued" in captions(at)


def test_a_phone_that_is_not_a_phone_is_named_once_and_the_typed_text_is_kept(app_db):
    at = app(inbox_mode="phone")
    at.text_input(key="inbox_phone").set_value("hello there").run()
    at.text_input(key="inbox_message").set_value("YES")
    at.button(key="inbox_send").click().run()
    assert not at.exception
    msg = at.error[0].value
    assert msg.startswith("That is not a phone number: “hello there”.")
    assert "not a phone number: not a phone number" not in msg
    at.text_input(key="inbox_phone").set_value("123").run()
    at.button(key="inbox_send").click().run()
    assert at.error[0].value.startswith("That is not a phone number (too few digits): “123”.")
    assert at.text_input(key="inbox_message").value == "YES"  # nothing lost
    with Session(app_db) as s:
        assert s.exec(select(func.count()).select_from(Message)).one() == 0
