"""Rulebook §9 (issue 14): sending windows and caps by the recipient's state, as data, table-tested
state × weekday × hour; the shop's quiet hours only narrow them; the cap's 3/4 boundary; DST days;
bad input (unknown zip, toll-free and Canadian numbers) falls back to the federal rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.messaging import outbox, texting, windows
from core.models import Message, MessageKind, MessageStatus
from tests.factories import make_customer

T = dt.time
TX = "+17135550123"  # Houston: Texas, America/Chicago
FL = "+13055550123"  # Miami: Florida, America/New_York
OK = "+14055550123"  # Oklahoma City: Oklahoma, America/Chicago
MD = "+14105550123"  # Baltimore: Maryland, America/New_York
CT = "+12035550123"  # New Haven: Connecticut, America/New_York
CA = "+14155550123"  # San Francisco: California (no state row), America/Los_Angeles
TOLL_FREE = "+18005550123"
CANADA = "+14165550123"  # Toronto

ZONES = {
    TX: "America/Chicago",
    OK: "America/Chicago",
    FL: "America/New_York",
    MD: "America/New_York",
    CT: "America/New_York",
    CA: "America/Los_Angeles",
    CANADA: "America/Toronto",
}


def at(local: dt.datetime, zone: str) -> dt.datetime:
    """Naive UTC for a local wall time."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc).replace(tzinfo=None)


def held(phone: str, local: dt.datetime, *, shop=(T(7), T(22)), zip_code: str = "", recent=()) -> windows.Hold:
    where = outbox.place_of(phone, zip_code)
    return windows.hold(
        where=where,
        now=at(local, ZONES.get(phone, "America/Los_Angeles")),
        shop_start=shop[0],
        shop_end=shop[1],
        shop_zone="America/Los_Angeles",
        recent=recent,
    )


# 2026-11-29 is a Sunday, 2026-11-28 a Saturday, 2026-11-30 a Monday (all standard time)
SUN, SAT, MON = dt.date(2026, 11, 29), dt.date(2026, 11, 28), dt.date(2026, 11, 30)

# (phone, local day, local time, the reason a text waits; "" = it goes at once). The shop allows 07:00–22:00.
TABLE = [
    (TX, SUN, T(11, 59), "Texas: not before 12:00 on Sundays"),
    (TX, SUN, T(12, 0), ""),
    (TX, SUN, T(20, 59), ""),
    (TX, SUN, T(21, 0), "Texas: not after 21:00 on Sundays"),
    (TX, SAT, T(8, 59), "Texas: not before 09:00 Monday to Saturday"),
    (TX, SAT, T(9, 0), ""),
    (TX, MON, T(9, 0), ""),
    (TX, MON, T(21, 0), "Texas: not after 21:00 Monday to Saturday"),
    (FL, MON, T(7, 59), "Florida: not before 08:00"),
    (FL, SUN, T(8, 0), ""),
    (FL, SAT, T(19, 59), ""),
    (FL, MON, T(20, 0), "Florida: not after 20:00"),
    (OK, SUN, T(20, 0), "Oklahoma: not after 20:00"),
    (OK, MON, T(8, 0), ""),
    (MD, SAT, T(20, 30), "Maryland: not after 20:00"),
    (MD, MON, T(8, 0), ""),
    (CT, MON, T(8, 30), "Connecticut: not before 09:00"),
    (CT, SUN, T(9, 0), ""),
    (CT, SAT, T(20, 0), "Connecticut: not after 20:00"),
    (CA, SUN, T(7, 30), "Federal rule (TCPA): not before 08:00"),
    (CA, SUN, T(8, 0), ""),
    (CA, MON, T(20, 30), ""),  # the federal window runs to 21:00: California has no row
    (CA, SAT, T(21, 0), "Federal rule (TCPA): not after 21:00"),
    (CANADA, MON, T(20, 30), ""),  # a Canadian number: the federal default, in its own zone
    (CANADA, MON, T(21, 15), "Federal rule (TCPA): not after 21:00"),
]


