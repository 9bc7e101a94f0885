"""Inbound texts through core.inbox.receive: statuses, ledger, replies (§2, §3, §4)."""

import datetime as dt

import pytest
from sqlmodel import func, select

from core.consent import customers
from core.messaging import inbox
from core import phones
from core.models import (
    ConsentEvent,
    Customer,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    PossibleOptOut,
    SmsStatus,
    Source,
)
from core.messaging.texting import DEFAULT_JOIN_NUMBER
from tests.factories import make_customer

PHONE = "(415) 867-5309"
E164 = "+14158675309"


def text(session, body, now, phone=PHONE, to=None):
    return inbox.receive(session, phone=phone, body=body, to=to, now=now)


def status_of(session, phone=E164):
    session.expire_all()
    return session.exec(select(Customer).where(Customer.phone == phone)).one().sms_status


def count(session, model, *where):
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_texting_the_join_number_creates_a_pending_customer_and_sends_the_opt_in_request(session, now):
    out = text(session, "JOIN", now, to=DEFAULT_JOIN_NUMBER)
    assert [(m.kind, m.status) for m in out] == [(MessageKind.opt_in_request, MessageStatus.sent)]
    c = session.exec(select(Customer).where(Customer.phone == E164)).one()
    assert c.sms_status is SmsStatus.pending
    assert c.source == Source.text_to_join.value
    assert "Reply Y or YES" in out[0].body


def test_double_opt_in_by_replying_yes_opts_in_with_the_reply_as_evidence(session, now):
    text(session, "JOIN", now, to=DEFAULT_JOIN_NUMBER)
    out = text(session, "yes!", now + dt.timedelta(minutes=2))
    assert [m.kind for m in out] == [MessageKind.opt_in_confirmation]
    assert status_of(session) is SmsStatus.opted_in
    c = customers.get_by_phone(session, PHONE)
    last = customers.ledger(session, c.id)[0]
    assert last.new_status is SmsStatus.opted_in and last.evidence["inbound_text"] == "yes!"


def test_stop_opts_out_with_exactly_one_confirmation_and_a_second_stop_gets_no_reply(session, now):
    make_customer(session, status=SmsStatus.opted_in, phone_number=E164)
    first = text(session, "STOP", now)
    second = text(session, "stop", now + dt.timedelta(minutes=1))
    assert [m.kind for m in first] == [MessageKind.opt_out_confirmation]
    assert second == []
    assert status_of(session) is SmsStatus.opted_out
    assert count(session, Message, Message.kind == MessageKind.opt_out_confirmation) == 1


def test_yes_from_an_opted_out_phone_changes_nothing_but_start_rejoins(session, now):
    make_customer(session, status=SmsStatus.opted_out, phone_number=E164)
    assert text(session, "YES", now) == []
    assert status_of(session) is SmsStatus.opted_out
    out = text(session, "START", now + dt.timedelta(minutes=1))
    assert [m.kind for m in out] == [MessageKind.resubscribe_confirmation]
    assert status_of(session) is SmsStatus.opted_in


def test_help_is_answered_in_every_status_even_opted_out(session, now):
    for i, status in enumerate(SmsStatus):
        phone = f"+1415555{1000 + i}"
        make_customer(session, status=status, phone_number=phone)
        out = inbox.receive(session, phone=phone, body="info", now=now)
        assert [(m.kind, m.status) for m in out] == [(MessageKind.help_reply, MessageStatus.sent)]
        assert status_of(session, phone) is status


def test_any_other_text_to_the_main_number_is_logged_only(session, now):
    make_customer(session, status=SmsStatus.opted_in, phone_number=E164)
    assert text(session, "what time do you close?", now) == []
    assert status_of(session) is SmsStatus.opted_in
    assert count(session, Message, Message.direction == Direction.inbound) == 1


def test_an_unknown_phone_texting_the_main_number_is_logged_without_creating_a_customer(session, now):
    assert text(session, "hello", now) == []
    assert count(session, Customer) == 0
    logged = session.exec(select(Message)).one()
    assert logged.direction is Direction.inbound and logged.customer_id is None


def test_every_status_change_appends_a_consent_event_and_status_equals_the_last_event(session, now):
    t = now
    for body, to in [("JOIN", DEFAULT_JOIN_NUMBER), ("Y", None), ("STOP", None), ("START", None), ("STOP", None)]:
        t += dt.timedelta(minutes=1)
        text(session, body, t, to=to)
    c = customers.get_by_phone(session, PHONE)
    events = customers.ledger(session, c.id)
    assert [e.new_status for e in events] == [
        SmsStatus.opted_out,
        SmsStatus.opted_in,
        SmsStatus.opted_out,
        SmsStatus.opted_in,
        SmsStatus.pending,
    ]
    assert events[0].new_status is c.sms_status
    assert all(e.evidence.get("inbound_text") for e in events)


def test_nothing_but_the_confirmation_and_help_goes_to_an_opted_out_phone(session, now):
    from core.messaging import outbox

    c = make_customer(session, status=SmsStatus.opted_out, phone_number=E164)
    for kind in (
        MessageKind.opt_in_request,
        MessageKind.opt_in_confirmation,
        MessageKind.resubscribe_confirmation,
        MessageKind.help_reply,
        MessageKind.opt_out_confirmation,
    ):
        msg = outbox.send(session, customer=c, kind=kind, now=now)
        assert msg.status is MessageStatus.blocked, kind
        assert "opted out" in msg.reason
    session.commit()
    assert count(session, Message, Message.status == MessageStatus.blocked) == 5


