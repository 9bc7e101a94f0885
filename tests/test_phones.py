"""core.phones: messy phone input to E.164, display format, time zones."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.phones import InvalidPhone, format_display, normalize, time_zones

SF = "+14158675309"


@pytest.mark.parametrize(
    "raw",
    [
        "(415) 867-5309",
        "415.867.5309",
        "415-867-5309",
        "4158675309",
        "+1 415 867 5309",
        "+1 (415) 867-5309",
        "1-415-867-5309",
        "1 415 867 5309",
        "  415 867 5309  ",
        "\t(415)867-5309\n",
        "'4158675309",
        "'(415) 867-5309",
        "4158675309.0",
        "14158675309.0",
        "1.4158675309E+10",
        "1.4158675309e10",
        "4.158675309E+09",
        "'1.4158675309E+10",
        "+14158675309.0",
        "415-867-5309 ext. 12",
        "415-867-5309 ext 12",
        "415-867-5309 x12",
        "(415) 867-5309 x 12",
        "４１５８６７５３０９",
        "（４１５）８６７－５３０９",
        "415\x00867\x005309",
        "\x00\x00+14158675309\x00",
        "Tel: 415-867-5309",
        "011 1 415 867 5309",
    ],
)
def test_messy_us_numbers_normalize_to_e164(raw):
    assert normalize(raw) == SF


@pytest.mark.parametrize(
    "raw",
    [4158675309, 14158675309, 4158675309.0, 14158675309.0, Decimal("4158675309"), Decimal("14158675309.00")],
)
def test_numeric_cells_from_spreadsheets_normalize_to_e164(raw):
    assert normalize(raw) == SF


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "gb", "+442079460958"),
        ("07400 123456", "GB", "+447400123456"),
        ("+1 415 867 5309", "GB", SF),
        ("(416) 555-0199", "CA", "+14165550199"),
        ("030 1234567", "DE", "+49301234567"),
    ],
)
def test_foreign_numbers_and_other_regions_normalize_to_e164(raw, region, expected):
    assert normalize(raw, region) == expected


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("'", "empty"),
        ("\x00\x00", "empty"),
        (None, "empty"),
        (float("nan"), "empty"),
        ("867-5309", "too few digits"),
        ("415-867", "too few digits"),
        ("12", "too few digits"),
        ("41586753091234567", "too many digits"),
        ("+1 415 867 530912", "too many digits"),
        ("12345678901234567890", "too many digits"),
        ("abc", "not a phone number"),
        ("no phone", "not a phone number"),
        ("N/A", "not a phone number"),
        ("Infinity", "not a phone number"),
        (True, "not a phone number"),
        (-4158675309, "not a phone number"),
        (4158675309.5, "not a phone number"),
        ("+1 123 456 7890", "not a valid number in US"),
        ("(111) 111-1111", "not a valid number in US"),
        ("+44 20 0000 000", "not a valid number in GB"),
        ("+999 1234567", "not a valid country code"),
    ],
)
def test_invalid_phones_raise_with_a_plain_reason(raw, reason):
    with pytest.raises(InvalidPhone) as info:
        normalize(raw)
    assert info.value.reason == reason
    assert str(info.value) == reason


def test_invalid_phone_is_a_value_error():
    with pytest.raises(ValueError):
        normalize("abc")


@pytest.mark.parametrize(
    "raw",
    ["1.41587E+10", "4.15868E+09"],
)
def test_numbers_excel_rounded_into_scientific_notation_are_rejected(raw):
    with pytest.raises(InvalidPhone, match="scientific notation"):
        normalize(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "9" * 10_000,
        "x" * 10_000,
        "4158675309" * 1_000,
        "\x00" * 5_000 + "a" * 5_000,
        "1e999999999",
        "1E+99999999999999999",
        Decimal("1E+999999999"),
        1e300,
    ],
)
def test_very_long_or_huge_input_is_rejected(raw):
    with pytest.raises(InvalidPhone):
        normalize(raw)


@pytest.mark.parametrize("region", ["XX", "ZZ", "", "USA", None])
def test_an_unknown_region_is_reported(region):
    with pytest.raises(InvalidPhone) as info:
        normalize("4158675309", region)
    assert info.value.reason == f"unknown region {region}"


@pytest.mark.parametrize(
    "e164, region, shown",
    [
        (SF, "US", "(415) 867-5309"),
        ("+442079460958", "US", "+44 20 7946 0958"),
        ("+442079460958", "GB", "020 7946 0958"),
        (SF, "GB", "+1 415-867-5309"),
        ("+14165550199", "US", "+1 416-555-0199"),
        ("not a phone", "US", "not a phone"),
        ("", "US", ""),
    ],
)
def test_format_display_is_national_at_home_and_international_abroad(e164, region, shown):
    assert format_display(e164, region) == shown


@pytest.mark.parametrize(
    "e164, zones",
    [
        (SF, ["America/Los_Angeles"]),
        ("+12125551234", ["America/New_York"]),
        ("+442079460958", ["Europe/London"]),
        ("garbage", []),
        ("", []),
    ],
)
def test_time_zones_come_from_phonenumbers(e164, zones):
    assert time_zones(e164) == zones


def test_time_zones_never_contain_etc_unknown():
    assert "Etc/Unknown" not in time_zones("+80012345678")
    assert "Etc/Unknown" not in time_zones("+19999999999")


# --- Numbers that cannot be a customer's mobile (issue 11) ---------------------------------------------


@pytest.mark.parametrize(
    "raw, region, kind",
    [
        ("+1 900 555 0123", "US", "premium-rate"),
        ("1-800-555-0123", "US", "toll-free"),
        ("(833) 555-0123", "US", "toll-free"),
        ("+1 500 555 0006", "US", "personal forwarding"),
        ("0871 234 5678", "GB", "premium-rate"),
        ("0800 123 4567", "GB", "toll-free"),
        ("055 1234 5678", "GB", "company switchboard (UAN)"),
        ("070 1234 5678", "GB", "personal forwarding"),
    ],
)
def test_premium_rate_toll_free_and_other_non_mobile_numbers_are_refused_with_their_kind(raw, region, kind):
    from core.phones import NotAMobile, normalize_mobile

    with pytest.raises(NotAMobile) as info:
        normalize_mobile(raw, region)
    assert info.value.kind == kind
    assert info.value.sentence == f"That looks like a {kind} number; enter a mobile number."
    assert isinstance(info.value, InvalidPhone) and kind in info.value.reason
    assert normalize(raw, region)  # still a valid number: the shop's own numbers may be toll free


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("(415) 555-0123", "US", "+14155550123"),  # FIXED_LINE_OR_MOBILE, like most US numbers
        ("+1 613 555 0123", "US", "+16135550123"),  # Canada
        ("07400 123456", "GB", "+447400123456"),  # UK mobile
        ("+33 6 12 34 56 78", "US", "+33612345678"),  # French mobile
        ("020 7946 0958", "GB", "+442079460958"),  # a UK landline: kept (text-enabled landlines exist)
    ],
)
def test_mobile_and_fixed_line_numbers_are_kept(raw, region, expected):
    from core.phones import normalize_mobile, not_mobile

    assert normalize_mobile(raw, region) == expected
    assert not_mobile(expected) is None


def test_the_us_canada_shortcut_agrees_with_phonenumbers_number_type():
    import random

    import phonenumbers

    from core.phones import _NOT_MOBILE, not_mobile

    rng = random.Random(11)
    npas = [
        900,
        800,
        833,
        844,
        855,
        866,
        877,
        888,
        500,
        521,
        533,
        544,
        566,
        577,
        588,
        622,
        633,
        246,
        345,
        242,
        868,
        268,
        264,
        415,
        212,
        613,
        416,
        809,
    ]
    checked = 0
    for _ in range(3000):
        digits = f"{rng.choice(npas)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        number = phonenumbers.parse("+1" + digits, None)
        if not phonenumbers.is_valid_number(number):
            continue
        checked += 1
        expected = _NOT_MOBILE.get(phonenumbers.number_type(number))
        assert not_mobile("+1" + digits) == expected, digits
        assert not_mobile(number) == expected, digits
    assert checked > 1000
