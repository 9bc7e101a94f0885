"""Quiet hours end to end (rulebook §4): bulk requests wait for the recipient's sending window,
release_due sends them once due and refuses what has become forbidden; replies go at once."""

from __future__ import annotations

import datetime as dt

from core.consent import customers
from core.messaging import inbox, outbox, texting
from core.models import MessageKind, MessageStatus, SmsStatus
from core.messaging.texting_editor import queue_state
from tests.factories import make_customer

LA_NUMBER = "+14155550123"  # San Francisco: America/Los_Angeles (PST = UTC-8 in December)
NY_NUMBER = "+12125550123"  # New York: America/New_York (EST = UTC-5)
NO_ZONE_NUMBER = "+881612345678"  # satellite phone: phonenumbers knows no time zone for it
TOLL_FREE = "+18005550123"  # every zone of the North American numbering plan, Guam to Newfoundland


def utc(y, mo, d, h, mi=0):
    return dt.datetime(y, mo, d, h, mi)


def bulk_request(session, customer, now):
    msg = outbox.send(session, customer=customer, kind=MessageKind.opt_in_request, now=now, bulk=True)
    session.commit()
    session.refresh(msg)
    return msg


def test_a_bulk_request_at_23_00_local_is_queued_until_08_00_local_the_next_day(session):
    c = make_customer(session, phone_number=LA_NUMBER)
    msg = bulk_request(session, c, utc(2026, 12, 1, 7))  # 23:00 PST on 30 November
    assert msg.status is MessageStatus.queued
    assert msg.send_at == utc(2026, 12, 1, 16)  # 08:00 PST on 1 December
    assert msg.sent_at is None
    assert msg.reason == "Federal rule (TCPA): not after 21:00"  # §9: the rule that held it


def test_a_new_york_number_at_07_30_eastern_is_queued_until_08_00_eastern(session):
    c = make_customer(session, phone_number=NY_NUMBER)
    msg = bulk_request(session, c, utc(2026, 11, 30, 12, 30))  # 07:30 EST (04:30 in the shop's LA)
    assert msg.status is MessageStatus.queued
    assert msg.send_at == utc(2026, 11, 30, 13)  # 08:00 EST


def test_a_bulk_request_inside_the_window_goes_at_once(session, now):
    c = make_customer(session, phone_number=LA_NUMBER)
    msg = bulk_request(session, c, now)  # 11:00 PST
    assert msg.status is MessageStatus.sent
    assert msg.sent_at == now and msg.send_at is None


def test_the_window_end_itself_is_quiet_and_the_window_start_is_not(session):
    first = make_customer(session, phone_number=LA_NUMBER)
    second = make_customer(session, phone_number="+14155550124")
    assert bulk_request(session, first, utc(2026, 12, 1, 4)).status is MessageStatus.queued  # 20:00 PST
    assert bulk_request(session, second, utc(2026, 11, 30, 16)).status is MessageStatus.sent  # 08:00 PST


def test_an_overnight_window_is_refused_beside_its_end(session):
    """Rulebook §9: every state's window lies within one day, so the shop's may not run overnight."""
    import pytest

    with pytest.raises(texting.InvalidSetting) as err:
        texting.update_defaults(session, window_start=dt.time(22, 0), window_end=dt.time(6, 0))
    assert err.value.field == "window_end"
    assert "must end after it starts" in err.value.message
    assert texting.get_defaults(session).window_end == dt.time(20, 0)  # nothing saved


def test_a_number_whose_zones_are_unknown_uses_the_shops_time_zone(session):
    texting.update_defaults(session, timezone="America/New_York")
    c = make_customer(session, phone_number=NO_ZONE_NUMBER)
    msg = bulk_request(session, c, utc(2026, 12, 1, 3))  # 22:00 in New York, 19:00 in LA
    assert msg.status is MessageStatus.queued
    assert msg.send_at == utc(2026, 12, 1, 13)  # 08:00 in New York


def test_a_number_in_many_zones_waits_until_it_is_inside_the_window_in_every_one(session):
    c = make_customer(session, phone_number=TOLL_FREE)
    msg = bulk_request(session, c, utc(2026, 12, 1, 7))  # 23:00 in the shop's LA
    # 22:00 UTC: 08:00 in Guam (UTC+10), 11:00 in Pago Pago (UTC-11), 18:30 in St John's (UTC-3:30)
    assert msg.send_at == utc(2026, 12, 1, 22)