@pytest.mark.parametrize("phone,day,time,reason", TABLE, ids=[f"{p[-10:-7]}-{d:%a}-{t:%H%M}" for p, d, t, _r in TABLE])
def test_each_state_window_by_weekday_and_hour(phone, day, time, reason):
    h = held(phone, dt.datetime.combine(day, time))
    assert h.reason == reason
    assert (h.until is None) == (reason == "")


def test_a_held_text_waits_until_the_states_window_opens_in_the_recipients_time():
    h = held(TX, dt.datetime.combine(SUN, T(10, 0)))  # 10:00 CST on a Sunday
    assert h.until == at(dt.datetime.combine(SUN, T(12, 0)), "America/Chicago")
    h = held(TX, dt.datetime.combine(SAT, T(22, 0)))  # Saturday night: Sunday's window opens at noon
    assert h.until == at(dt.datetime.combine(SUN, T(12, 0)), "America/Chicago")


def test_the_shops_quiet_hours_narrow_a_state_window_and_say_so():
    h = held(TX, dt.datetime.combine(SAT, T(9, 30)), shop=(T(10), T(18)))
    assert h.reason == "Your quiet hours: texts go out 10:00–18:00"
    assert h.until == at(dt.datetime.combine(SAT, T(10, 0)), "America/Chicago")


def test_the_shops_quiet_hours_never_widen_a_state_window():
    h = held(FL, dt.datetime.combine(MON, T(20, 30)), shop=(T(6), T(23)))
    assert h.reason == "Florida: not after 20:00"


def test_a_states_row_applies_only_from_its_effective_date():
    sunday_before = dt.datetime(2025, 8, 31, 10, 0)  # Texas, a Sunday before 1 Sep 2025: the federal rule
    assert held(TX, sunday_before).until is None
    assert held(TX, dt.datetime(2025, 9, 7, 10, 0)).reason == "Texas: not before 12:00 on Sundays"
    assert held(MD, dt.datetime(2023, 12, 29, 20, 30)).until is None  # Maryland's act: from 1 Jan 2024
    assert held(MD, dt.datetime(2024, 1, 2, 20, 30)).reason == "Maryland: not after 20:00"


def test_the_customers_zip_code_decides_the_state_and_time_zone_before_the_area_code():
    # a San Francisco number whose owner lives in Houston (zip 77001): Texas, Central time
    local = dt.datetime.combine(SUN, T(11, 0))  # 11:00 in Houston = 09:00 in San Francisco
    where = outbox.place_of(CA, "77001")
    assert (where.state, where.zones) == ("TX", ("America/Chicago",))
    h = windows.hold(
        where=where, now=at(local, "America/Chicago"), shop_start=T(7), shop_end=T(22), shop_zone="America/Los_Angeles"
    )
    assert h.reason == "Texas: not before 12:00 on Sundays"
    assert outbox.place_of(CA, "77001-1234").state == "TX"  # ZIP+4


@pytest.mark.parametrize("bad_zip", ["00000", "99999", "ABCDE", "1234", "", None, "7700"])
def test_a_zip_code_that_does_not_exist_falls_back_to_the_area_code(bad_zip):
    assert windows.state_for_zip(bad_zip) is None
    assert outbox.place_of(TX, bad_zip).state == "TX"


@pytest.mark.parametrize("number", [TOLL_FREE, CANADA, "+442079460958", "+881612345678", "not a phone"])
def test_a_number_whose_area_code_spans_no_state_gets_the_federal_default(number):
    assert windows.state_for_number(number) is None
    assert windows.rule_for(windows.state_for_number(number), SUN) is windows.FEDERAL


