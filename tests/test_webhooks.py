"""Twilio's webhooks (core/messaging/webhooks.py) over real HTTP on 127.0.0.1: signed, forged, unsigned,
replayed and malformed requests; status callbacks and the carrier's error codes."""

from __future__ import annotations

import pytest
import requests
from sqlmodel import Session, func, select

from core.consent import customers
from core.messaging import webhooks
from core.models import Channel, ConsentEvent, Customer, Message, MessageKind, MessageStatus, SmsStatus
from tests.factories import make_customer
from tests.fake_twilio import ACCOUNT_SID, LocalServer, inbound_form, live_env, signed

PUBLIC = "https://shop.example.com"
INBOUND = PUBLIC + "/sms/twilio/inbound"
STATUS = PUBLIC + "/sms/twilio/status"
PHONE = "+14158675309"


@pytest.fixture
def live(monkeypatch):
    live_env(monkeypatch, "http://127.0.0.1:9", PUBLIC)  # nothing is sent in these tests


@pytest.fixture
def server(file_engine, live):
    with LocalServer(webhooks.make_app(file_engine)) as url:
        yield url


def post(server, path, form, headers=None, **kw):
    return requests.post(server + path, data=form, headers=headers or {}, timeout=10, **kw)


def counts(engine):
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(Message)).one(),
            s.exec(select(func.count()).select_from(ConsentEvent)).one(),
            s.exec(select(func.count()).select_from(Customer)).one(),
        )


def customer(engine, phone=PHONE):
    with Session(engine) as s:
        return s.exec(select(Customer).where(Customer.phone == phone)).one()


def messages(engine, phone=PHONE):
    with Session(engine) as s:
        return list(s.exec(select(Message).where(Message.phone == phone).order_by(Message.id)).all())


def test_a_signed_stop_opts_the_customer_out_and_queues_one_confirmation_for_the_sender(server, file_engine):
    with Session(file_engine) as s:
        make_customer(s, status=SmsStatus.opted_in, phone_number=PHONE)
    form = inbound_form(PHONE, "STOP")
    r = post(server, "/sms/twilio/inbound", form, signed(INBOUND, form))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/xml")
    assert r.text.endswith("<Response/>")
    assert customer(file_engine).sms_status is SmsStatus.opted_out
    inbound, reply = messages(file_engine)[-2:]
    assert inbound.provider_sid == form["MessageSid"] and inbound.body == "STOP"
    assert reply.kind is MessageKind.opt_out_confirmation and reply.status is MessageStatus.sending


def test_an_unsigned_webhook_is_refused_and_writes_nothing(server, file_engine):
    before = counts(file_engine)
    r = post(server, "/sms/twilio/inbound", inbound_form(PHONE, "STOP"))
    assert r.status_code == 403 and "signature" in r.text.lower()
    assert counts(file_engine) == before


@pytest.mark.parametrize("forgery", ["wrong token", "other url", "tampered body", "garbage"])
def test_a_forged_webhook_is_refused_and_writes_nothing(server, file_engine, forgery):
    with Session(file_engine) as s:
        make_customer(s, status=SmsStatus.opted_in, phone_number=PHONE)
    before = counts(file_engine)
    form = inbound_form(PHONE, "STOP")
    if forgery == "wrong token":
        headers = signed(INBOUND, form, token="f" * 32)
    elif forgery == "other url":
        headers = signed("https://evil.example.com/sms/twilio/inbound", form)
    elif forgery == "tampered body":
        headers = signed(INBOUND, form)
        form = {**form, "Body": "YES"}
    else:
        headers = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    r = post(server, "/sms/twilio/inbound", form, headers)
    assert r.status_code == 403
    assert counts(file_engine) == before
    assert customer(file_engine).sms_status is SmsStatus.opted_in


def test_a_webhook_for_another_twilio_account_is_refused(server, file_engine):
    form = inbound_form(PHONE, "STOP", AccountSid="AC" + "2" * 32)
    before = counts(file_engine)
    assert post(server, "/sms/twilio/inbound", form, signed(INBOUND, form)).status_code == 403
    assert counts(file_engine) == before


