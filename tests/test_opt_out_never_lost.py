"""Issue 11's single-writer rules: the 24 hours run from when a request went out, releases are
exactly-once, a review answered by a later START asks again, and an older shop's counters upgrade."""

import datetime as dt
import threading

import pytest
from sqlmodel import Session, select

from core.consent import customers
from core import bootstrap
from core.messaging import inbox, outbox
from core.models import Customer, Message, MessageKind, MessageStatus, SmsStatus
from tests.conftest import BACKENDS, NOW
from tests.factories import make_customer

LA = "+14155550123"
NIGHT = dt.datetime(2026, 12, 1, 7, 0)  # 23:00 in San Francisco: bulk requests wait for 08:00


def _queue_request(session, customer, now=NIGHT):
    msg = outbox.send(session, customer=customer, kind=MessageKind.opt_in_request, now=now, bulk=True)
    session.commit()
    session.refresh(msg)
    session.refresh(customer)
    return msg


def test_a_queued_request_counts_from_its_release_not_from_when_it_was_queued(session):
    c = make_customer(session, phone_number=LA)
    msg = _queue_request(session, c)
    assert msg.status is MessageStatus.queued
    assert (c.opt_in_requests, c.queued_requests, c.last_request_at) == (0, 1, None)
    released = msg.send_at + dt.timedelta(hours=1)  # 09:00 in San Francisco
    assert outbox.release_due(session, released).sent == 1
    session.refresh(c)
    assert (c.opt_in_requests, c.queued_requests, c.last_request_at) == (1, 0, released)
    # 23 hours after it went out (but 33 after it was queued): still too soon
    later = released + dt.timedelta(hours=23)
    assert "less than 24 hours" in customers.can_request_opt_in(session, c, later)
    assert customers.can_request_opt_in(session, c, released + dt.timedelta(hours=24, minutes=1)) == ""


def test_a_second_request_while_one_is_queued_is_refused_and_the_limit_counts_it(session):
    c = make_customer(session, phone_number=LA)
    _queue_request(session, c)
    again = customers.request_opt_in(session, customer_id=c.id, now=NIGHT + dt.timedelta(minutes=5))
    assert again.status is MessageStatus.blocked and "already queued" in again.reason


def test_the_customer_asking_replaces_a_queued_request_so_two_never_go_within_24_hours(session):
    c = make_customer(session, phone_number=LA)
    queued = _queue_request(session, c)
    out = inbox.receive(session, phone=LA, body="START", now=NIGHT + dt.timedelta(minutes=5))
    assert [m.kind for m in out] == [MessageKind.opt_in_request] and out[0].status is MessageStatus.sent
    session.refresh(queued)
    assert queued.status is MessageStatus.blocked and queued.reason == outbox.SUPERSEDED
    assert outbox.release_due(session, NIGHT + dt.timedelta(hours=10)).sent == 0
    session.refresh(c)
    assert (c.opt_in_requests, c.queued_requests) == (1, 0)


@pytest.mark.parametrize("file_engine", BACKENDS, indirect=True)
def test_two_sessions_releasing_at_once_send_each_message_once_and_count_truly(file_engine):
    with Session(file_engine) as s:
        for i in range(60):
            c = make_customer(s, phone_number=f"+1415555{6000 + i}")
            _queue_request(s, c)
    summaries, errors = [], []
    start = threading.Barrier(3)

    def release():
        try:
            start.wait()
            with Session(file_engine) as s:
                summaries.append(outbox.release_due(s, NIGHT + dt.timedelta(hours=10), batch=7))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=release) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(x.sent for x in summaries) == 60 and sum(x.blocked + x.queued for x in summaries) == 0
    with Session(file_engine) as s:
        sent = s.exec(select(Message).where(Message.status == MessageStatus.sent)).all()
        assert len(sent) == 60
        assert all(c.opt_in_requests == 1 and c.queued_requests == 0 for c in s.exec(select(Customer)).all())


def test_confirming_a_review_after_the_customer_texted_start_needs_an_explicit_override(session):
    make_customer(session, phone_number=LA, status=SmsStatus.opted_in, now=NOW - dt.timedelta(days=9))
    inbox.receive(session, phone=LA, body="please stop texting me", now=NOW - dt.timedelta(days=2))
    inbox.receive(session, phone=LA, body="STOP", now=NOW - dt.timedelta(days=1, hours=1))
    inbox.receive(session, phone=LA, body="START", now=NOW - dt.timedelta(days=1))
    review = inbox.pending_reviews(session)[0]
    with pytest.raises(inbox.NewerConsent) as err:
        inbox.decide_review(session, review_id=review.id, confirm=True, now=NOW)
    assert "START" in str(err.value)
    c = session.exec(select(Customer).where(Customer.phone == LA)).one()
    assert c.sms_status is SmsStatus.opted_in and inbox.pending_reviews(session)  # nothing undone
    inbox.decide_review(session, review_id=review.id, confirm=True, override=True, now=NOW)
    session.refresh(c)
    assert c.sms_status is SmsStatus.opted_out
    assert customers.ledger(session, c.id)[0].evidence["override"] is True


def test_a_stale_customer_write_fails_and_is_retried_never_overwriting(session):
    c = make_customer(session, phone_number=LA, status=SmsStatus.pending)
    stale = session.get(Customer, c.id)
    with Session(session.get_bind()) as other:  # someone else opts the customer out meanwhile
        inbox.receive(other, phone=LA, body="STOP", now=NOW)
    # this session still holds the pending row; a dashboard request re-reads it under the lock
    msg = customers.request_opt_in(session, customer_id=stale.id, now=NOW + dt.timedelta(minutes=1))
    assert msg.status is MessageStatus.blocked and "opted out" in msg.reason
    session.refresh(stale)
    assert stale.sms_status is SmsStatus.opted_out


def test_an_orm_write_from_a_stale_read_raises_instead_of_overwriting(session):
    from sqlalchemy.orm.exc import StaleDataError

    c = make_customer(session, phone_number=LA, status=SmsStatus.pending)
    with Session(session.get_bind()) as other:
        inbox.receive(other, phone=LA, body="STOP", now=NOW)
    c.first_name = "Stale"  # the row's version moved on: this write must not land
    with pytest.raises(StaleDataError):
        session.commit()
    session.rollback()
    assert session.get(Customer, c.id).sms_status is SmsStatus.opted_out


def test_an_older_shops_queued_requests_move_out_of_the_sent_counter_at_upgrade(engine):
    with Session(engine) as s:
        c = make_customer(s, phone_number=LA)
        _queue_request(s, c)
        cid = c.id
    with engine.begin() as conn:  # what the previous release stored: the queued request counted as sent
        conn.exec_driver_sql("UPDATE customer SET opt_in_requests = 1")
        conn.exec_driver_sql('ALTER TABLE customer DROP COLUMN "queued_requests"')
        conn.exec_driver_sql("DROP TABLE alembic_version")  # made before migrations (tests/test_migrations.py)
    bootstrap.init_db(engine)
    with Session(engine) as s:
        c = s.get(Customer, cid)
        assert (c.opt_in_requests, c.queued_requests) == (0, 1)