def test_a_toll_free_number_gets_the_federal_window_in_every_zone_it_may_be_in():
    where = outbox.place_of(TOLL_FREE)
    assert where.state is None and len(where.zones) > 10  # Guam to Newfoundland, as §4 already read it
    local = dt.datetime(2026, 11, 30, 21, 30)  # 21:30 in the shop's Los Angeles
    h = windows.hold(
        where=where,
        now=at(local, "America/Los_Angeles"),
        shop_start=T(7),
        shop_end=T(22),
        shop_zone="America/Los_Angeles",
    )
    assert h.reason.startswith("Federal rule (TCPA): not ")
    for zone in where.zones:  # when it goes, it is inside 08:00-21:00 everywhere
        t = h.until.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(zone)).time()
        assert T(8) <= t < T(21)


def test_a_number_with_no_time_zone_uses_the_shops():
    where = windows.place("+881612345678", "", ())
    h = windows.hold(
        where=where,
        now=at(dt.datetime(2026, 11, 30, 21, 30), "America/New_York"),
        shop_start=T(7),
        shop_end=T(22),
        shop_zone="America/New_York",
    )
    assert h.reason == "Federal rule (TCPA): not after 21:00"
    assert h.until == at(dt.datetime(2026, 12, 1, 8, 0), "America/New_York")


# --- DST days ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "local_day,utc_open",
    [
        (dt.date(2026, 3, 8), dt.datetime(2026, 3, 8, 17, 0)),  # spring forward: noon CDT = 17:00 UTC
        (dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 18, 0)),  # fall back: noon CST = 18:00 UTC
    ],
)
def test_texas_sunday_noon_on_dst_days_is_noon_local(local_day, utc_open):
    assert local_day.weekday() == 6
    h = held(TX, dt.datetime.combine(local_day, T(11, 30)))
    assert h.reason == "Texas: not before 12:00 on Sundays" and h.until == utc_open


def test_a_text_held_overnight_across_the_spring_dst_change_goes_at_eight_local():
    # Saturday 7 March 2026 22:30 PST in San Francisco; clocks go forward that night
    h = held(CA, dt.datetime(2026, 3, 7, 22, 30))
    assert h.until == dt.datetime(2026, 3, 8, 15, 0)  # 08:00 PDT = 15:00 UTC


# --- The cap: at most 3 marketing or request texts in 24 hours (FL, OK, MD) ----------------------------------


@pytest.mark.parametrize("phone", [FL, OK, MD])
def test_the_fourth_text_in_24_hours_waits_the_third_does_not(phone):
    local = dt.datetime.combine(MON, T(12, 0))
    now = at(local, ZONES[phone])
    two = [now - dt.timedelta(hours=h) for h in (5, 1)]
    three = [now - dt.timedelta(hours=h) for h in (23, 5, 1)]
    assert held(phone, local, recent=two).until is None  # the 3rd goes
    h = held(phone, local, recent=three)  # the 4th waits until the oldest leaves the 24 hours
    assert h.until == three[0] + dt.timedelta(hours=24)
    assert h.reason.endswith("at most 3 marketing or request texts to one phone in 24 hours")
    older = [now - dt.timedelta(hours=h) for h in (25, 5, 1)]  # one outside the 24 hours does not count
    assert held(phone, local, recent=older).until is None


def test_past_the_cap_the_text_waits_for_the_window_too():
    local = dt.datetime.combine(MON, T(19, 0))
    now = at(local, "America/New_York")
    recent = [now - dt.timedelta(hours=h) for h in (22, 5, 1)]  # the oldest leaves at 21:00: Florida is closed
    h = held(FL, local, recent=recent)
    assert h.until == at(dt.datetime.combine(MON + dt.timedelta(days=1), T(8, 0)), "America/New_York")


def test_states_without_a_cap_never_hold_for_it():
    local = dt.datetime.combine(MON, T(12, 0))
    now = at(local, "America/Chicago")
    assert held(TX, local, recent=[now - dt.timedelta(hours=h) for h in (4, 3, 2, 1)]).until is None


