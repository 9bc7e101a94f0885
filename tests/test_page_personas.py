"""AppTest: the Personas page — list, search, pages, a customer's view and its consent actions."""

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from core.training import demo
from core.consent import customers
from core.models import Channel, Customer, Message, MessageKind, SmsStatus, Source
from tests.factories import make_customer

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "personas.py")
EVIL = "<script>alert('x')</script> **Bold** [link](http://evil.example)"


def app(customer_id=None):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["owner_signed_in"] = True
    if customer_id is not None:
        at.query_params["customer"] = str(customer_id)
    at.run()
    assert not at.exception
    return at


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def texts(at) -> list[str]:
    return [t.value for t in at.text]


def view_buttons(at) -> list:
    return [b for b in at.button if (b.key or "").startswith("view_")]


@pytest.fixture
def shop(app_db):
    with Session(app_db) as s:
        made = {
            "ada": make_customer(
                s,
                first_name="Ada",
                last_name="Lovelace",
                email="ada@example.com",
                phone_number="+14158675309",
                status=SmsStatus.opted_in,
                source=Source.signup_form,
            ),
            "new": make_customer(s, first_name="Nova", last_name="Fresh", phone_number="+14155550111"),
            "gone": make_customer(
                s, first_name="Otto", last_name="Gone", phone_number="+14155550122", status=SmsStatus.opted_out
            ),
            "evil": make_customer(s, first_name=EVIL[:100], last_name="Evil", phone_number="+14155550133"),
        }
        return {k: c.id for k, c in made.items()}


@pytest.fixture
def demo_shop(app_db):
    with Session(app_db) as s:
        demo.load_demo(s)
        return s.exec(select(Customer.id)).all()


def status_of(engine, customer_id) -> SmsStatus:
    with Session(engine) as s:
        return s.get(Customer, customer_id).sms_status


def test_signed_out_the_page_shows_nothing_but_sign_in(shop):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["customer"] = str(shop["ada"])
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Sign in to see this page."]
    assert not at.title and not at.markdown and not at.text and not at.button


def test_an_empty_shop_says_how_customers_arrive(app_db):
    at = app()
    assert at.title[0].value == "Personas"
    info = at.info[0].value
    assert "No customers yet" in info and "sign-up form" in info and "Text To Join" in info and "import" in info
    assert not view_buttons(at)


def test_the_demo_shop_lists_50_customers_a_page_with_next_and_previous(demo_shop):
    at = app()
    total = len(demo_shop)
    assert f"1–50 of **{total:,}** customers" in markdown(at)
    assert len(view_buttons(at)) == 50
    first_page = {b.key for b in view_buttons(at)}
    assert at.button(key="persona_prev").disabled
    at.button(key="persona_next").click().run()
    assert not at.exception
    assert f"51–100 of **{total:,}**" in markdown(at)
    second_page = {b.key for b in view_buttons(at)}
    assert len(second_page) == 50 and not first_page & second_page
    at.button(key="persona_prev").click().run()
    assert {b.key for b in view_buttons(at)} == first_page
    # every status shows with its §1 badge
    md = markdown(at)
    assert ":green-badge[✓ opted in]" in md and "✕" in md


def test_the_table_shows_formatted_phones_and_badges(shop):
    at = app()
    assert "(415) 867-5309" in texts(at) and "ada@example.com" in texts(at) and "Sign-up form" in texts(at)
    md = markdown(at)
    assert ":green-badge[✓ opted in]" in md and ":red-badge[✕ opted out]" in md and ":red-badge[✕ not opted in]" in md


@pytest.mark.parametrize(
    "query", ["ada", "LOVELACE", "ada lovelace", "ada@example", "(415) 867-5309", "867-5309", "5309"]
)
def test_a_search_by_name_email_or_phone_finds_the_customer(shop, query):
    at = app()
    at.text_input(key="persona_search").set_value(query).run()
    assert not at.exception
    assert [b.key for b in view_buttons(at)] == [f"view_{shop['ada']}"]
    assert "1–1 of **1** customer matching" in markdown(at)


def test_a_search_without_results_says_so_and_a_short_number_asks_for_more_digits(shop):
    at = app()
    at.text_input(key="persona_search").set_value("zebra").run()
    assert "No customers match" in at.info[0].value
    at.text_input(key="persona_search").set_value("53").run()
    assert "4 digits" in at.info[0].value


def test_filters_by_status_and_source(shop):
    at = app()
    at.multiselect(key="persona_status").set_value([SmsStatus.opted_out]).run()
    assert [b.key for b in view_buttons(at)] == [f"view_{shop['gone']}"]
    at.multiselect(key="persona_status").set_value([]).run()
    at.multiselect(key="persona_source").set_value([Source.signup_form]).run()
    assert [b.key for b in view_buttons(at)] == [f"view_{shop['ada']}"]


