"""Customers and the ledger: opt-out wins, evidence, dashboard actions (§1, §2)."""

import csv
import datetime as dt
import io

import pytest
from sqlmodel import func, select

from core.consent import customers

from core.consent import evidence
from core.models import Channel, ConsentEvent, Customer, Message, MessageKind, MessageStatus, SmsStatus
from tests.factories import make_customer


def events(session):
    return session.exec(select(func.count()).select_from(ConsentEvent)).one()


@pytest.mark.parametrize("channel", [c for c in Channel if c is not Channel.sms_reply])
def test_opt_out_wins_against_every_channel_but_the_customers_own_text(session, channel, now):
    c = make_customer(session, status=SmsStatus.opted_out)
    with pytest.raises(customers.OptOutWins):
        customers.set_status(session, c, SmsStatus.opted_in, channel=channel, evidence={"x": 1}, now=now)
    session.rollback()
    session.refresh(c)
    assert c.sms_status is SmsStatus.opted_out


def test_nothing_becomes_opted_in_without_evidence(session, now):
    c = make_customer(session)
    with pytest.raises(customers.MissingEvidence):
        customers.set_status(session, c, SmsStatus.opted_in, channel=Channel.sms_reply, evidence={}, now=now)


def test_the_dashboard_can_send_an_opt_in_request_which_makes_the_customer_pending(session, now):
    c = make_customer(session)
    msg = customers.request_opt_in(session, customer_id=c.id, now=now)
    assert msg.status is MessageStatus.sent and msg.kind is MessageKind.opt_in_request
    session.refresh(c)
    assert c.sms_status is SmsStatus.pending and c.opt_in_requests == 1
    assert customers.ledger(session, c.id)[0].channel is Channel.dashboard


def test_the_dashboard_cannot_send_a_request_to_an_opted_out_or_opted_in_customer(session, now):
    for status in (SmsStatus.opted_out, SmsStatus.opted_in):
        c = make_customer(session, status=status)
        assert customers.can_request_opt_in(session, c, now)
        msg = customers.request_opt_in(session, customer_id=c.id, now=now)
        assert msg.status is MessageStatus.blocked
        session.refresh(c)
        assert c.sms_status is status


def test_recording_an_opt_out_needs_a_reason_and_appends_the_reason_as_evidence(session, now):
    c = make_customer(session, status=SmsStatus.opted_in)
    with pytest.raises(customers.CustomerError):
        customers.record_opt_out(session, customer_id=c.id, reason=" ")
    assert customers.ledger(session, c.id)[0].new_status is SmsStatus.opted_in
    customers.record_opt_out(session, customer_id=c.id, reason="asked at the till", now=now)
    session.refresh(c)
    assert c.sms_status is SmsStatus.opted_out
    last = customers.ledger(session, c.id)[0]
    assert last.evidence["reason"] == "asked at the till" and last.channel is Channel.dashboard
    assert evidence.status_sentence(c, last, "America/Los_Angeles") == (
        "Opted out by the shop in the dashboard on 30 Nov 2026, 11:00 AM PST (reason: asked at the till)."
    )


def test_the_status_sentence_names_the_keyword_texted(session, now):
    c = make_customer(session, status=SmsStatus.opted_out, now=dt.datetime(2026, 11, 29, 14, 2))
    sentence = evidence.status_sentence(c, customers.ledger(session, c.id)[0], "America/New_York")
    assert sentence == "Opted out by texting STOP on 29 Nov 2026, 9:02 AM EST."  # the shop's zone, labelled


def test_editing_details_validates_each_field_and_never_changes_the_phone(session):
    c = make_customer(session)
    with pytest.raises(customers.InvalidDetails) as info:
        customers.update_details(
            session, customer_id=c.id, first_name="x" * 5000, email="nope", birthday="2026-02-30", zip="<script>"
        )
    assert set(info.value.errors) == {"first_name", "email", "birthday", "zip"}
    with pytest.raises(customers.CustomerError):
        customers.update_details(session, customer_id=c.id, phone="+14155550199")
    with pytest.raises(customers.InvalidDetails) as info:  # markup in a name is refused (issue 11)
        customers.update_details(session, customer_id=c.id, first_name="<b>Zoë</b>")
    assert set(info.value.errors) == {"first_name"}
    customers.update_details(
        session, customer_id=c.id, first_name="Zoë", email="Zoe@Example.com", birthday="1990-05-04", zip="94110"
    )
    session.refresh(c)
    assert (c.first_name, c.email, c.birthday, c.zip) == ("Zoë", "zoe@example.com", dt.date(1990, 5, 4), "94110")


def test_adding_a_customer_twice_with_the_same_number_in_another_format_is_refused(session):
    customers.add_customer(session, phone="415-867-5309", first_name="Ana")
    with pytest.raises(customers.CustomerError):
        customers.add_customer(session, phone="+1 (415) 867 5309")
    assert session.exec(select(func.count()).select_from(Customer)).one() == 1
    assert customers.get_by_phone(session, "4158675309").first_name == "Ana"
    assert customers.get_by_phone(session, "garbage") is None


def test_proof_of_consent_lists_the_ledger_oldest_first_and_neutralises_formulas(session, now):
    c = make_customer(session, first_name="=HYPERLINK(1)", status=SmsStatus.opted_in)
    customers.record_opt_out(session, customer_id=c.id, reason="-moved away", now=now)
    rows = list(csv.DictReader(io.StringIO(evidence.proof_of_consent_csv(session, c.id).decode("utf-8-sig"))))
    assert [r["new_status"] for r in rows] == ["opted_in", "opted_out"]
    assert rows[0]["name"].startswith("'=")
    assert rows[1]["evidence"].startswith("reason: -moved away")
    assert rows[0]["phone"] == f"tel:{c.phone}"  # formula-safe, like every export


def test_a_blocked_send_is_logged_with_its_reason(session, now):
    c = make_customer(session, status=SmsStatus.opted_out)
    customers.request_opt_in(session, customer_id=c.id, now=now)
    msg = session.exec(select(Message)).one()
    assert msg.status is MessageStatus.blocked and "opted out" in msg.reason


# --- Issue 11: the owner's Add a customer refuses what the public form refuses --------------------------


@pytest.mark.parametrize("phone, kind", [("1-900-555-0123", "premium-rate"), ("(877) 555-0123", "toll-free")])
def test_adding_a_premium_rate_or_toll_free_number_is_refused(session, phone, kind):
    from core import phones

    with pytest.raises(phones.NotAMobile) as info:
        customers.add_customer(session, phone=phone, first_name="Ana")
    assert info.value.sentence == f"That looks like a {kind} number; enter a mobile number."
    assert session.exec(select(func.count()).select_from(Customer)).one() == 0


@pytest.mark.parametrize(
    "name, words",
    [
        ("visit http://phish.example/x", "link"),
        ("Ann 4155550199", "phone number"),
        ("<i>Ann</i>", "symbols"),
    ],
)
def test_adding_or_editing_a_customer_refuses_a_name_with_a_link_a_phone_or_markup(session, name, words):
    with pytest.raises(customers.InvalidDetails) as info:
        customers.add_customer(session, phone="415-867-5309", first_name=name)
    assert set(info.value.errors) == {"first_name"} and words in info.value.errors["first_name"]
    c = customers.add_customer(session, phone="415-867-5309", first_name="Ana", last_name="O'Brien")
    with pytest.raises(customers.InvalidDetails) as info:
        customers.update_details(session, customer_id=c.id, last_name=name)
    assert set(info.value.errors) == {"last_name"}
    session.refresh(c)
    assert c.last_name == "O'Brien"
