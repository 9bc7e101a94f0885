"""core/clock: one formatter for every time the owner reads (the shop's zone, labelled) and the
business-day review deadline."""

import datetime as dt
from zoneinfo import ZoneInfo

from core import clock
from core.messaging import inbox

LA, NY = "America/Los_Angeles", "America/New_York"


def test_the_same_event_reads_pst_in_winter_and_pdt_in_summer_for_a_los_angeles_shop():
    assert clock.shop_time(dt.datetime(2026, 12, 2, 17, 5), LA) == "2 Dec 2026, 9:05 AM PST"
    assert clock.shop_time(dt.datetime(2026, 7, 2, 16, 5), LA) == "2 Jul 2026, 9:05 AM PDT"


def test_a_new_york_shop_reads_est_and_edt():
    assert clock.shop_time(dt.datetime(2026, 12, 2, 17, 5), NY) == "2 Dec 2026, 12:05 PM EST"
    assert clock.shop_time(dt.datetime(2026, 7, 2, 16, 5), NY) == "2 Jul 2026, 12:05 PM EDT"


def test_the_night_daylight_saving_ends_each_side_has_its_own_label():
    # 1 Nov 2026: 01:30 happens twice in Los Angeles, first PDT, then PST
    assert clock.shop_time(dt.datetime(2026, 11, 1, 8, 30), LA) == "1 Nov 2026, 1:30 AM PDT"
    assert clock.shop_time(dt.datetime(2026, 11, 1, 9, 30), LA) == "1 Nov 2026, 1:30 AM PST"


def test_aware_and_naive_utc_give_the_same_text_and_midnight_and_noon_read_as_12():
    aware = dt.datetime(2026, 12, 2, 0, 0, tzinfo=ZoneInfo(LA))
    assert (
        clock.shop_time(aware, LA)
        == clock.shop_time(dt.datetime(2026, 12, 2, 8, 0), LA)
        == ("2 Dec 2026, 12:00 AM PST")
    )
    assert clock.shop_time(dt.datetime(2026, 12, 2, 20, 0), LA) == "2 Dec 2026, 12:00 PM PST"


def test_a_day_is_the_shop_s_day_and_nothing_reads_as_empty_or_as_asked():
    # 03:00 UTC on 2 Dec is still 1 Dec in Los Angeles
    assert clock.shop_time(dt.datetime(2026, 12, 2, 3, 0), LA, date_only=True) == "1 Dec 2026"
    assert clock.shop_date(dt.datetime(2026, 12, 2, 3, 0), LA) == dt.date(2026, 12, 1)
    assert clock.shop_time(dt.date(2026, 12, 2), LA) == "2 Dec 2026"
    assert clock.shop_time(None, LA) == "" and clock.shop_time(None, LA, empty="never") == "never"


def test_a_zone_without_an_abbreviation_reads_as_an_offset_and_an_unknown_zone_as_utc():
    assert clock.shop_time(dt.datetime(2026, 12, 2, 9, 5), "Asia/Dubai") == "2 Dec 2026, 1:05 PM UTC+04"
    assert clock.shop_time(dt.datetime(2026, 12, 2, 9, 5), "Not/AZone") == "2 Dec 2026, 9:05 AM UTC"


def test_the_review_deadline_is_ten_business_days_on_and_the_inbox_uses_the_clock_s():
    assert inbox.review_deadline is clock.review_deadline
    assert clock.review_deadline(dt.datetime(2026, 11, 30, 19, 0)) == dt.date(2026, 12, 14)  # Mon -> Mon+2 weeks