def test_view_shows_sms_badge_sentence_history_and_thread(shop):
    at = app()
    at.button(key=f"view_{shop['ada']}").click().run()
    assert not at.exception
    assert at.query_params["customer"] == str(shop["ada"])
    md = markdown(at)
    assert "## Ada Lovelace" in md
    assert "### SMS :green-badge[✓ opted in]" in md
    assert at.info[0].value.startswith("Opted in by texting YES")
    ledger = at.dataframe[0].value
    assert list(ledger["Change"]) == ["not opted in → opted in"]
    assert 'texted "YES"' in ledger["Evidence"][0]
    assert at.text_input(key=f"persona_phone_{shop['ada']}").disabled
    at.button(key="persona_back").click().run()
    assert "customer" not in at.query_params and len(view_buttons(at)) == 4


def test_the_customer_query_parameter_opens_the_view_directly_and_a_wrong_one_says_so(shop):
    at = app(shop["gone"])
    assert "### SMS :red-badge[✕ opted out]" in markdown(at)
    assert app("999999").error[0].value.startswith("There is no such customer")
    assert app("not-a-number").error[0].value.startswith("There is no such customer")


def test_record_opt_out_as_other_needs_a_reason_and_then_opts_the_customer_out(shop, app_db):
    at = app(shop["ada"])
    at.selectbox(key=f"persona_optout_channel_{shop['ada']}").set_value(Channel.dashboard).run()
    at.button(key="persona_optout").click().run()
    assert "reason is required" in at.error[0].value
    assert status_of(app_db, shop["ada"]) is SmsStatus.opted_in
    at.text_input(key=f"persona_optout_reason_{shop['ada']}").set_value("Asked in store to stop texts")
    at.button(key="persona_optout").click().run()
    assert not at.exception and not at.error
    assert status_of(app_db, shop["ada"]) is SmsStatus.opted_out
    assert "Opt-out recorded" in at.success[0].value
    assert "### SMS :red-badge[✕ opted out]" in markdown(at)
    assert "reason: Asked in store to stop texts" in at.info[0].value
    assert at.button(key="persona_optout").disabled and at.button(key="persona_request").disabled
    assert any("already opted out" in c.value for c in at.caption)


def test_record_an_opt_out_received_by_phone_keeps_channel_receipt_and_who_and_confirms_once(shop, app_db):
    """Rulebook §10: the owner records an opt-out received by phone call, earlier than entered, by a staff member."""
    at = app(shop["ada"])
    cid = shop["ada"]
    yesterday = dt.date.today() - dt.timedelta(days=1)
    at.selectbox(key=f"persona_optout_channel_{cid}").set_value(Channel.phone_call)
    at.date_input(key=f"persona_optout_day_{cid}").set_value(yesterday)
    at.time_input(key=f"persona_optout_time_{cid}").set_value(dt.time(10, 30))
    at.text_input(key=f"persona_optout_by_{cid}").set_value("Sam at the counter")
    at.button(key="persona_optout").click().run()
    assert not at.exception and not at.error
    assert status_of(app_db, cid) is SmsStatus.opted_out
    flash = at.success[0].value
    assert "Opt-out recorded" in flash and "Within the 10-business-day deadline" in flash
    with Session(app_db) as s:
        event = customers.ledger(s, cid)[0]
        assert event.channel is Channel.phone_call
        assert event.evidence["by"] == "Sam at the counter"
        assert event.evidence["received_at"] < event.occurred_at.isoformat()
        sent = s.exec(
            select(Message).where(Message.customer_id == cid, Message.kind == MessageKind.opt_out_confirmation)
        ).all()
        assert len(sent) == 1  # one confirmation (sent now, or refused outside the window: never two)


def test_an_opt_out_received_in_the_future_is_refused_beside_the_date(shop, app_db):
    at = app(shop["ada"])
    cid = shop["ada"]
    # the shop's "today" may be behind the test machine's: type a time well after now, today
    at.date_input(key=f"persona_optout_day_{cid}").set_value(dt.date.today() + dt.timedelta(days=1))
    at.button(key="persona_optout").click().run()
    assert not at.exception
    assert status_of(app_db, cid) is SmsStatus.opted_in
    assert any("in the future" in e.value for e in at.error)


def test_send_opt_in_request_makes_the_customer_pending_and_is_then_disabled_with_the_reason(shop, app_db):
    at = app(shop["new"])
    assert not at.button(key="persona_request").disabled
    at.button(key="persona_request").click().run()
    assert not at.exception
    assert status_of(app_db, shop["new"]) is SmsStatus.pending
    assert "Opt-in request sent" in at.success[0].value
    assert at.button(key="persona_request").disabled
    assert any("24 hours" in c.value for c in at.caption)
    with Session(app_db) as s:
        assert s.exec(select(Message).where(Message.customer_id == shop["new"])).one().kind.value == "opt_in_request"


