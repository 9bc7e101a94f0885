"""core.messaging.texting_editor: what the Texting Defaults page shows while the owner types."""

from __future__ import annotations

import datetime as dt

import pytest

from core.messaging import compliance, texting
from core.messaging import texting_editor as editor
from core.models import MessageKind

BRAND = "Green Leaf Goods"


def check(kind, text, **kw):
    kw.setdefault("brand", BRAND)
    kw.setdefault("help_contact", "support@greenleafgoods.example")
    kw.setdefault("join_number", "(415) 555-0142")
    return editor.check_template(kind, text, **kw)


def test_the_preview_fills_every_placeholder_for_jamie():
    result = check("help_reply", "Hi {first_name}, {brand} here. Text {join_number} or ask {help_contact}. STOP to end")
    assert result.preview == (
        "Hi Jamie, Green Leaf Goods here. Text (415) 555-0142 or ask support@greenleafgoods.example. STOP to end"
    )
    assert result.errors == []


@pytest.mark.parametrize("kind", [k for k in MessageKind if k.templated])
def test_each_default_template_previews_clean(kind):
    result = check(kind, texting.default_template(kind))
    assert result.errors == [] and "{" not in result.preview


def test_twenty_percent_off_is_an_error_that_says_what_to_remove():
    result = check("opt_in_request", "20% off everything")
    assert any(f.code == "promotional" and '"20% off"' in f.message for f in result.errors)


def test_an_unknown_placeholder_is_an_error_and_stays_visible_in_the_preview():
    result = check("help_reply", texting.default_template("help_reply") + " {coupon}")
    assert [f.code for f in result.errors] == ["unknown_placeholder"]
    assert result.preview.endswith("{coupon}")


def test_unbalanced_braces_preview_the_text_as_typed():
    result = check("help_reply", "{brand help")
    assert result.preview == "{brand help"
    assert "malformed_placeholder" in [f.code for f in result.errors]


def test_the_count_is_of_the_preview_and_crosses_into_two_segments_at_161():
    assert check("opt_out_confirmation", "a" * 160).count.segments == 1
    assert check("opt_out_confirmation", "a" * 161).count.segments == 2
    # {brand} is 16 characters once filled in
    assert check("opt_out_confirmation", "{brand}" + "a" * 144).count.units == 160
    assert check("opt_out_confirmation", "{brand}" + "a" * 145).count.segments == 2


def test_an_emoji_makes_it_ucs2_and_names_the_character():
    result = check("opt_out_confirmation", texting.default_template("opt_out_confirmation") + " 🌿")
    assert result.count.encoding == "UCS-2"
    assert editor.forcing_characters(result) == "🌿"
    assert "ucs2" in [f.code for f in result.warnings]
    assert result.errors == []


def test_the_long_warning_counts_the_same_text_as_the_counter():
    """A long support contact pushes the help reply over two segments: counter and warning agree."""
    contact = "customer-care-team@a-rather-long-shop-domain-name.example"
    base = texting.default_template("help_reply") + " "
    text = base + "x" * (300 - len(compliance.sample_render(base, brand=BRAND)))  # 300 units with sample values
    assert "long" not in [f.code for f in compliance.check("help_reply", text, brand=BRAND)]
    result = check("help_reply", text, help_contact=contact)
    long = [f for f in result.warnings if f.code == "long"]
    assert result.count.segments == 3
    assert long and "3 segments" in long[0].message


def test_compliance_check_uses_given_values_for_the_cost_warnings_only():
    text = "{brand}: help at {help_contact}. Reply STOP to opt out."
    short = compliance.check("help_reply", text, brand=BRAND)
    long = compliance.check("help_reply", text, brand=BRAND, values={"help_contact": "x" * 400})
    assert compliance.errors(short) == compliance.errors(long) == []
    assert [f.code for f in long] == ["long"] and short == []


def test_cost_reads_units_of_one_segment_or_units_when_split():
    assert check("opt_out_confirmation", "a" * 150).cost == "GSM-7 · 150 of 160 units · 1 segment"
    assert check("opt_out_confirmation", "a" * 170).cost == "GSM-7 · 170 units · 2 segments"
    assert check("opt_out_confirmation", "中").cost == "UCS-2 · 1 of 70 units · 1 segment"


def test_an_overnight_window_has_no_sentence_it_is_refused_instead():
    assert editor.window_sentence(dt.time(22), dt.time(6), "America/Los_Angeles") == ""


def test_a_day_window_says_when_bulk_texts_wait_until():
    sentence = editor.window_sentence(dt.time(8), dt.time(20), "America/Chicago")
    assert sentence.startswith("Quiet hours: texts the shop starts in bulk")
    assert "wait until 08:00 when it is between 20:00 and 08:00" in sentence
    assert "America/Chicago" in sentence and "narrow the window of the customer's state" in sentence


def test_an_equal_start_and_end_has_no_sentence():
    assert editor.window_sentence(dt.time(9), dt.time(9), "UTC") == ""


def test_time_zones_list_the_us_zones_first_then_every_other():
    options = editor.timezone_options()
    assert options[:5] == [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
    ]
    assert "Europe/London" in options and len(options) == len(set(options))
    assert editor.timezone_options("Etc/UTC")[0] == "Etc/UTC"  # a saved zone is never dropped


def test_regions_list_us_and_canada_first_with_their_calling_code():
    assert editor.region_options()[:2] == ["US", "CA"]
    assert editor.region_label("GB") == "GB (+44)"


def test_form_values_show_numbers_the_way_people_read_them(sqlite_session):
    values = editor.form_values(texting.get_defaults(sqlite_session))
    assert values["join_number"] == "(415) 555-0142"
    assert set(values) == set(editor.FIELDS) and set(editor.FIELD_LABELS) == set(editor.FIELDS)
    assert texting.problems(sqlite_session, **values) == {}  # the form saves back what it shows
