"""Rulebook §9–§10 (issue 14): business-day deadlines in the shop's calendar; opt-out by any reasonable
means (channel, who, when received) with one optional confirmation within 5 minutes inside the window;
extra opt-out/help words; the public Stop texting me page. Storage tests run on both databases."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from core.clock import business_deadline
from core.consent import customers, stop_page
from core.consent import evidence
from core.consent.keywords import Keyword, classify
from core.messaging import inbox, outbox, texting
from core.models import (
    Channel,
    ConsentEvent,
    Customer,
    Message,
    MessageKind,
    MessageStatus,
    PossibleOptOut,
    SmsStatus,
    Source,
)
from tests.factories import make_customer

LA = "America/Los_Angeles"
TX = "+17135550123"


def at(local: dt.datetime, zone: str = LA) -> dt.datetime:
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc).replace(tzinfo=None)


# --- Deadlines: 10 business days in the shop's time zone, US federal holidays skipped ------------------------


@pytest.mark.parametrize(
    "received_local,zone,deadline",
    [
        # Thursday 3 Dec 2026 22:00 in California is Friday in UTC: the count starts on Thursday
        (dt.datetime(2026, 12, 3, 22, 0), LA, dt.date(2026, 12, 17)),
        # the same instant for a New York shop is already Friday 01:00
        (dt.datetime(2026, 12, 4, 1, 0), "America/New_York", dt.date(2026, 12, 18)),
        # across Christmas (Fri 25 Dec 2026) and New Year's Day (Fri 1 Jan 2027)
        (dt.datetime(2026, 12, 24, 10, 0), LA, dt.date(2027, 1, 11)),
        # across New Year's Day 2026 (Thursday)
        (dt.datetime(2025, 12, 29, 9, 0), LA, dt.date(2026, 1, 13)),
        # across Thanksgiving (Thu 26 Nov 2026)
        (dt.datetime(2026, 11, 20, 10, 0), LA, dt.date(2026, 12, 7)),
        # across Thanksgiving 2025 (Thu 27 Nov)
        (dt.datetime(2025, 11, 24, 10, 0), LA, dt.date(2025, 12, 9)),
        # received on a Saturday: counted from Monday
        (dt.datetime(2026, 11, 28, 15, 0), LA, dt.date(2026, 12, 14)),
        # received on a holiday (Thanksgiving itself): counted from the next business day
        (dt.datetime(2026, 11, 26, 12, 0), LA, dt.date(2026, 12, 11)),
        # DST days: the spring and autumn Sundays count like any weekend
        (dt.datetime(2026, 3, 8, 3, 30), LA, dt.date(2026, 3, 23)),
        (dt.datetime(2026, 11, 1, 1, 30), LA, dt.date(2026, 11, 17)),  # Veterans Day (Wed 11 Nov) skipped too
        # 4 July 2026 is a Saturday: observed Friday 3 July is a federal holiday
        (dt.datetime(2026, 6, 29, 9, 0), LA, dt.date(2026, 7, 14)),
    ],
)
def test_the_deadline_counts_business_days_in_the_shops_calendar(received_local, zone, deadline):
    assert business_deadline(at(received_local, zone), zone) == deadline


def test_a_possible_opt_out_texted_thursday_night_in_california_is_due_from_thursday(session):
    """Storage: the deadline the Inbox keeps (both databases). The old count started on Friday (UTC)."""
    received = at(dt.datetime(2026, 12, 3, 22, 0))
    inbox.receive(session, phone="+14155550123", body="please stop texting me", now=received)
    review = session.exec(select(PossibleOptOut)).one()
    assert review.deadline == dt.date(2026, 12, 17)


# --- Opt-out by any reasonable means -------------------------------------------------------------------------


def test_an_opt_out_received_by_phone_keeps_channel_receipt_and_who_and_confirms_once(session):
    texting.update_defaults(session, window_start=dt.time(7), window_end=dt.time(22))
    c = make_customer(session, status=SmsStatus.opted_in)
    now = at(dt.datetime(2026, 12, 3, 11, 0))
    received = at(dt.datetime(2026, 12, 1, 16, 45))  # a call two days earlier, entered now
    done = customers.record_revocation(
        session, customer_id=c.id, channel=Channel.phone_call, received_at=received, by="Sam", now=now
    )
    event = session.exec(
        select(ConsentEvent).where(ConsentEvent.customer_id == c.id).order_by(ConsentEvent.id.desc())
    ).first()
    assert event.channel is Channel.phone_call and event.new_status is SmsStatus.opted_out
    assert event.evidence["by"] == "Sam"
    assert event.evidence["received_at"] == received.isoformat(timespec="seconds")
    assert event.evidence["deadline"] == "2026-12-15"  # 10 business days from Tuesday 1 Dec
    assert event.occurred_at == now and not done.late
    assert done.confirmation.status is MessageStatus.sent
    assert "received" in evidence.describe_evidence(event) and "recorded by Sam" in evidence.describe_evidence(event)
    with pytest.raises(customers.CustomerError, match="already opted out"):
        customers.record_revocation(session, customer_id=c.id, channel=Channel.email, now=now)
    sent = session.exec(select(Message).where(Message.kind == MessageKind.opt_out_confirmation)).all()
    assert len(sent) == 1


def test_a_letter_recorded_after_its_deadline_says_so(session):
    c = make_customer(session, status=SmsStatus.opted_in)
    done = customers.record_revocation(
        session,
        customer_id=c.id,
        channel=Channel.letter,
        confirm=False,
        received_at=at(dt.datetime(2026, 11, 2, 9)),
        now=at(dt.datetime(2026, 12, 3, 9)),
    )
    assert done.late and done.event.evidence["late"] is True and done.confirmation is None


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(received_at=dt.datetime(2030, 1, 1)), "received_at"),
        (dict(by="x" * 101), "by"),
        (dict(channel=Channel.dashboard, reason=""), "reason"),
        (dict(channel=Channel.csv_import), "channel"),
    ],
)
def test_bad_opt_out_records_name_the_field_and_save_nothing(session, kwargs, field):
    c = make_customer(session, status=SmsStatus.opted_in)
    args = dict(channel=Channel.in_person, now=dt.datetime(2026, 12, 3, 19))
    args.update(kwargs)
    with pytest.raises(customers.InvalidOptOut) as err:
        customers.record_revocation(session, customer_id=c.id, **args)
    assert err.value.field == field
    session.refresh(c)
    assert c.sms_status is SmsStatus.opted_in


def test_the_confirmation_setting_off_sends_nothing(session):
    texting.update_defaults(session, confirm_recorded_opt_outs=False)
    c = make_customer(session, status=SmsStatus.opted_in)
    done = customers.record_revocation(
        session, customer_id=c.id, channel=Channel.in_person, now=dt.datetime(2026, 12, 3, 19)
    )
    assert done.confirmation is None
    assert not session.exec(select(Message).where(Message.kind == MessageKind.opt_out_confirmation)).all()


def test_a_confirmation_outside_the_window_is_not_sent_and_says_why(session):
    c = make_customer(session, status=SmsStatus.opted_in, phone_number=TX)
    now = at(dt.datetime(2026, 11, 29, 10, 0), "America/Chicago")  # Sunday 10:00 in Texas
    done = customers.record_revocation(session, customer_id=c.id, channel=Channel.phone_call, now=now)
    assert done.confirmation.status is MessageStatus.blocked
    assert done.confirmation.reason.startswith("Texas: not before 12:00 on Sundays")
    assert "within 5 minutes" in done.confirmation.reason


def test_a_confirmation_whose_window_opens_within_5_minutes_waits_for_it_and_no_longer(session):
    texting.update_defaults(session, window_start=dt.time(7), window_end=dt.time(22))
    first = make_customer(session, status=SmsStatus.opted_in, phone_number=TX)
    second = make_customer(session, status=SmsStatus.opted_in, phone_number="+17135550124")
    now = at(dt.datetime(2026, 11, 29, 11, 57), "America/Chicago")  # noon is 3 minutes away
    a = customers.record_revocation(session, customer_id=first.id, channel=Channel.email, now=now).confirmation
    b = customers.record_revocation(session, customer_id=second.id, channel=Channel.email, now=now).confirmation
    assert a.status is MessageStatus.queued and a.send_at == now + dt.timedelta(minutes=3)
    assert b.status is MessageStatus.queued and b.send_at == a.send_at
    assert outbox.release_due(session, now=a.send_at).sent == 2  # both go at noon
    late = make_customer(session, status=SmsStatus.opted_in, phone_number="+17135550125")
    c = customers.record_revocation(session, customer_id=late.id, channel=Channel.email, now=now).confirmation
    summary = outbox.release_due(session, now=now + dt.timedelta(minutes=6))  # no page loaded until then
    session.refresh(c)
    assert c.status is MessageStatus.blocked and "within 5 minutes" in c.reason
    assert summary.blocked == 1


def test_confirming_a_possible_opt_out_sends_one_confirmation(session):
    texting.update_defaults(session, window_start=dt.time(7), window_end=dt.time(22))
    make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550123")
    now = at(dt.datetime(2026, 12, 3, 10, 0))
    inbox.receive(session, phone="+14155550123", body="please stop texting me", now=now)
    review = session.exec(select(PossibleOptOut)).one()
    inbox.decide_review(session, review_id=review.id, confirm=True, now=now + dt.timedelta(minutes=2))
    confirmations = session.exec(select(Message).where(Message.kind == MessageKind.opt_out_confirmation)).all()
    assert [m.status for m in confirmations] == [MessageStatus.sent]


# --- Extra words in other languages ----------------------------------------------------------------------------


def test_extra_words_are_chosen_in_settings_and_the_fcc_words_stay(session):
    make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550123")
    now = at(dt.datetime(2026, 12, 3, 10, 0))
    assert inbox.receive(session, phone="+14155550123", body="ALTO", now=now) == []  # not chosen: logged only
    texting.update_defaults(session, extra_opt_out_words=["ALTO", "ARRÊT"], extra_help_words="AYUDA")
    row = texting.get_defaults(session)
    assert (row.extra_opt_out_words, row.extra_help_words) == ("ALTO ARRÊT", "AYUDA")
    out = inbox.receive(session, phone="+14155550124", body="Ayuda", now=now)
    assert [m.kind for m in out] == [MessageKind.help_reply]
    out = inbox.receive(session, phone="+14155550123", body="alto.", now=now)
    assert [m.kind for m in out] == [MessageKind.opt_out_confirmation]
    assert classify("STOP", extra_opt_out=()) is Keyword.OPT_OUT  # nothing removes the FCC words


@pytest.mark.parametrize(
    "field,value", [("extra_opt_out_words", ["BASTA"]), ("extra_help_words", "STOP"), ("extra_help_words", ["HILFE"])]
)
def test_only_offered_words_can_be_added(session, field, value):
    with pytest.raises(texting.InvalidSetting) as err:
        texting.update_defaults(session, **{field: value})
    assert err.value.field == field and "choose from" in err.value.message


def test_a_join_keyword_cannot_be_an_extra_word(session):
    texting.update_defaults(session, extra_opt_out_words="ALTO")
    with pytest.raises(texting.InvalidSetting) as err:
        texting.update_defaults(session, join_keyword="alto")
    assert err.value.field == "join_keyword"


# --- The public Stop texting me page -------------------------------------------------------------------------


def test_a_known_number_is_opted_out_at_once_and_gets_one_confirmation(session):
    c = make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550123")
    first = stop_page.submit(session, phone="(415) 555-0123", client_address="1.2.3.4")
    again = stop_page.submit(session, phone="415 555 0123", client_address="1.2.3.4")
    session.refresh(c)
    assert c.sms_status is SmsStatus.opted_out
    event = customers.ledger(session, c.id)[0]
    assert event.channel is Channel.web_page
    sent = session.exec(select(Message).where(Message.kind == MessageKind.opt_out_confirmation)).all()
    assert [m.status for m in sent] == [MessageStatus.sent]  # one, not one per visit
    assert first == again


def test_an_unknown_number_is_kept_opted_out_but_never_texted_and_the_answer_is_the_same(session):
    make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550123")
    known = stop_page.submit(session, phone="+14155550123", client_address="a")
    unknown = stop_page.submit(session, phone="+14155550199", client_address="b")
    assert known.headline == unknown.headline
    assert known.sentence.replace("(415) 555-0123", "N") == unknown.sentence.replace("(415) 555-0199", "N")
    stranger = session.exec(select(Customer).where(Customer.phone == "+14155550199")).one()
    assert stranger.sms_status is SmsStatus.opted_out and stranger.source == Source.stop_page.value
    assert not session.exec(select(Message).where(Message.phone == "+14155550199")).all()
    # opt-out wins: a later request to that number is refused
    msg = customers.request_opt_in(session, customer_id=stranger.id)
    assert msg.status is MessageStatus.blocked


@pytest.mark.parametrize(
    "typed,words",
    [("", "Type the mobile number"), ("12", "doesn't look like a phone number"), ("+18005550123", "toll-free")],
)
def test_the_stop_page_refuses_what_cannot_be_a_mobile(session, typed, words):
    with pytest.raises(stop_page.StopPageError) as err:
        stop_page.submit(session, phone=typed)
    assert words in err.value.message and err.value.field == "phone"
    assert not session.exec(select(Customer)).all()


def test_the_stop_page_is_limited_per_device_like_the_sign_up_form(session):
    for n in range(5):
        stop_page.submit(session, phone=f"+1415555{n:04d}", client_address="9.9.9.9")
    with pytest.raises(stop_page.StopPageError) as err:
        stop_page.submit(session, phone="+14155550099", client_address="9.9.9.9")
    assert err.value.field == "_limit" and "text STOP to" in err.value.message
    assert session.exec(select(Customer).where(Customer.phone == "+14155550099")).first() is None
    stop_page.submit(session, phone="+14155550099", client_address="8.8.8.8")  # another device still can
