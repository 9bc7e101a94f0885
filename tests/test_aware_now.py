"""Every service that takes `now` accepts a time-zone-aware datetime (any zone) as well as naive UTC,
and does exactly what it does for the same instant in naive UTC (issue 11, hostile and odd input)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from core.audiences import export as aud_export
from core.audiences import query as aud_query
from core.audiences import saved as aud_saved
from core import auth
from core.consent import customers, personas
from core.training import demo, training
from core.signups import forms, signup
from core.importing import pos, service
from tests import import_reference
from core.messaging import inbox, outbox, texting, texting_editor
from core.reports import figures, member_club, period
from core.clock import as_utc
from core.bootstrap import init_db
from core.db import make_engine
from core.models import ConsentEvent, Customer, Message, MessageKind, PossibleOptOut, SmsStatus
from tests.conftest import NOW
from tests.factories import make_customer
from tests.import_helpers import write_csv

# 11:00 in Los Angeles on 30 November 2026 is 19:00 UTC: the same instant as NOW (naive UTC)
AWARE = dt.datetime(2026, 11, 30, 11, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
AWARE_TOKYO = dt.datetime(2026, 12, 1, 4, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
EARLIER = dt.datetime(2026, 11, 1, 18, 0)
NIGHT = dt.datetime(2026, 11, 30, 9, 0)  # 01:00 in Los Angeles: bulk messages wait
PHONE = "+14155550123"


def snapshot(s) -> dict:
    """Every stored time and status, in id order."""
    s.expire_all()
    return {
        "customers": [
            (
                c.phone,
                c.sms_status,
                c.first_name,
                c.created_at,
                c.updated_at,
                c.status_changed_at,
                c.last_request_at,
                c.opt_in_requests,
            )
            for c in s.exec(select(Customer).order_by(Customer.id))
        ],
        "events": [
            (e.phone, e.old_status, e.new_status, e.occurred_at, e.dedupe_key, e.pending_seconds)
            for e in s.exec(select(ConsentEvent).order_by(ConsentEvent.id))
        ],
        "messages": [
            (m.phone, m.kind, m.status, m.created_at, m.send_at, m.sent_at, m.reason)
            for m in s.exec(select(Message).order_by(Message.id))
        ],
    }


def _customer(s, status=SmsStatus.not_opted_in, when=EARLIER):
    return make_customer(s, status=status, phone_number=PHONE, now=when)


def _messages(msgs):
    return [(m.kind, m.status, m.created_at, m.send_at, m.sent_at, m.reason) for m in msgs]


def receive_stop(s, now, tmp_path):
    _customer(s, SmsStatus.opted_in)
    return _messages(inbox.receive(s, phone=PHONE, body="STOP", now=now))


def receive_possible_opt_out_sets_the_review_deadline(s, now, tmp_path):
    _customer(s, SmsStatus.opted_in)
    inbox.receive(s, phone=PHONE, body="please stop texting me on weekends", now=now)
    r = s.exec(select(PossibleOptOut)).one()
    return r.received_at, r.deadline


def decide_review(s, now, tmp_path):
    _customer(s, SmsStatus.opted_in)
    inbox.receive(s, phone=PHONE, body="please stop texting me", now=EARLIER + dt.timedelta(days=1))
    r = inbox.decide_review(s, review_id=s.exec(select(PossibleOptOut.id)).one(), confirm=True, now=now)
    return r.decision, r.decided_at


def request_opt_in(s, now, tmp_path):
    c = _customer(s)
    return _messages([customers.request_opt_in(s, customer_id=c.id, now=now)])


def can_request_opt_in(s, now, tmp_path):
    c = _customer(s)
    customers.request_opt_in(s, customer_id=c.id, now=NOW - dt.timedelta(hours=23))
    s.refresh(c)
    return customers.can_request_opt_in(s, c, now), customers.can_request_opt_in(s, c, now + dt.timedelta(hours=2))


def record_opt_out(s, now, tmp_path):
    c = _customer(s, SmsStatus.opted_in)
    e = customers.record_opt_out(s, customer_id=c.id, reason="asked in person", now=now)
    return e.occurred_at, e.new_status


def add_customer(s, now, tmp_path):
    c = customers.add_customer(s, phone=PHONE, now=now, first_name="Ann")
    return c.created_at, c.status_changed_at


def signup_submit(s, now, tmp_path):
    result = signup.submit(s, form_slug="main", answers={"first_name": "Ann", "phone": PHONE}, now=now)
    return result.outcome


def send_and_next_send_time(s, now, tmp_path):
    c = _customer(s)
    defaults = texting.get_defaults(s)
    return (
        outbox.next_send_time(PHONE, now, defaults),
        outbox.next_send_time(PHONE, now - dt.timedelta(hours=12), defaults),
        _messages([outbox.send(s, customer=c, kind=MessageKind.opt_in_request, now=now, bulk=True)]),
    )


def release_due(s, now, tmp_path):
    c = _customer(s)
    outbox.send(s, customer=c, kind=MessageKind.opt_in_request, now=NIGHT, bulk=True)
    s.commit()
    state = texting_editor.queue_state(s, now)
    summary = outbox.release_due(s, now)
    return state, outbox.due_count(s, now), vars(summary)


def resend(s, now, tmp_path):
    c = _customer(s, SmsStatus.pending, when=EARLIER)
    return vars(member_club.resend(s, [c.id], now=now))


def reports_views(s, now, tmp_path):
    _customer(s, SmsStatus.pending, when=EARLIER)
    h = figures.headline(s, dt.date(2026, 11, 1), dt.date(2026, 11, 30), now=now)
    pending = member_club.pending_requests(s, now=now)
    return (
        h.counts,
        h.change,
        period.local_today(s, now),
        figures.status_counts_at(s, EARLIER, now=now),
        [r for r in pending.rows],
        b"".join(member_club.pending_export(s, now=now)),
    )


def import_csv(s, now, tmp_path):
    path = write_csv(tmp_path, "list.csv", ["Phone,First Name,SMS Opt In", f"{PHONE},Ann,", "+14155550124,Ben,"])
    report = service.import_csv(s, path, attested=True, now=now)
    return report.counts()


def import_reference_file(s, now, tmp_path):
    path = write_csv(tmp_path, "list.csv", ["Phone,First Name,SMS Opt In", f"{PHONE},Ann,", "+14155550124,Ben,"])
    return import_reference.import_file(s, path, attested=True, now=now)


def pos_sync(s, now, tmp_path):
    src = pos.create_source(s, name="Dutchie", now=now)
    path = write_csv(tmp_path, "d.csv", ["Mobile,First Name,Accepts SMS Marketing", f"{PHONE},Ann,"])
    report = pos.sync(s, source_id=src.id, file=path, now=now)
    summary = pos.set_request_after(s, src.id, dt.date(2026, 11, 1), now=now)
    return src.created_at, report.counts(), vars(summary)


def personas_view(s, now, tmp_path):
    c = _customer(s)
    customers.request_opt_in(s, customer_id=c.id, now=NOW - dt.timedelta(hours=23))
    return personas.view(s, c.id, now=now).request_refusal


def audiences_count_and_save(s, now, tmp_path):
    _customer(s, SmsStatus.pending, when=NOW - dt.timedelta(days=3))
    conds = [{"trait": "pending_for", "op": "more than", "value": 2}]
    saved = aud_saved.save(s, name="Waiting", conditions=conds, now=now)
    return aud_query.count(s, conds, now=now), saved.updated_at, b"".join(aud_export.export_csv(s, conds, now=now))


def forms_create_and_view(s, now, tmp_path):
    f = forms.create(s, name="Counter", now=now)
    forms.update(s, form_id=f.id, now=now, double_opt_in=False)
    copy = forms.duplicate(s, form_id=f.id, now=now)
    forms.record_view(s, form_id=f.id, now=now)
    return f.created_at, f.updated_at, copy.created_at


def sign_in_lockout(s, now, tmp_path):
    auth.set_password(s, "correct horse battery")
    results = []
    for _ in range(6):
        try:
            results.append(auth.sign_in(s, "wrong password!", client="1.2.3.4", now=now))
        except auth.Locked as exc:
            results.append(exc.seconds)
    return results, auth.check_lockout(s, client="1.2.3.4", now=now)


def demo_and_training(s, now, tmp_path):
    training.seed(s.get_bind(), now=now)
    return snapshot(s)["customers"][:5]


def load_demo(s, now, tmp_path):
    return demo.load_demo(s, now=now)


SERVICES = [
    receive_stop,
    receive_possible_opt_out_sets_the_review_deadline,
    decide_review,
    request_opt_in,
    can_request_opt_in,
    record_opt_out,
    add_customer,
    signup_submit,
    send_and_next_send_time,
    release_due,
    resend,
    reports_views,
    import_csv,
    import_reference_file,
    pos_sync,
    personas_view,
    audiences_count_and_save,
    forms_create_and_view,
    sign_in_lockout,
    load_demo,
]


def _run(service, now, tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine("sqlite://")
    init_db(engine)
    try:
        with Session(engine) as s:
            result = service(s, now, tmp_path)
            return result, snapshot(s)
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", SERVICES, ids=[f.__name__ for f in SERVICES])
def test_an_aware_now_gives_the_same_result_as_the_same_instant_in_naive_utc(service, tmp_path):
    expected = _run(service, NOW, tmp_path / "naive")
    assert _run(service, AWARE, tmp_path / "aware") == expected
    assert _run(service, AWARE_TOKYO, tmp_path / "tokyo") == expected


def test_training_seed_accepts_an_aware_now(tmp_path):
    expected = _run(demo_and_training, NOW, tmp_path)
    assert _run(demo_and_training, AWARE, tmp_path) == expected


def test_as_utc_converts_aware_times_and_leaves_naive_utc_alone():
    assert as_utc(AWARE) == NOW and as_utc(AWARE).tzinfo is None
    assert as_utc(AWARE_TOKYO) == NOW
    assert as_utc(dt.datetime(2026, 11, 30, 19, 0, tzinfo=dt.timezone.utc)) == NOW
    assert as_utc(NOW) is NOW
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert before <= as_utc(None) <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