def test_release_due_sends_what_has_come_due_and_blocks_an_opt_out_made_meanwhile(session):
    stays = make_customer(session, phone_number=LA_NUMBER)
    leaves = make_customer(session, phone_number="+14155550124")
    later = make_customer(session, phone_number=NY_NUMBER)
    night = utc(2026, 12, 1, 7)  # 23:00 PST, 02:00 EST
    a, b = bulk_request(session, stays, night), bulk_request(session, leaves, night)
    c = bulk_request(session, later, night)
    inbox.receive(session, phone=leaves.phone, body="STOP", now=night + dt.timedelta(hours=1))

    assert outbox.release_due(session, utc(2026, 12, 1, 12)).sent == 0  # 04:00 PST: nothing due yet
    summary = outbox.release_due(session, utc(2026, 12, 1, 16))  # 08:00 PST
    for m in (a, b, c):
        session.refresh(m)
    assert (summary.sent, summary.blocked) == (2, 1)
    assert a.status is MessageStatus.sent and a.sent_at == utc(2026, 12, 1, 16)
    assert b.status is MessageStatus.blocked and "opted out" in b.reason
    assert c.status is MessageStatus.sent  # the New York one came due at 13:00 UTC
    assert outbox.queued_count(session) == 0


def test_release_due_blocks_a_request_to_someone_who_opted_in_meanwhile(session):
    c = make_customer(session, phone_number=LA_NUMBER, status=SmsStatus.pending)
    msg = bulk_request(session, c, utc(2026, 12, 1, 7))
    inbox.receive(session, phone=c.phone, body="YES", now=utc(2026, 12, 1, 8))
    outbox.release_due(session, utc(2026, 12, 1, 17))
    session.refresh(msg)
    assert msg.status is MessageStatus.blocked and "opted in" in msg.reason.lower()


def test_a_due_message_found_in_quiet_hours_again_waits_for_the_next_window(session):
    """Nobody opened the app while the window was open: releasing at 21:00 must not text at night."""
    c = make_customer(session, phone_number=LA_NUMBER)
    msg = bulk_request(session, c, utc(2026, 12, 1, 7))  # due 08:00 PST on 1 December
    summary = outbox.release_due(session, utc(2026, 12, 2, 5))  # 21:00 PST on 1 December
    session.refresh(msg)
    assert (summary.sent, summary.queued) == (0, 1)
    assert msg.status is MessageStatus.queued
    assert msg.send_at == utc(2026, 12, 2, 16)  # 08:00 PST on 2 December
    assert outbox.due_count(session, utc(2026, 12, 2, 5)) == 0  # page loads stop retrying it
    assert outbox.release_due(session, utc(2026, 12, 2, 16)).sent == 1


def test_a_reply_to_the_customers_own_text_goes_at_once_even_at_night(session):
    c = make_customer(session, phone_number=LA_NUMBER, status=SmsStatus.opted_in)
    night = utc(2026, 12, 1, 11)  # 03:00 PST
    [help_reply] = inbox.receive(session, phone=c.phone, body="HELP", now=night)
    assert help_reply.status is MessageStatus.sent and help_reply.sent_at == night
    [join] = inbox.receive(
        session, phone="+14155550199", body="JOIN", now=night, to=texting.get_defaults(session).join_number
    )
    assert join.kind is MessageKind.opt_in_request and join.status is MessageStatus.sent


def test_a_request_the_owner_sends_from_the_dashboard_waits_for_the_window_too(session):
    """Rulebook §9 (issue 14): every request the shop starts, not only bulk ones, goes only inside the
    recipient's window; only replies to the customer's own text or form go at once."""
    c = make_customer(session, phone_number=LA_NUMBER)
    msg = customers.request_opt_in(session, customer_id=c.id, now=utc(2026, 12, 1, 7))  # 23:00 PST
    assert msg.status is MessageStatus.queued
    assert msg.send_at == utc(2026, 12, 1, 16)
    assert msg.reason == "Federal rule (TCPA): not after 21:00"


def test_the_queue_state_counts_queued_and_due_messages_and_says_when_the_next_goes(session):
    assert queue_state(session, utc(2026, 12, 1, 7)).sentence("America/Los_Angeles") == (
        "No texts are waiting for quiet hours to end."
    )
    bulk_request(session, make_customer(session, phone_number=NY_NUMBER), utc(2026, 12, 1, 7))
    bulk_request(session, make_customer(session, phone_number=LA_NUMBER), utc(2026, 12, 1, 7))
    state = queue_state(session, utc(2026, 12, 1, 14))
    assert (state.queued, state.due, state.next_at) == (2, 1, utc(2026, 12, 1, 13))
    assert outbox.next_release_at(session) == utc(2026, 12, 1, 13)
    assert state.sentence("America/Los_Angeles") == (
        "2 texts are waiting for quiet hours to end; the next goes 1 Dec 2026, 5:00 AM PST."
    )
    assert state.sentence("America/New_York").endswith("the next goes 1 Dec 2026, 8:00 AM EST.")
