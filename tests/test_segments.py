"""core.messaging.segments: SMS encoding and segment counting (rulebook §5)."""

from __future__ import annotations

import pytest

from core.messaging.segments import GSM_BASIC, GSM_EXTENSION, SegmentCount, count

EMOJI = "😀"
HAN = "中"  # a UCS-2 character that is one UTF-16 code unit


@pytest.mark.parametrize(
    "text, segments, units",
    [
        ("", 0, 0),
        ("a", 1, 1),
        ("a" * 160, 1, 160),
        ("a" * 161, 2, 161),
        ("a" * 306, 2, 306),
        ("a" * 307, 3, 307),
        ("a" * 459, 3, 459),
        ("a" * 460, 4, 460),
        ("{" * 80, 1, 160),
        ("{" * 81, 2, 162),
        ("€" * 80, 1, 160),
        ("a" * 158 + "~", 1, 160),
        ("a" * 159 + "~", 2, 161),
        # an extension char that would straddle segments 1 and 2 moves to segment 2
        ("a" * 152 + "{" + "a" * 152, 3, 306),
        ("a" * 152 + "{" + "a" * 151, 2, 305),
        ("a" * 153 + "{" + "a" * 151, 2, 306),
        ("\f" * 80, 1, 160),
    ],
)
def test_gsm7_units_and_segment_boundaries(text, segments, units):
    result = count(text)
    assert result == SegmentCount("GSM-7", segments, units, ())


@pytest.mark.parametrize(
    "text, segments, units",
    [
        (HAN * 70, 1, 70),
        (HAN * 71, 2, 71),
        (HAN * 134, 2, 134),
        (HAN * 135, 3, 135),
        (EMOJI, 1, 2),
        (EMOJI * 35, 1, 70),
        (EMOJI * 36, 2, 72),
        ("a" * 69 + EMOJI, 2, 71),
        ("a" * 68 + EMOJI, 1, 70),
        # a surrogate pair that would straddle segments 1 and 2 moves to segment 2
        (HAN * 66 + EMOJI + HAN * 66, 3, 134),
        (HAN * 66 + EMOJI + HAN * 65, 2, 133),
        (HAN * 65 + EMOJI + HAN * 67, 2, 134),
    ],
)
def test_ucs2_units_and_segment_boundaries(text, segments, units):
    result = count(text)
    assert (result.encoding, result.segments, result.units) == ("UCS-2", segments, units)


@pytest.mark.parametrize(
    "text, non_gsm",
    [
        ("Hi 😀 there 😀", ("😀",)),
        ("Joe’s “deal”", ("’", "“", "”")),
        ("café", ()),  # é is GSM
        ("ça va", ("ç",)),  # only capital Ç is in the basic table
        ("naïve 中文", ("ï", "中", "文")),
        ("tab\there", ("\t",)),
        ("a\u00a0b", ("\u00a0",)),
    ],
)
def test_non_gsm_lists_the_characters_that_forced_ucs2_in_order(text, non_gsm):
    result = count(text)
    assert result.non_gsm == non_gsm
    assert result.encoding == ("UCS-2" if non_gsm else "GSM-7")


def test_emoji_count_two_units_each():
    assert count(EMOJI * 10).units == 20


def test_every_basic_character_costs_one_unit_and_every_extension_character_two():
    assert count("".join(sorted(GSM_BASIC))) == SegmentCount("GSM-7", 1, 127, ())
    assert count("".join(sorted(GSM_EXTENSION))) == SegmentCount("GSM-7", 1, 20, ())


@pytest.mark.parametrize(
    "char",
    list("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà"),
)
def test_the_gsm_basic_table_contains_the_gsm_0338_characters(char):
    assert char in GSM_BASIC


def test_the_gsm_tables_have_the_right_sizes_and_do_not_overlap():
    assert len(GSM_BASIC) == 127  # 128 minus the escape code
    assert GSM_EXTENSION == frozenset("\f^{}\\[~]|€")
    assert not GSM_BASIC & GSM_EXTENSION


@pytest.mark.parametrize("text", [None, ""])
def test_empty_text_is_zero_segments_of_gsm7(text):
    assert count(text) == SegmentCount("GSM-7", 0, 0, ())


def test_segment_count_is_frozen():
    result = count("hi")
    with pytest.raises(AttributeError):
        result.segments = 5  # type: ignore[misc]