def _seed_sent_requests(session, customer, times):
    for t in times:
        session.add(
            Message(
                customer_id=customer.id,
                phone=customer.phone,
                direction="outbound",
                body="x",
                kind=MessageKind.opt_in_request,
                status=MessageStatus.sent,
                created_at=t,
                sent_at=t,
            )
        )
    session.commit()


@pytest.mark.parametrize("sent_before,expected", [(2, MessageStatus.sent), (3, MessageStatus.queued)])
def test_the_outbox_counts_a_florida_phones_texts_of_the_last_24_hours(session, sent_before, expected):
    """Storage: the cap reads the message log (both databases)."""
    texting.update_defaults(session, window_start=T(7), window_end=T(22))
    c = make_customer(session, phone_number=FL)
    now = at(dt.datetime.combine(MON, T(12, 0)), "America/New_York")
    first = now - dt.timedelta(hours=20)
    _seed_sent_requests(session, c, [first + dt.timedelta(hours=i) for i in range(sent_before)])
    msg = outbox.send(session, customer=c, kind=MessageKind.opt_in_request, now=now, bulk=True)
    session.commit()
    assert msg.status is expected
    if expected is MessageStatus.queued:
        assert msg.send_at == first + dt.timedelta(hours=24)
        assert msg.reason.startswith("Florida: at most 3")
        # released when due: the oldest text has left the 24 hours
        summary = outbox.release_due(session, now=msg.send_at)
        assert summary.sent == 1
        session.refresh(msg)
        assert msg.status is MessageStatus.sent


def test_a_queued_request_says_the_state_rule_and_is_released_by_it(session):
    texting.update_defaults(session, window_start=T(7), window_end=T(22))
    c = make_customer(session, phone_number=TX)
    now = at(dt.datetime.combine(SUN, T(10, 0)), "America/Chicago")
    msg = outbox.send(session, customer=c, kind=MessageKind.opt_in_request, now=now, bulk=True)
    session.commit()
    assert (msg.status, msg.reason) == (MessageStatus.queued, "Texas: not before 12:00 on Sundays")
    assert outbox.release_due(session, now=msg.send_at - dt.timedelta(minutes=1)).sent == 0
    assert outbox.release_due(session, now=msg.send_at).sent == 1


def test_a_reply_to_the_customers_own_text_goes_at_once_whatever_the_state_window(session):
    from core.messaging import inbox

    now = at(dt.datetime.combine(SUN, T(7, 0)), "America/Chicago")  # Sunday 07:00 in Texas
    out = inbox.receive(session, phone=TX, body="HELP", now=now)
    assert [m.status for m in out] == [MessageStatus.sent]
    out = inbox.receive(session, phone=TX, body="JOIN", to=texting.get_defaults(session).join_number, now=now)
    assert out[0].kind is MessageKind.opt_in_request and out[0].status is MessageStatus.sent


def test_the_explanation_for_the_shops_own_area_names_the_law():
    sentence = windows.explain_area(TX, T(8), T(20), SUN)
    assert "Customers in Texas" in sentence and "Sunday 12:00–21:00" in sentence and "§301.051" in sentence
    assert "narrow today's window to 12:00–20:00" in sentence
    ca = windows.explain_area(CA, T(8), T(20), MON)
    assert "California has no state law on texting hours in the table, so the federal rule applies" in ca
    assert "Customers whose state is not known" in windows.explain_area(TOLL_FREE, T(8), T(21), MON)


def test_every_row_names_its_law_effective_date_and_source():
    for rule in (*windows.RULES.values(), windows.FEDERAL):
        assert rule.law and rule.source and isinstance(rule.effective, dt.date)
        assert len(rule.hours) == 7 and all(s < e for s, e in rule.hours)
    assert set(windows.RULES) == {"FL", "OK", "MD", "CT", "TX"}
    assert [r["Where"] for r in windows.table_rows()][-1] == "Everywhere else"