def test_an_opted_out_customer_cannot_be_sent_a_request(shop):
    at = app(shop["gone"])
    assert at.button(key="persona_request").disabled
    assert any("opted out" in c.value for c in at.caption if c.value.startswith("Can't send"))


def test_editing_details_checks_them_and_saves(shop, app_db):
    cid = shop["new"]
    at = app(cid)
    at.text_input(key=f"persona_email_{cid}").set_value("not an email")
    at.button(key=f"persona_save_{cid}").click().run()
    assert "doesn't look like an address" in at.error[0].value
    with Session(app_db) as s:
        assert s.get(Customer, cid).email == ""
    at.text_input(key=f"persona_email_{cid}").set_value("Nova@Example.com")
    at.text_input(key=f"persona_first_{cid}").set_value("Novella")
    at.button(key=f"persona_save_{cid}").click().run()
    assert not at.exception and "Details saved." in at.success[0].value
    with Session(app_db) as s:
        c = s.get(Customer, cid)
        assert (c.first_name, c.email) == ("Novella", "nova@example.com")


def test_add_a_customer_refuses_a_bad_phone_and_opens_the_new_customer(shop, app_db):
    at = app()
    at.text_input(key="persona_add_phone").set_value("12345")
    at.button(key="persona_add_submit").click().run()
    assert "can't be used" in at.error[0].value
    at.text_input(key="persona_add_phone").set_value("(415) 867-5309")
    at.button(key="persona_add_submit").click().run()
    assert "already a customer" in at.error[0].value
    at.text_input(key="persona_add_phone").set_value("415 555 0199")
    at.text_input(key="persona_add_first").set_value("Walk")
    at.text_input(key="persona_add_last").set_value("In")
    at.button(key="persona_add_submit").click().run()
    assert not at.exception
    with Session(app_db) as s:
        c = s.exec(select(Customer).where(Customer.phone == "+14155550199")).one()
        assert c.sms_status is SmsStatus.not_opted_in and c.source == "dashboard"
    assert at.query_params["customer"] == str(c.id)
    assert "## Walk In" in markdown(at) and "not opted in yet" in at.success[0].value


def test_a_name_with_html_or_markdown_is_shown_as_text(shop):
    at = app()
    assert f"{EVIL[:100]} Evil" in texts(at)  # the table cell: plain text
    at = app(shop["evil"])
    heading = next(m.value for m in at.markdown if m.value.startswith("## "))
    assert "<script>" not in heading and "\\<script\\>" in heading and "\\*\\*Bold\\*\\*" in heading
    assert "\\[link\\]" in heading
    for m in at.markdown:
        assert not m.allow_html


def test_the_demo_shop_customer_views_render(demo_shop):
    with_events = demo_shop[:5] + demo_shop[-5:]
    for cid in with_events:
        at = app(cid)
        assert "SMS" in markdown(at)


def test_add_a_customer_refuses_a_premium_rate_number_and_a_name_with_a_link(shop, app_db):
    at = app()
    at.text_input(key="persona_add_phone").set_value("1-900-555-0123")
    at.text_input(key="persona_add_first").set_value("visit http://phish.example/x")
    at.button(key="persona_add_submit").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "That looks like a premium-rate number; enter a mobile number.",
        "First name can't contain a web address or link: type just the name.",
    ]
    with Session(app_db) as s:
        assert s.exec(select(Customer).where(Customer.phone == "+19005550123")).first() is None


# --- Add a customer: bad input gets a clear message and loses nothing ------------------------------------------------


def customer_count(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Customer)).one()


def test_adding_a_customer_shows_every_problem_at_once_and_keeps_what_was_typed(app_db):
    at = app()
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
    at = app()
    at.text_input(key="persona_add_first").set_value("Walk")
    at.button(key="persona_add_submit").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Type the customer's mobile phone number."]
    assert customer_count(app_db) == 0


def test_a_name_with_markup_is_refused_when_adding_and_nothing_is_added(app_db):
    at = app()
    at.text_input(key="persona_add_phone").set_value("415 555 0199")
    at.text_input(key="persona_add_first").set_value("*Star*")
    at.button(key="persona_add_submit").click().run()
    assert not at.exception and not at.success
    assert any("First name" in e.value for e in at.error)
    assert customer_count(app_db) == 0


def test_an_opted_in_customer_says_plainly_why_no_request_can_be_sent(app_db):
    with Session(app_db) as s:
        cid = make_customer(s, first_name="Ada", status=SmsStatus.opted_in).id
    at = app(customer_id=cid)
    assert "Can't send. Already opted in: no opt-in request needed." in [c.value for c in at.caption]