def test_a_replayed_webhook_with_the_same_message_sid_changes_nothing(server, file_engine):
    form = inbound_form(PHONE, "JOIN", to="+14155550142")
    assert post(server, "/sms/twilio/inbound", form, signed(INBOUND, form)).status_code == 200
    after_first = counts(file_engine)
    for _ in range(3):  # Twilio retries; an attacker replays a captured request
        r = post(server, "/sms/twilio/inbound", form, signed(INBOUND, form))
        assert r.status_code == 200 and r.text.endswith("<Response/>")
    assert counts(file_engine) == after_first
    assert [m.kind for m in messages(file_engine) if m.kind] == [MessageKind.opt_in_request]


@pytest.mark.parametrize(
    "case, expect",
    [
        ("long body", "1,600"),
        ("from not a phone", "From"),
        ("missing body", "Body is missing"),
        ("missing sid", "MessageSid is missing"),
        ("bad sid", "MessageSid"),
        ("twice", "more than once"),
    ],
)
def test_a_malformed_signed_webhook_gets_400_with_the_reason_and_writes_nothing(server, file_engine, case, expect):
    form = inbound_form(PHONE, "hello")
    if case == "long body":
        form["Body"] = "x" * 1601
    elif case == "from not a phone":
        form["From"] = "hello"
    elif case == "missing body":
        del form["Body"]
    elif case == "missing sid":
        del form["MessageSid"]
    elif case == "bad sid":
        form["MessageSid"] = "SM'; DROP TABLE message;--"
    if case == "twice":
        pairs = list(form.items()) + [("Body", "STOP")]
        from twilio.request_validator import RequestValidator
        from starlette.datastructures import MultiDict

        headers = {
            "X-Twilio-Signature": RequestValidator("0123456789abcdef0123456789abcdef").compute_signature(
                INBOUND, MultiDict(pairs)
            )
        }
        r = post(server, "/sms/twilio/inbound", pairs, headers)
    else:
        r = post(server, "/sms/twilio/inbound", form, signed(INBOUND, form))
    assert r.status_code == 400, r.text
    assert expect in r.text
    assert counts(file_engine) == (0, 0, 0)


