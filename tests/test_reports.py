"""Reports and the Member Club report, against a shop whose history is written out by hand.

History (UTC; the shop's calendar is America/Los_Angeles, so 18:00 UTC is 10:00 the same day):

| who              | created     | history                                                                        |
|------------------|-------------|--------------------------------------------------------------------------------|
| Eve (CSV import) | 10-01 18:00 | request 10-02 18:00 → pending; opted in 10-02 18:30                             |
| Ann (sign-up)    | 11-01 18:00 | request 11-05 18:00 → pending; opted in 11-05 20:00 (waited 2 h)                 |
| Ben (POS Dutchie)| 11-01 18:00 | request 11-10 18:00 → pending; opted in 11-11 18:00 (24 h); opted out 11-20 18:00 |
| Cat (Text To Join)| 11-01 18:00 | request 11-12 18:00 → pending; request again 11-14 18:00; still pending        |
| Dan (POS Treez)  | 11-15 18:00 | request 11-20 04:00 → pending; opted in 11-21 05:00 (25 h) = 20 Nov, 21:00 local |
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from core.consent import customers
from core.messaging import outbox
from core.reports import charts, figures, member_club, period
from core.models import Channel, FormSubmission, FormView, Message, MessageKind, SignupForm, SmsStatus, Source
from sqlmodel import select
from tests.factories import make_customer

NOW = dt.datetime(2026, 11, 30, 19, 0)  # 11:00 in Los Angeles: inside the sending window
NIGHT = dt.datetime(2026, 12, 1, 6, 0)  # 22:00 in Los Angeles: quiet hours


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat("2026-" + text)


def request(session, c, when):
    customers.request_opt_in(session, customer_id=c.id, now=when)


def confirm(session, c, when):
    customers.set_status(
        session, c, SmsStatus.opted_in, channel=Channel.sms_reply, evidence={"inbound_text": "YES"}, now=when
    )
    session.commit()


def stop(session, c, when):
    customers.set_status(
        session, c, SmsStatus.opted_out, channel=Channel.sms_reply, evidence={"inbound_text": "STOP"}, now=when
    )
    session.commit()


@pytest.fixture
def shop(session):
    new = lambda name, source, detail, when: make_customer(  # noqa: E731
        session, first_name=name, last_name="Test", source=source, source_detail=detail, now=when
    )
    eve = new("Eve", Source.csv_import, "old.csv", t("10-01 18:00"))
    ann = new("Ann", Source.signup_form, "main", t("11-01 18:00"))
    ben = new("Ben", Source.pos_sync, "Dutchie", t("11-01 18:00"))
    cat = new("Cat", Source.text_to_join, "", t("11-01 18:00"))
    dan = new("Dan", Source.pos_sync, "Treez", t("11-15 18:00"))
    request(session, eve, t("10-02 18:00"))
    confirm(session, eve, t("10-02 18:30"))
    request(session, ann, t("11-05 18:00"))
    confirm(session, ann, t("11-05 20:00"))
    request(session, ben, t("11-10 18:00"))
    confirm(session, ben, t("11-11 18:00"))
    stop(session, ben, t("11-20 18:00"))
    request(session, cat, t("11-12 18:00"))
    request(session, cat, t("11-14 18:00"))
    request(
        session, dan, t("11-20 03:59")
    )  # 19:59 in Los Angeles: a request the shop starts goes only in the window (§9)
    confirm(session, dan, t("11-21 05:00"))
    return {c.first_name: c for c in (eve, ann, ben, cat, dan)}


NOVEMBER = ("2026-11-01", "2026-11-30")


# --- headline figures ---------------------------------------------------------------------------


def test_headline_figures_for_november(session, shop):
    h = figures.headline(session, *NOVEMBER, now=NOW)
    assert h.counts == {SmsStatus.opted_in: 3, SmsStatus.pending: 1, SmsStatus.opted_out: 1, SmsStatus.not_opted_in: 0}
    assert h.total == 5 and h.opt_in_rate == pytest.approx(3 / 5)
    # on 1 November only Eve existed, opted in
    assert h.change == {SmsStatus.opted_in: 2, SmsStatus.pending: 1, SmsStatus.opted_out: 1, SmsStatus.not_opted_in: 0}
    assert (h.requests_sent, h.customers_asked) == (5, 4)  # Cat was asked twice
    assert h.confirmed == 3 and h.confirmation_rate == pytest.approx(3 / 4)
    assert h.median_time_to_confirm == dt.timedelta(hours=24)  # of 2 h, 24 h, 25 h


def test_status_counts_at_a_past_instant_rewind_the_ledger(session, shop):
    counts = figures.status_counts_at(session, t("11-11 00:00"), now=NOW)
    # Ann opted in, Ben pending, Cat not yet asked, Dan not yet a customer, Eve opted in
    assert counts == {SmsStatus.opted_in: 2, SmsStatus.pending: 1, SmsStatus.opted_out: 0, SmsStatus.not_opted_in: 1}
    assert figures.status_counts_at(session, t("01-01 00:00"), now=NOW) == {s: 0 for s in SmsStatus}
    assert figures.status_counts_at(session, None, now=NOW) == figures.status_counts_at(session, NOW, now=NOW)


def test_headline_for_a_range_in_the_past_reports_the_status_at_its_end(session, shop):
    h = figures.headline(session, "2026-10-01", "2026-10-31", now=NOW)
    assert h.counts[SmsStatus.opted_in] == 1 and h.total == 1
    assert (h.requests_sent, h.confirmed) == (1, 1)
    assert h.median_time_to_confirm == dt.timedelta(minutes=30)


def test_a_quiet_range_has_no_rates_instead_of_dividing_by_zero(session):
    h = figures.headline(session, "2026-11-01", "2026-11-30", now=NOW)
    assert h.total == 0 and h.opt_in_rate is None and h.confirmation_rate is None
    assert h.median_time_to_confirm is None


@pytest.mark.parametrize(
    "start,end,words",
    [
        ("2026-11-30", "2026-11-01", "ends (01 Nov 2026) before it starts (30 Nov 2026)"),
        ("yesterday", "2026-11-01", "not a date"),
        ("2020-01-01", "2026-11-30", "at most"),
    ],
)
def test_a_bad_date_range_is_a_named_error(session, start, end, words):
    with pytest.raises(period.InvalidDateRange, match=words.replace("(", r"\(").replace(")", r"\)")):
        figures.headline(session, start, end, now=NOW)


def test_durations_read_as_words():
    assert figures.duration_text(dt.timedelta(hours=3, minutes=12)) == "3 h 12 min"
    assert figures.duration_text(dt.timedelta(days=2, hours=4)) == "2 days 4 h"
    assert figures.duration_text(dt.timedelta(days=1)) == "1 day"
    assert figures.duration_text(dt.timedelta(seconds=45)) == "45 s"
    assert figures.duration_text(None) == "–"


# --- charts --------------------------------------------------------------------------------------


def test_opt_ins_and_opt_outs_per_day_on_the_shops_calendar(session, shop):
    p = period.shop_period(session, *NOVEMBER)
    days = charts.opt_ins_and_outs(session, p, by="day")
    assert len(days) == 30
    busy = {r["day"].isoformat(): (r["opt_ins"], r["opt_outs"]) for r in days if r["opt_ins"] or r["opt_outs"]}
    # Dan's 05:00 UTC opt-in on the 21st is 21:00 on the 20th in Los Angeles
    assert busy == {"2026-11-05": (1, 0), "2026-11-11": (1, 0), "2026-11-20": (1, 1)}


def test_opt_ins_and_opt_outs_per_week_start_on_mondays(session, shop):
    p = period.shop_period(session, *NOVEMBER)
    weeks = charts.opt_ins_and_outs(session, p, by="week")
    assert [(r["week"].isoformat(), r["opt_ins"], r["opt_outs"]) for r in weeks] == [
        ("2026-10-26", 0, 0),
        ("2026-11-02", 1, 0),
        ("2026-11-09", 1, 0),
        ("2026-11-16", 1, 1),
        ("2026-11-23", 0, 0),
        ("2026-11-30", 0, 0),
    ]
    with pytest.raises(period.ReportError):
        charts.opt_ins_and_outs(session, p, by="month")


def test_opt_ins_and_opt_outs_by_source_name_each_pos_source(session, shop):
    p = period.shop_period(session, *NOVEMBER)
    assert charts.by_source(session, p) == [
        {"source": "POS sync · Dutchie", "opt_ins": 1, "opt_outs": 1},
        {"source": "POS sync · Treez", "opt_ins": 1, "opt_outs": 0},
        {"source": "Sign-up form", "opt_ins": 1, "opt_outs": 0},  # forms together; POS sources by name
    ]


def test_the_double_opt_in_funnel_follows_the_customers_asked_in_the_range(session, shop):
    p = period.shop_period(session, *NOVEMBER)
    assert [(r["stage"], r["customers"]) for r in charts.funnel(session, p)] == [
        ("Requested", 4),
        ("Confirmed", 3),
        ("Later opted out", 1),
    ]
    october = period.shop_period(session, "2026-10-01", "2026-10-31")
    assert [r["customers"] for r in charts.funnel(session, october)] == [1, 1, 0]
    empty = period.shop_period(session, "2026-01-01", "2026-01-31")
    assert [(r["customers"], r["share"]) for r in charts.funnel(session, empty)] == [(0, None)] * 3


def test_form_views_and_submissions_per_day(session):
    form = SignupForm(name="Counter", slug="counter", disclosure="x")
    other = SignupForm(name="Event", slug="event", disclosure="x")
    session.add_all([form, other])
    session.commit()
    session.add_all(
        [
            FormView(form_id=form.id, day=dt.date(2026, 11, 3), views=10),
            FormView(form_id=form.id, day=dt.date(2026, 11, 4), views=5),
            FormView(form_id=other.id, day=dt.date(2026, 11, 3), views=7),
            FormSubmission(form_id=form.id, outcome="pending", submitted_at=t("11-03 18:00")),
            FormSubmission(form_id=form.id, outcome="pending", submitted_at=t("11-03 19:00")),
            FormSubmission(form_id=form.id, outcome="pending", submitted_at=t("11-04 07:30")),  # 23:30 on the 3rd
            FormSubmission(form_id=other.id, outcome="pending", submitted_at=t("11-04 18:00")),
        ]
    )
    session.commit()
    p = period.shop_period(session, "2026-11-02", "2026-11-05")
    rows = charts.form_activity(session, p)
    assert [(r["day"].day, r["views"], r["submissions"]) for r in rows] == [(2, 0, 0), (3, 17, 3), (4, 5, 1), (5, 0, 0)]
    only = charts.form_activity(session, p, form_id=form.id)
    assert [(r["day"].day, r["views"], r["submissions"]) for r in only] == [(2, 0, 0), (3, 10, 3), (4, 5, 0), (5, 0, 0)]
    assert "Counter" in [n for _, n in charts.form_choices(session)]


def test_queued_messages_say_when_each_will_go(session):
    c = make_customer(session, first_name="Nia", last_name="Night")
    outbox.send(session, customer=c, kind=MessageKind.opt_in_request, now=NIGHT, bulk=True)
    session.commit()
    total, rows = figures.queued_messages(session)
    assert total == 1
    assert rows == [
        {
            "Customer": "Nia Night",
            "Phone": rows[0]["Phone"],
            "Message": "Opt-in request",
            "Queued at": "30 Nov 2026, 10:00 PM PST",
            "Goes out at": "1 Dec 2026, 8:00 AM PST",
        }
    ]


# --- the Member Club report ------------------------------------------------------------------------


@pytest.fixture
def club(session):
    """Four customers waiting for a Y/YES, asked on different days."""
    people = {}
    for name, asked in (
        ("Old", "11-01 18:00"),
        ("Mid", "11-10 18:00"),
        ("New", "11-30 16:00"),
        ("Twice", "11-05 18:00"),
    ):
        c = make_customer(
            session,
            first_name=name,
            last_name="Waiting",
            source=Source.pos_sync,
            source_detail="Dutchie",
            now=t("10-01 18:00"),
        )
        request(session, c, t(asked))
        people[name] = c
    request(session, people["Twice"], t("11-07 18:00"))  # the second of the two allowed
    make_customer(session, first_name="Done", status=SmsStatus.opted_in)
    return people


def test_the_member_club_report_lists_pending_requests_longest_waiting_first(session, club):
    page = member_club.pending_requests(session, now=NOW)
    assert page.total == 4 and page.next_cursor is None
    assert [(r["name"], r["requests_sent"], r["days_waiting"]) for r in page.rows] == [
        ("Old Waiting", 1, 29),
        ("Twice Waiting", 2, 25),
        ("Mid Waiting", 1, 20),
        ("New Waiting", 1, 0),
    ]
    first = page.rows[0]
    assert first["source"] == "POS sync · Dutchie"
    assert first["requested_at"] == t("11-01 18:00")
    assert first["requested_at_local"] == "1 Nov 2026, 10:00 AM PST"  # DST ended that night: PST, not PDT
    assert first["phone_display"].startswith("(415)")


def test_the_member_club_report_pages_with_a_keyset_cursor(session, club):
    seen = []
    after = None
    while True:
        page = member_club.pending_requests(session, after=after, limit=3, now=NOW)
        seen += [r["name"] for r in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == ["Old Waiting", "Twice Waiting", "Mid Waiting", "New Waiting"]


def test_the_member_club_report_exports_safely(session, club):
    make_customer(session, first_name="=EVIL()", last_name="", status=SmsStatus.pending, now=t("11-29 20:00"))
    data = b"".join(member_club.pending_export(session, now=NOW, batch=2))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(member_club.MEMBER_CLUB_HEADER)
    assert [r[0] for r in rows[1:]] == ["Old Waiting", "Twice Waiting", "Mid Waiting", "'=EVIL()", "New Waiting"]
    assert rows[1][1] == f"tel:{club['Old'].phone}"
    assert rows[1][2:6] == ["2026-11-01 18:00:00", "1", "2026-11-01 18:00:00", "29"]


def test_resend_goes_through_the_outbox_and_says_what_happened(session, club):
    done = session.exec(select(customers.Customer).where(customers.Customer.first_name == "Done")).one()
    ids = [club["Old"].id, club["Twice"].id, club["New"].id, done.id, 987654, club["Old"].id]
    summary = member_club.resend(session, ids, now=NOW)
    assert (summary.sent, summary.queued, summary.blocked) == (1, 0, 4)
    assert summary.reasons == {
        "Request limit reached: 2 opt-in requests already sent to this phone": 1,
        "An opt-in request went to this phone less than 24 hours ago": 1,
        "Already opted in: no opt-in request needed": 1,
        member_club.NO_LONGER_A_CUSTOMER: 1,
    }
    session.refresh(club["Old"])
    assert club["Old"].opt_in_requests == 2 and club["Old"].last_request_at == NOW
    sent = session.exec(select(Message).where(Message.customer_id == club["Old"].id, Message.created_at == NOW)).one()
    assert sent.bulk and sent.kind is MessageKind.opt_in_request
    lines = member_club.summary_sentences(summary)
    assert lines[0] == "1 sent now." and lines[1] == "4 refused:"
    assert any("Request limit reached" in line for line in lines)


def test_resend_in_quiet_hours_queues_the_request(session, club):
    summary = member_club.resend(session, [club["Mid"].id], now=NIGHT)
    assert (summary.sent, summary.queued, summary.blocked) == (0, 1, 0)
    assert "queued" in member_club.summary_sentences(summary)[1]
    total, rows = figures.queued_messages(session)
    assert total == 1 and rows[0]["Customer"] == "Mid Waiting"


def test_resending_to_nobody_does_nothing(session, club):
    summary = member_club.resend(session, [], now=NOW)
    assert (summary.sent, summary.queued, summary.blocked) == (0, 0, 0)


def test_confirming_records_how_long_the_customer_waited(session):
    c = make_customer(session, status=SmsStatus.not_opted_in)
    request(session, c, t("11-01 18:00"))
    confirm(session, c, t("11-03 06:00"))
    event = customers.ledger(session, c.id)[0]
    assert event.pending_seconds == 36 * 3600
    assert customers.ledger(session, c.id)[1].pending_seconds is None


def test_the_median_time_to_confirm_reads_the_ledger_when_an_event_lacks_its_wait(session):
    """A history loaded in bulk (the demo shop) has no pending_seconds: the wait comes from the ledger."""
    from sqlalchemy import insert

    from core.models import ConsentEvent

    c = make_customer(session)
    session.execute(
        insert(ConsentEvent),
        [
            {
                "customer_id": c.id,
                "phone": c.phone,
                "old_status": SmsStatus.not_opted_in,
                "new_status": SmsStatus.pending,
                "occurred_at": t("11-02 18:00"),
                "channel": Channel.signup_form,
                "evidence": {"form": "main"},
            },
            {
                "customer_id": c.id,
                "phone": c.phone,
                "old_status": SmsStatus.pending,
                "new_status": SmsStatus.opted_in,
                "occurred_at": t("11-02 21:30"),
                "channel": Channel.sms_reply,
                "evidence": {"inbound_text": "Y"},
            },
        ],
    )
    session.commit()
    confirmed, median = figures.confirmations(session, period.shop_period(session, *NOVEMBER))
    assert (confirmed, median) == (1, dt.timedelta(hours=3, minutes=30))


def test_events_recorded_by_set_status_carry_the_customers_source(session, shop):
    sources = {e.customer_source for e in customers.ledger(session, shop["Ben"].id)}
    assert sources == {"pos_sync:Dutchie"}
    assert {e.customer_source for e in customers.ledger(session, shop["Ann"].id)} == {"signup_form"}


def test_a_history_loaded_in_bulk_still_counts_by_source_and_rewinds(session):
    """Events inserted without set_status (the demo shop): no customer_source, no old status."""
    from sqlalchemy import insert

    from core.models import ConsentEvent

    c = make_customer(session, source=Source.pos_sync, source_detail="Treez", now=t("11-01 18:00"))
    c.sms_status = SmsStatus.opted_in
    session.add(c)
    session.execute(
        insert(ConsentEvent),
        [
            {
                "customer_id": c.id,
                "phone": c.phone,
                "old_status": None,
                "new_status": SmsStatus.opted_in,
                "occurred_at": t("11-02 18:00"),
                "channel": Channel.pos_sync,
                "evidence": {"pos_source": "Treez"},
            },
        ],
    )
    session.commit()
    p = period.shop_period(session, *NOVEMBER)
    assert charts.by_source(session, p) == [{"source": "POS sync · Treez", "opt_ins": 1, "opt_outs": 0}]
    assert figures.status_counts_at(session, t("11-02 00:00"), now=NOW)[SmsStatus.not_opted_in] == 1
    assert figures.status_counts_at(session, t("11-03 00:00"), now=NOW)[SmsStatus.opted_in] == 1
