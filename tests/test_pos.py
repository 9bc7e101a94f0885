"""POS sources and syncs (rulebook §7), on SQLite and PostgreSQL (the `session` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from core.importing import context, pos, sql
from core.importing.requests import bulk_requests
from core.importing.report import EmptyFile
from core.messaging import outbox
from core.bootstrap import init_db
from core.db import make_engine
from core.models import ConsentEvent, Customer, Message, MessageKind, MessageStatus, PosContact, SmsStatus
from tests.conftest import NOW
from tests.factories import make_customer
from tests.import_helpers import counts, snapshot, status_of, write_csv

DAY = dt.timedelta(days=1)
NIGHT = dt.datetime(2026, 12, 1, 9, 0)  # 01:00 in San Francisco


def export(tmp_path, name, phones, opt_in=""):
    return write_csv(
        tmp_path,
        name,
        ["Mobile,First Name,Accepts SMS Marketing"] + [f"{p},N{i},{opt_in}" for i, p in enumerate(phones)],
    )


def requests_to(session, phone):
    session.expire_all()
    return session.exec(
        select(Message).where(Message.phone == phone, Message.kind == MessageKind.opt_in_request).order_by(Message.id)
    ).all()


def source(session, name="Dutchie"):
    return pos.create_source(session, name=name, now=NOW - 30 * DAY)


# --- sources -------------------------------------------------------------------------------------------------------


def test_sources_are_created_listed_renamed_and_deleted(session, tmp_path):
    a = source(session, "Dutchie")
    b = source(session, "square")
    with pytest.raises(pos.PosError, match="already a POS source named DUTCHIE"):
        pos.create_source(session, name="DUTCHIE")
    with pytest.raises(pos.PosError, match="Give the POS source a name"):
        pos.create_source(session, name="   ")
    pos.rename_source(session, source_id=b.id, name="Square POS")
    pos.sync(session, source_id=a.id, file=export(tmp_path, "d.csv", ["415-555-0101", "415-555-0102"]), now=NOW)
    listed = pos.list_sources(session)
    assert [(s.name, s.contacts) for s in listed] == [("Dutchie", 2), ("Square POS", 0)]
    pos.delete_source(session, source_id=a.id)
    assert [s.name for s in pos.list_sources(session)] == ["Square POS"]
    assert counts(session)["customers"] == 2 and counts(session)["pos_contacts"] == 0
    with pytest.raises(pos.SourceNotFound):
        pos.get_source(session, a.id)


# --- what a sync does ----------------------------------------------------------------------------------------------


def test_pos_data_never_opts_anyone_in(session, tmp_path):
    src = source(session)
    report = pos.sync(session, source_id=src.id, file=export(tmp_path, "d.csv", ["415-555-0101"], "yes"), now=NOW)
    assert status_of(session, "+14155550101") == "not_opted_in"
    assert report.not_attested == 1 and report.origin == "pos_sync"
    c = session.exec(select(Customer)).one()
    assert (c.source, c.source_detail) == ("pos_sync", "Dutchie")


def test_pos_data_never_lifts_an_opt_out_but_records_one(session, tmp_path):
    make_customer(session, status=SmsStatus.opted_out, phone_number="+14155550101")
    make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550102")
    src = source(session)
    path = write_csv(tmp_path, "d.csv", ["Mobile,SMS Status", "415-555-0101,subscribed", "415-555-0102,unsubscribed"])
    pos.sync(session, source_id=src.id, file=path, now=NOW)
    assert status_of(session, "+14155550101") == "opted_out"
    assert status_of(session, "+14155550102") == "opted_out"
    event = session.exec(
        select(ConsentEvent).where(ConsentEvent.phone == "+14155550102").order_by(ConsentEvent.id.desc())
    ).first()
    assert event.channel.value == "pos_sync"
    assert event.evidence == {"file": "d.csv", "row": 3, "attested": False, "pos_source": "Dutchie"}
    assert event.customer_source == "dashboard"


def test_each_contact_is_remembered_with_its_first_sync_time(session, tmp_path):
    src = source(session)
    path = export(tmp_path, "d.csv", ["415-555-0101", "415-555-0102"])
    pos.sync(session, source_id=src.id, file=path, now=NOW - 5 * DAY)
    pos.sync(session, source_id=src.id, file=export(tmp_path, "e.csv", ["415-555-0102", "415-555-0103"]), now=NOW)
    synced = {
        session.get(Customer, pc.customer_id).phone: pc.synced_at for pc in session.exec(select(PosContact)).all()
    }
    assert synced == {"+14155550101": NOW - 5 * DAY, "+14155550102": NOW - 5 * DAY, "+14155550103": NOW}
    src = pos.get_source(session, src.id)
    assert src.last_sync_at == NOW and src.last_counts["created"] == 1 and src.last_counts["file"] == "e.csv"


def test_no_request_goes_out_while_the_setting_is_off(session, tmp_path):
    src = source(session)
    report = pos.sync(session, source_id=src.id, file=export(tmp_path, "d.csv", ["415-555-0101"]), now=NOW)
    assert report.requests_sent == 0 and counts(session)["messages"] == 0


def test_contacts_synced_after_the_date_get_one_request(session, tmp_path):
    make_customer(session, status=SmsStatus.opted_in, phone_number="+14155550103")
    make_customer(session, status=SmsStatus.pending, phone_number="+14155550104", now=NOW - 3 * DAY)
    make_customer(session, status=SmsStatus.opted_out, phone_number="+14155550105")
    src = source(session)
    pos.set_request_after(session, src.id, (NOW - 2 * DAY).date(), now=NOW - 2 * DAY)
    path = export(
        tmp_path,
        "d.csv",
        ["415-555-0101", "(415) 555-0102", "415-555-0103", "415-555-0104", "415-555-0105", "not a phone"],
    )
    report = pos.sync(session, source_id=src.id, file=path, now=NOW)
    assert (report.requests_sent, report.requests_queued, report.requests_blocked) == (3, 0, 0)
    assert len(report.invalid) == 1
    assert status_of(session, "+14155550101") == "pending"
    assert status_of(session, "+14155550104") == "pending"
    assert requests_to(session, "+14155550103") == [] and requests_to(session, "+14155550105") == []
    msg = requests_to(session, "+14155550101")[0]
    assert msg.bulk and msg.status is MessageStatus.sent and msg.dedupe_key.startswith(f"pos:{src.id}:r1:")
    event = session.exec(select(ConsentEvent).where(ConsentEvent.phone == "+14155550101")).one()
    assert (event.old_status, event.new_status) == (SmsStatus.not_opted_in, SmsStatus.pending)
    assert event.evidence["pos_source"] == "Dutchie" and event.customer_source == "pos_sync:Dutchie"


def test_running_the_same_sync_again_sends_nothing_new(session, tmp_path):
    src = source(session)
    pos.set_request_after(session, src.id, (NOW - 2 * DAY).date(), now=NOW - 2 * DAY)
    path = export(tmp_path, "d.csv", ["415-555-0101", "415-555-0102"])
    pos.sync(session, source_id=src.id, file=path, now=NOW)
    before = snapshot(session)
    again = pos.sync(session, source_id=src.id, file=path, now=NOW + 3 * DAY)
    assert (again.requests_sent, again.requests_queued, again.requests_already) == (0, 0, 2)
    assert snapshot(session) == before


def test_contacts_first_synced_before_the_date_are_not_asked(session, tmp_path):
    src = source(session)
    pos.sync(session, source_id=src.id, file=export(tmp_path, "old.csv", ["415-555-0101"]), now=NOW - 10 * DAY)
    result = pos.set_request_after(session, src.id, (NOW - 2 * DAY).date(), now=NOW - 2 * DAY)
    assert result.evaluated == 0
    report = pos.sync(
        session, source_id=src.id, file=export(tmp_path, "new.csv", ["415-555-0101", "415-555-0102"]), now=NOW
    )
    assert report.requests_sent == 1
    assert requests_to(session, "+14155550101") == [] and len(requests_to(session, "+14155550102")) == 1


def test_going_back_in_time_asks_the_contacts_synced_since_the_new_date(session, tmp_path):
    src = source(session)
    pos.sync(session, source_id=src.id, file=export(tmp_path, "old.csv", ["415-555-0101"]), now=NOW - 10 * DAY)
    pos.set_request_after(session, src.id, (NOW - 2 * DAY).date(), now=NOW - 2 * DAY)
    pos.sync(session, source_id=src.id, file=export(tmp_path, "new.csv", ["415-555-0102"]), now=NOW - DAY)
    assert len(requests_to(session, "+14155550102")) == 1

    result = pos.set_request_after(session, src.id, (NOW - 20 * DAY).date(), now=NOW)
    assert result.new_round and result.evaluated == 2
    assert (result.sent, result.blocked) == (2, 0)  # the new contact of 10 days ago, and a second ask
    assert len(requests_to(session, "+14155550101")) == 1
    assert len(requests_to(session, "+14155550102")) == 2

    # the same setting again, or a re-run of the sync: nothing new
    again = pos.set_request_after(session, src.id, (NOW - 20 * DAY).date(), now=NOW + DAY)
    assert (again.sent, again.queued, again.already, again.new_round) == (0, 0, 2, False)
    report = pos.sync(session, source_id=src.id, file=export(tmp_path, "new.csv", ["415-555-0102"]), now=NOW + DAY)
    assert report.requests_sent == 0


def test_going_back_in_time_again_respects_the_request_limits(session, tmp_path):
    src = source(session)
    pos.set_request_after(session, src.id, (NOW - 5 * DAY).date(), now=NOW - 5 * DAY)
    pos.sync(session, source_id=src.id, file=export(tmp_path, "d.csv", ["415-555-0101"]), now=NOW - 4 * DAY)
    r2 = pos.set_request_after(session, src.id, (NOW - 6 * DAY).date(), now=NOW - 3 * DAY)
    r3 = pos.set_request_after(session, src.id, (NOW - 7 * DAY).date(), now=NOW - 2 * DAY)
    r4 = pos.set_request_after(session, src.id, (NOW - 8 * DAY).date(), now=NOW - 2 * DAY + dt.timedelta(hours=1))
    assert (r2.sent, r3.sent, r3.blocked) == (1, 0, 1)
    assert list(r3.reasons) == ["Request limit reached: 2 opt-in requests already sent to this phone"]
    assert r4.blocked == 1
    c = session.exec(select(Customer)).one()
    assert c.opt_in_requests == 2


def test_a_second_ask_within_24_hours_is_refused(session, tmp_path):
    src = source(session)
    pos.set_request_after(session, src.id, (NOW - 5 * DAY).date(), now=NOW - 5 * DAY)
    pos.sync(session, source_id=src.id, file=export(tmp_path, "d.csv", ["415-555-0101"]), now=NOW)
    result = pos.set_request_after(session, src.id, (NOW - 9 * DAY).date(), now=NOW + dt.timedelta(hours=3))
    assert result.blocked == 1
    assert list(result.reasons) == ["An opt-in request went to this phone less than 24 hours ago"]


def test_moving_the_date_forward_asks_nobody_again(session, tmp_path):
    src = source(session)
    pos.set_request_after(session, src.id, (NOW - 9 * DAY).date(), now=NOW - 9 * DAY)
    pos.sync(session, source_id=src.id, file=export(tmp_path, "d.csv", ["415-555-0101"]), now=NOW - 4 * DAY)
    result = pos.set_request_after(session, src.id, (NOW - 5 * DAY).date(), now=NOW)
    assert not result.new_round and (result.sent, result.already) == (0, 1)


def test_turning_the_setting_off_stops_requests(session, tmp_path):
    src = source(session)
    pos.set_request_after(session, src.id, (NOW - 9 * DAY).date(), now=NOW - 9 * DAY)
    pos.set_request_after(session, src.id, None, now=NOW - 8 * DAY)
    report = pos.sync(session, source_id=src.id, file=export(tmp_path, "d.csv", ["415-555-0101"]), now=NOW)
    assert report.requests_sent == 0
    log = pos.get_source(session, src.id).request_after_log
    assert [e["date"] for e in log] == [(NOW - 9 * DAY).date().isoformat(), None]


def test_requests_of_a_sync_at_night_wait_for_the_sending_window(session, tmp_path):
    src = source(session)
    pos.set_request_after(session, src.id, (NIGHT - 2 * DAY).date(), now=NIGHT - 2 * DAY)
    report = pos.sync(session, source_id=src.id, file=export(tmp_path, "d.csv", ["415-555-0101"]), now=NIGHT)
    assert report.requests_queued == 1
    msg = requests_to(session, "+14155550101")[0]
    assert msg.status is MessageStatus.queued and msg.send_at == dt.datetime(2026, 12, 1, 16, 0)  # 08:00 PST


def test_the_date_starts_at_midnight_in_the_shops_time_zone(session):
    assert pos.cutoff(session, dt.date(2026, 11, 30)) == dt.datetime(2026, 11, 30, 8, 0)  # America/Los_Angeles
    assert pos.cutoff(session, None) is None


def test_a_sync_of_a_bad_file_writes_nothing(session, tmp_path):
    src = source(session)
    path = tmp_path / "export.csv"
    path.write_bytes(b"")
    with pytest.raises(EmptyFile):
        pos.sync(session, source_id=src.id, file=path, now=NOW)
    session.rollback()
    assert pos.get_source(session, src.id).last_sync_at is None
    assert counts(session)["customers"] == 0 and counts(session)["runs"] == 0


# --- the set-wise requests decide exactly as outbox.send does ---------------------------------------------------------


def _shop(session):
    """Customers in every state a request can meet: limits, the 24-hour gap, statuses, a UK number."""
    specs = [
        ("+14155550201", SmsStatus.not_opted_in, 0, None),
        ("+14155550202", SmsStatus.pending, 1, NOW - 3 * DAY),
        ("+14155550203", SmsStatus.pending, 2, NOW - 3 * DAY),
        ("+14155550204", SmsStatus.pending, 1, NOW - dt.timedelta(hours=5)),
        ("+14155550205", SmsStatus.opted_in, 0, None),
        ("+14155550206", SmsStatus.opted_out, 1, NOW - 9 * DAY),
        ("+442079460958", SmsStatus.not_opted_in, 0, None),
    ]
    out = []
    for phone, status, n, last in specs:
        c = make_customer(
            session, status=status, phone_number=phone, first_name="Zoë" if n else "Ann", now=NOW - 10 * DAY
        )
        c.opt_in_requests, c.last_request_at = n, last
        session.add(c)
        session.commit()
        out.append(c)
    return out


@pytest.mark.parametrize("when", [NOW, NIGHT])
def test_bulk_requests_decide_exactly_as_outbox_send(session, when):
    shop = _shop(session)
    target = context.PosTarget(source_id=1, name="Dutchie", cutoff=None, round=1)
    from core.db import run_write
    from tests.import_reference import customers as ref_customers

    wanted = [
        (
            c.phone,
            context.Wanted(
                c.id,
                c.sms_status.value,
                c.opt_in_requests,
                c.last_request_at,
                c.first_name,
                None,
                ref_customers.source_key(c.source, c.source_detail),
                c.queued_requests,
            ),
        )
        for c in shop
        if c.sms_status in (SmsStatus.not_opted_in, SmsStatus.pending)
    ]
    versions = {c.id: c.version for c in shop}

    def work():
        ctx = context.ImportContext(
            session=session,
            opened=None,
            columns=None,
            attested=False,
            origin="pos_sync",
            now=when,
            write=True,
            send_requests=False,
            pos=target,
            report=None,
        )
        ctx.sql = sql.Sql(session)
        ctx.sql.versions.update(versions)  # as _existing reads them
        return bulk_requests(ctx, wanted)

    run_write(session, work)
    bulk = snapshot(session)

    other = make_engine("sqlite://")
    init_db(other)
    with Session(other) as s:
        for c in _shop(s):
            if c.sms_status in (SmsStatus.not_opted_in, SmsStatus.pending):
                was = c.sms_status
                key = context.request_key("pos_sync", "", c.phone, target)
                msg = outbox.send(s, customer=c, kind=MessageKind.opt_in_request, now=when, bulk=True, dedupe_key=key)
                if msg.status is not MessageStatus.blocked and was is SmsStatus.not_opted_in:
                    ref_customers.set_status(
                        s,
                        c,
                        SmsStatus.pending,
                        channel="pos_sync",
                        now=when,
                        dedupe_key=key + ":pending",
                        evidence={"pos_source": "Dutchie", "action": "sent an opt-in request"},
                    )
                s.commit()
        assert snapshot(s) == bulk
    other.dispose()


def test_the_date_settings_requests_follow_the_state_of_the_customers_zip_code(session, tmp_path):
    # merged from main (§9): the POS query reads the customer's zip; Houston's Sunday rule holds the request
    from core.messaging import texting

    texting.update_defaults(session, window_start=dt.time(7), window_end=dt.time(22))
    sunday_10_in_houston = dt.datetime(2026, 12, 6, 16, 0)
    src = source(session)
    pos.sync(
        session, source_id=src.id, file=export(tmp_path, "d.csv", ["415-555-0125"]), now=sunday_10_in_houston - DAY
    )
    customer = session.exec(select(Customer).where(Customer.phone == "+14155550125")).one()
    customer.zip = "77001"
    session.add(customer)
    session.commit()
    done = pos.set_request_after(session, src.id, (sunday_10_in_houston - 3 * DAY).date(), now=sunday_10_in_houston)
    assert (done.sent, done.queued) == (0, 1)
    [msg] = requests_to(session, "+14155550125")
    assert (msg.status, msg.reason) == (MessageStatus.queued, "Texas: not before 12:00 on Sundays")