def test_a_huge_body_a_wrong_content_type_and_broken_encoding_get_400_and_the_server_keeps_serving(server, file_engine):
    huge = post(server, "/sms/twilio/inbound", {"Body": "x" * 5_000_000, "From": PHONE})
    assert huge.status_code == 400 and "larger" in huge.text
    as_json = requests.post(server + "/sms/twilio/inbound", json=inbound_form(PHONE, "STOP"), timeout=10)
    assert as_json.status_code == 400 and "x-www-form-urlencoded" in as_json.text
    broken = requests.post(
        server + "/sms/twilio/inbound",
        data=b"Body=%ff%fe&From=%2B1415",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert broken.status_code == 400
    assert requests.get(server + "/sms/twilio/inbound", timeout=10).status_code == 405
    assert counts(file_engine) == (0, 0, 0)
    form = inbound_form(PHONE, "HELP")  # still serving
    assert post(server, "/sms/twilio/inbound", form, signed(INBOUND, form)).status_code == 200
    assert counts(file_engine)[0] == 2


def test_webhooks_are_refused_while_the_shop_texts_in_simulation(file_engine, monkeypatch):
    monkeypatch.setenv("OPTIN_DESK_SMS_PROVIDER", "simulated")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("OPTIN_DESK_PUBLIC_URL", PUBLIC)
    with LocalServer(webhooks.make_app(file_engine)) as url:
        form = inbound_form(PHONE, "STOP")
        r = post(url, "/sms/twilio/inbound", form, signed(INBOUND, form))
    assert r.status_code == 503 and "Texting provider" in r.text
    assert counts(file_engine) == (0, 0, 0)


def test_a_stop_twilio_already_answered_gets_no_second_confirmation(server, file_engine):
    with Session(file_engine) as s:
        make_customer(s, status=SmsStatus.opted_in, phone_number=PHONE)
    form = inbound_form(PHONE, "STOP", OptOutType="STOP")
    assert post(server, "/sms/twilio/inbound", form, signed(INBOUND, form)).status_code == 200
    assert customer(file_engine).sms_status is SmsStatus.opted_out
    reply = messages(file_engine)[-1]
    assert reply.kind is MessageKind.opt_out_confirmation and reply.status is MessageStatus.blocked
    assert "Advanced Opt-Out" in reply.reason


# --- status callbacks ----------------------------------------------------------------------------


def _sent_request(engine, phone=PHONE, sid="SM" + "a" * 32):
    """An opt-in request the sender handed to Twilio (status sent, with its sid)."""
    with Session(engine) as s:
        c = make_customer(s, phone_number=phone)
        msg = customers.request_opt_in(s, customer_id=c.id)
        assert msg.status is MessageStatus.sending
        msg.status, msg.provider_sid, msg.provider_status = MessageStatus.sent, sid, "queued"
        s.add(msg)
        s.commit()
        return msg.id, sid


def callback(server, form, query=""):
    form = {"AccountSid": ACCOUNT_SID, **form}
    return post(server, "/sms/twilio/status" + query, form, signed(STATUS + query, form))


def test_the_message_status_follows_twilios_and_never_goes_back(server, file_engine):
    msg_id, sid = _sent_request(file_engine)
    assert callback(server, {"MessageSid": sid, "MessageStatus": "delivered"}, f"?m={msg_id}").status_code == 204
    assert callback(server, {"MessageSid": sid, "MessageStatus": "sent"}).status_code == 204  # late, out of order
    m = messages(file_engine)[-1]
    assert (m.status, m.provider_status) == (MessageStatus.delivered, "delivered")


def test_a_status_callback_that_is_unsigned_or_malformed_changes_nothing(server, file_engine):
    msg_id, sid = _sent_request(file_engine)
    form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    assert post(server, "/sms/twilio/status", form).status_code == 403
    assert callback(server, {"MessageSid": sid, "MessageStatus": "exploded"}).status_code == 400
    assert callback(server, {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "abc"}).status_code == 400
    assert messages(file_engine)[-1].status is MessageStatus.sent
    assert not customer(file_engine).unreachable


def test_error_21610_opts_the_customer_out_with_the_carrier_as_channel_and_the_error_as_evidence(server, file_engine):
    msg_id, sid = _sent_request(file_engine)
    r = callback(server, {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "21610"}, f"?m={msg_id}")
    assert r.status_code == 204
    c = customer(file_engine)
    assert c.sms_status is SmsStatus.opted_out
    with Session(file_engine) as s:
        event = customers.ledger(s, c.id)[0]
    assert event.channel is Channel.carrier and event.evidence["error_code"] == 21610
    assert event.evidence["message_sid"] == sid
    m = messages(file_engine)[-1]
    assert (m.status, m.error_code) == (MessageStatus.failed, 21610)


@pytest.mark.parametrize("code, mark", [(30003, "unreachable"), (30005, "unknown"), (30006, "landline")])
def test_an_unreachable_phone_is_marked_and_gets_no_more_opt_in_requests(server, file_engine, code, mark):
    msg_id, sid = _sent_request(file_engine)
    r = callback(server, {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": str(code)})
    assert r.status_code == 204
    c = customer(file_engine)
    assert (c.unreachable, c.unreachable_code) == (mark, code)
    assert c.sms_status is SmsStatus.pending  # consent is unchanged: the phone just cannot get texts
    with Session(file_engine) as s:
        reason = customers.can_request_opt_in(
            s, customers.get(s, c.id), now=c.last_request_at.replace(year=c.last_request_at.year + 1)
        )
    assert str(code) in reason and "no opt-in requests" in reason


def test_a_status_callback_for_a_message_we_do_not_know_is_answered_and_ignored(server, file_engine):
    r = callback(server, {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"})
    assert r.status_code == 204
    assert counts(file_engine) == (0, 0, 0)
