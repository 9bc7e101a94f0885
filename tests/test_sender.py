"""The background sender (core/messaging/sender.py) against a fake Twilio API on 127.0.0.1, through the
real `twilio` client: consent checked again at send time, retries, unknown outcomes settled without
sending twice, the carrier's refusals, the rate."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from core.consent import customers
from core.messaging import inbox, outbox, providers, sender
from core.messaging.providers.twilio import TwilioProvider
from core.models import Channel, Customer, Message, MessageKind, MessageStatus, Setting, SmsStatus
from tests.factories import make_customer
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, live_env

PHONE = "+14158675309"
MAIN = "+14155550100"


@pytest.fixture
def api(monkeypatch):
    with FakeTwilio() as fake:
        live_env(monkeypatch, fake.url)
        monkeypatch.setattr(sender, "BACKOFF_BASE_S", 0.01)
        yield fake


def drain(engine, *, rate=1000.0, steps=50, **kw):
    s = sender.Sender(engine, rate=rate, **kw)
    for _ in range(steps):
        if not s.step():
            break
    return s


def outbound(engine, phone=PHONE):
    with Session(engine) as s:
        return list(
            s.exec(
                select(Message).where(Message.phone == phone, Message.direction == "outbound").order_by(Message.id)
            ).all()
        )


def test_a_live_reply_goes_out_through_twilio_once_with_the_shop_number_and_is_recorded_sent(file_engine, api):
    with Session(file_engine) as s:
        make_customer(s, status=SmsStatus.opted_in, phone_number=PHONE)
        out = inbox.receive(s, phone=PHONE, body="STOP")
    assert [m.status for m in out] == [MessageStatus.sending]
    drain(file_engine)
    assert len(api.creates) == 1
    created = api.creates[0]
    assert (created["to"], created["from"]) == (PHONE, MAIN)
    assert created["body"] == out[0].body
    assert created["status_callback"] == f"https://shop.example.com/sms/twilio/status?m={out[0].id}"
    [m] = outbound(file_engine)
    assert (m.status, m.provider_sid, m.claimed_by) == (MessageStatus.sent, created["sid"], None)
    drain(file_engine)
    assert len(api.creates) == 1  # nothing twice


def test_in_simulation_and_in_the_demo_shop_texts_are_logged_sent_at_once_and_nothing_is_called(
    file_engine, api, monkeypatch
):
    with Session(file_engine) as s:
        s.add(Setting(key="demo_shop", value="1"))  # the demo shop's own database
        s.commit()
        make_customer(s, status=SmsStatus.opted_in, phone_number=PHONE)
        [reply] = inbox.receive(s, phone=PHONE, body="HELP")
        assert reply.status is MessageStatus.sent
    monkeypatch.setenv("OPTIN_DESK_SMS_PROVIDER", "simulated")
    with Session(file_engine) as s:
        assert not providers.is_live(s)
    drain(file_engine)
    assert api.creates == [] and api.posts == []


def test_a_stop_that_arrives_after_the_request_was_queued_wins(file_engine, api):
    with Session(file_engine) as s:
        c = make_customer(s, phone_number=PHONE)
        request = customers.request_opt_in(s, customer_id=c.id)
        assert request.status is MessageStatus.sending
        inbox.receive(s, phone=PHONE, body="STOP")  # before the sender got to the request
    drain(file_engine)
    request_row, confirmation = outbound(file_engine)
    assert request_row.status is MessageStatus.blocked and "opted out" in request_row.reason
    assert confirmation.status is MessageStatus.sent
    assert [c["body"] for c in api.creates] == [confirmation.body]
    with Session(file_engine) as s:
        assert s.exec(select(Customer).where(Customer.phone == PHONE)).one().opt_in_requests == 0


def test_429_and_5xx_are_tried_again_with_backoff_and_the_text_goes_once(file_engine, api):
    api.script = [429, 503, 500]
    with Session(file_engine) as s:
        inbox.receive(s, phone=PHONE, body="HELP")
    s = sender.Sender(file_engine, rate=1000)
    deadline = time.monotonic() + 20
    while outbound(file_engine)[0].status is MessageStatus.sending and time.monotonic() < deadline:
        s.step()
        time.sleep(0.02)
    [m] = outbound(file_engine)
    assert m.status is MessageStatus.sent and m.attempts == 4
    assert len(api.posts) == 4 and len(api.creates) == 1
    assert len(api.lists) == 2  # after each 5xx Twilio was asked before sending again


def test_a_send_whose_answer_was_lost_is_found_at_twilio_and_not_sent_again(file_engine, api, monkeypatch):
    """Twilio took the text but the answer never came (a timeout): the sender asks, finds it, records it."""
    with Session(file_engine) as s:
        inbox.receive(s, phone=PHONE, body="HELP")
    api.on_create = lambda n: time.sleep(1.5) if n == 1 else None
    slow = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, api_url=api.url, timeout=0.5)
    s = sender.Sender(file_engine, rate=1000, provider=slow)
    s.step()
    [m] = outbound(file_engine)
    assert m.status is MessageStatus.sending and m.claimed_by == s.name  # outcome unknown: still claimed
    deadline = time.monotonic() + 20
    while outbound(file_engine)[0].status is MessageStatus.sending and time.monotonic() < deadline:
        s.step()
        time.sleep(0.05)
    [m] = outbound(file_engine)
    assert len(api.creates) == 1
    assert (m.status, m.provider_sid) == (MessageStatus.sent, api.creates[0]["sid"])


def test_error_21610_on_sending_fails_the_text_and_opts_the_customer_out_by_the_carrier(file_engine, api):
    api.script = [(400, 21610)]
    with Session(file_engine) as s:
        cid = make_customer(s, status=SmsStatus.opted_in, phone_number=PHONE).id
        inbox.receive(s, phone=PHONE, body="HELP")
    drain(file_engine)
    [m] = outbound(file_engine)
    assert (m.status, m.error_code) == (MessageStatus.failed, 21610)
    with Session(file_engine) as s:
        event = customers.ledger(s, cid)[0]
        assert event.new_status is SmsStatus.opted_out and event.channel is Channel.carrier
    assert len(api.posts) == 1


def test_quiet_hours_texts_released_by_the_sender_go_out_when_their_time_comes(file_engine, api, now):
    with Session(file_engine) as s:
        c = make_customer(s, phone_number=PHONE)
        msg = outbox.send(
            s, customer=c, kind=MessageKind.opt_in_request, bulk=True, now=now.replace(hour=6)
        )  # 22:00 in San Francisco: queued
        s.commit()
        assert msg.status is MessageStatus.queued
    drain(file_engine)
    [m] = outbound(file_engine)
    assert m.status is MessageStatus.sent and len(api.creates) == 1


def test_the_sender_keeps_to_the_configured_rate(file_engine, api):
    with Session(file_engine) as s:
        for i in range(21):
            inbox.receive(s, phone=f"+1415555{1000 + i}", body="HELP")
    s = sender.Sender(file_engine, rate=20)
    while s.step():
        pass
    times = [c["date_created"].timestamp() for c in api.creates]
    assert len(times) == 21
    elapsed = times[-1] - times[0]
    assert 0.9 <= elapsed <= 1.25, elapsed  # 20 gaps of 50 ms
