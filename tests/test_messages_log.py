"""The message log (core/messages.py): keyset pages, filters, counts, the queue summary."""

import datetime as dt

import pytest

from core.messaging import inbox, messages, outbox
from core.models import Direction, MessageKind, MessageStatus, SmsStatus
from tests.factories import make_customer


def walk(session, limit=4, **kw):
    out, after = [], None
    while True:
        page = messages.page(session, after=after, limit=limit, **kw)
        out += [m.id for m in page.rows]
        if not page.has_more:
            return out
        after = page.next_cursor


@pytest.fixture
def chat(session, now):
    """Ada: YES then STOP; Bob texts HELP; an unknown phone texts the main number; all at set times."""
    ada = make_customer(session, status=SmsStatus.pending, phone_number="+14158675309", first_name="Ada")
    bob = make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550123", first_name="Bob")
    t = now - dt.timedelta(hours=5)
    inbox.receive(session, phone="415 867 5309", body="YES", now=t)
    inbox.receive(session, phone="415 867 5309", body="STOP", now=t + dt.timedelta(minutes=1))
    inbox.receive(session, phone="(415) 555-0123", body="HELP", now=t + dt.timedelta(minutes=1))  # same moment
    inbox.receive(session, phone="+1 650 555 8675", body="hello?", now=t + dt.timedelta(minutes=2))
    return {"ada": ada, "bob": bob}


def test_an_empty_log_has_no_rows_and_no_queue(session):
    assert messages.page(session).rows == [] and messages.count(session) == 0
    q = messages.queue_summary(session)
    assert q.queued == 0 and q.next_send_at is None


def test_the_log_lists_every_message_both_directions_newest_first(session, chat):
    rows = messages.page(session).rows
    assert len(rows) == messages.count(session) == 7  # 4 texts in, 3 replies out
    keys = [(m.created_at, m.id) for m in rows]
    assert keys == sorted(keys, reverse=True)
    assert rows[0].body == "hello?" and rows[0].direction is Direction.inbound


def test_keyset_pages_of_the_log_never_repeat_or_skip(session, chat):
    everything = [m.id for m in messages.page(session, limit=500).rows]
    for limit in (1, 2, 3, 7):
        assert walk(session, limit=limit) == everything


def test_the_log_filters_by_direction_kind_status_and_phone_in_any_format(session, chat):
    assert messages.count(session, direction="inbound") == 4
    assert messages.count(session, direction=Direction.outbound) == 3
    assert {m.kind for m in messages.page(session, kinds=[MessageKind.help_reply]).rows} == {MessageKind.help_reply}
    assert messages.count(session, kinds=["opt_in_confirmation", "opt_out_confirmation"]) == 2
    assert messages.count(session, statuses=[MessageStatus.received]) == 4
    assert messages.count(session, statuses=["sent"]) == 3
    for phone in ("(415) 867-5309", "+14158675309", "415.867.5309", "5309", "867-5309"):
        assert messages.count(session, phone=phone) == 4, phone  # YES, confirmation, STOP, confirmation
    assert walk(session, limit=2, phone="5309") == [m.id for m in messages.page(session, phone="5309").rows]
    assert messages.count(session, direction="outbound", phone="415-555-0123") == 1


@pytest.mark.parametrize("phone", ["12", "abc", "call me"])
def test_a_phone_filter_that_is_not_a_phone_says_how_to_fix_it(session, chat, phone):
    with pytest.raises(messages.InvalidFilter, match="last 4 digits"):
        messages.page(session, phone=phone)


def test_queued_messages_show_when_the_next_goes_and_release_sends_them(session):
    # 03:00 UTC: 19:00 the day before in San Francisco... use 06:00 UTC = 22:00 PT, outside 08-20
    night = dt.datetime(2026, 12, 1, 6, 0)
    for i in range(3):
        c = make_customer(session, phone_number=f"+1415555014{i}")
        outbox.send(session, customer=c, kind=MessageKind.opt_in_request, now=night, bulk=True)
    session.commit()
    q = messages.queue_summary(session)
    assert q.queued == 3 and q.next_send_at == dt.datetime(2026, 12, 1, 16, 0)  # 08:00 PT
    row = messages.log_rows(messages.page(session, statuses=["queued"]).rows, "US", "America/Los_Angeles")[0]
    # the shop's time, with its zone
    assert (
        row["status"] == "queued"
        and row["sends at"] == "1 Dec 2026, 8:00 AM PST"
        and row["reason"] == "Federal rule (TCPA): not after 21:00"
    )
    assert row["time"] == "30 Nov 2026, 10:00 PM PST"
    assert q.headline("America/Los_Angeles") == (
        "**3** messages queued for quiet hours; the next goes out 1 Dec 2026, 8:00 AM PST."
    )
    summary = outbox.release_due(session, now=dt.datetime(2026, 12, 1, 16, 1))
    assert summary.sent == 3
    assert messages.queue_summary(session).queued == 0


def test_log_rows_are_plain_text_with_encoding_and_segments(session, chat):
    rows = messages.log_rows(messages.page(session, limit=500).rows)
    hello = next(r for r in rows if r["text"] == "hello?")
    assert hello["direction"] == "in ←" and hello["phone"] == "(650) 555-8675" and hello["kind"] == "Customer's text"
    assert hello["encoding"] == "GSM-7" and hello["segments"] == 1
    conf = next(r for r in rows if r["kind"] == "Opt-out confirmation")
    assert conf["status"] == "sent" and conf["shop number"] == "(415) 555-0100"


@pytest.mark.parametrize("days_ahead, state", [(-1, "overdue"), (0, "due_soon"), (2, "due_soon"), (7, "open")])
def test_a_possible_opt_out_deadline_is_overdue_due_soon_or_open(days_ahead, state):
    today = dt.date(2026, 11, 30)  # a Monday
    assert messages.deadline_state(today + dt.timedelta(days=days_ahead), today).state == state