def test_a_join_request_beyond_the_request_limit_is_blocked_and_logged(session, now):
    join = DEFAULT_JOIN_NUMBER
    first = text(session, "JOIN", now, to=join)
    too_soon = text(session, "JOIN", now + dt.timedelta(hours=2), to=join)
    second = text(session, "JOIN", now + dt.timedelta(days=2), to=join)
    third = text(session, "JOIN", now + dt.timedelta(days=4), to=join)
    assert first[0].status is MessageStatus.sent
    assert too_soon[0].status is MessageStatus.blocked and "24 hours" in too_soon[0].reason
    assert second[0].status is MessageStatus.sent
    assert third[0].status is MessageStatus.blocked and "limit" in third[0].reason.lower()
    assert status_of(session) is SmsStatus.pending


def test_a_possible_opt_out_is_queued_for_the_owner_with_a_ten_business_day_deadline(session, now):
    make_customer(session, status=SmsStatus.opted_in, phone_number=E164)
    assert text(session, "please stop texting me", now) == []
    assert status_of(session) is SmsStatus.opted_in
    [review] = inbox.pending_reviews(session)
    assert review.body == "please stop texting me"
    # Monday 30 Nov 2026 + 10 business days = Monday 14 Dec 2026
    assert review.deadline == dt.date(2026, 12, 14)
    inbox.decide_review(session, review_id=review.id, confirm=True, now=now)
    assert status_of(session) is SmsStatus.opted_out
    assert inbox.pending_reviews(session) == []


def test_dismissing_a_possible_opt_out_needs_a_reason_and_keeps_the_status(session, now):
    make_customer(session, status=SmsStatus.opted_in, phone_number=E164)
    text(session, "can I cancel my order?", now)
    [review] = inbox.pending_reviews(session)
    with pytest.raises(inbox.InvalidMessage):
        inbox.decide_review(session, review_id=review.id, confirm=False, reason="  ")
    inbox.decide_review(session, review_id=review.id, confirm=False, reason="asked about an order", now=now)
    assert status_of(session) is SmsStatus.opted_in
    assert session.get(PossibleOptOut, review.id).reason == "asked about an order"


@pytest.mark.parametrize("body", ["", "   ", None, "x" * 10_000])
def test_an_empty_or_overlong_body_is_a_named_error_and_writes_nothing(session, now, body):
    with pytest.raises(inbox.InvalidMessage):
        text(session, body, now)
    assert count(session, Message) == 0


@pytest.mark.parametrize("phone", ["not a phone", "123", "", "\x00\x00", "9" * 500])
def test_a_phone_that_is_not_a_phone_is_a_named_error_and_writes_nothing(session, now, phone):
    with pytest.raises(phones.InvalidPhone):
        inbox.receive(session, phone=phone, body="YES", now=now)
    assert count(session, Message) == 0


def test_nul_bytes_are_removed_from_the_body_and_the_keyword_still_counts(session, now):
    make_customer(session, status=SmsStatus.opted_in, phone_number=E164)
    out = text(session, "ST\x00OP", now)
    assert [m.kind for m in out] == [MessageKind.opt_out_confirmation]


def test_a_failure_half_way_leaves_the_database_as_it_was(session, now, monkeypatch):
    from core.messaging import outbox

    make_customer(session, status=SmsStatus.opted_in, phone_number=E164)
    before_events = count(session, ConsentEvent)

    def boom(*a, **k):
        raise RuntimeError("carrier down")

    monkeypatch.setattr(outbox, "send", boom)
    with pytest.raises(RuntimeError):
        text(session, "STOP", now)
    assert status_of(session) is SmsStatus.opted_in
    assert count(session, ConsentEvent) == before_events
    assert count(session, Message) == 0


def test_every_message_is_logged_with_encoding_and_segments(session, now):
    text(session, "JOIN 😀", now, to=DEFAULT_JOIN_NUMBER)
    inbound = session.exec(select(Message).where(Message.direction == Direction.inbound)).one()
    assert inbound.encoding == "UCS-2" and inbound.segments == 1
    outbound = session.exec(select(Message).where(Message.direction == Direction.outbound)).one()
    assert outbound.encoding == "GSM-7" and outbound.segments >= 1
    assert outbound.shop_number == DEFAULT_JOIN_NUMBER


@pytest.mark.parametrize(
    "sender, body", [("+1 900 555 0123", "JOIN"), ("1-800-555-0123", "YES"), ("+1 888 555 0123", "START")]
)
def test_a_join_request_from_a_premium_rate_or_toll_free_number_is_logged_only(session, now, sender, body):
    out = inbox.receive(session, phone=sender, body=body, to=DEFAULT_JOIN_NUMBER, now=now)
    assert out == []  # no opt-in request: a text to such a number costs the shop or reaches no one
    assert session.exec(select(func.count()).select_from(Customer)).one() == 0
    [logged] = session.exec(select(Message)).all()
    assert logged.direction.value == "inbound" and logged.body == body


def test_stop_from_a_toll_free_number_is_still_honoured(session, now):
    out = inbox.receive(session, phone="1-800-555-0123", body="STOP", now=now)
    assert [m.kind for m in out] == [MessageKind.opt_out_confirmation]
