"""SMS encoding and segment count (rulebook §5).

GSM-7 when every character is in the GSM 03.38 basic table or its extension
table: basic characters cost 1 unit, extension characters 2 (escape + char);
160 units fit one segment, 153 per segment once split. Otherwise UCS-2: units
are UTF-16 code units (an emoji is 2); 70 in one segment, 67 per segment once
split. A character is never split across two segments.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "GSM7",
    "UCS2",
    "SegmentCount",
    "count",
]

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 basic character table, in table order (0x1B, the escape to the
# extension table, is left out: it is not a character anyone types).
GSM_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ"
    "ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# GSM 03.38 extension table: each costs 2 units (escape + character).
GSM_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

_GSM_ALL = GSM_BASIC | GSM_EXTENSION

_GSM_SINGLE, _GSM_MULTI = 160, 153
_UCS2_SINGLE, _UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # GSM-7 septets, or UTF-16 code units for UCS-2
    non_gsm: tuple[str, ...] = ()  # the characters that forced UCS-2, first appearance order


def _pack(costs: list[int], per_segment: int) -> int:
    """Segments needed when no character may straddle two segments."""
    segments, used = 1, 0
    for cost in costs:
        if used + cost > per_segment:
            segments += 1
            used = 0
        used += cost
    return segments


def _segments(units: int, wide: bool, costs, single: int, multi: int) -> int:
    if units == 0:
        return 0
    if units <= single:
        return 1
    if not wide:  # every character costs 1: plain division
        return -(-units // multi)
    return _pack(list(costs()), multi)


def count(text: str | None) -> SegmentCount:
    """Encoding, segments and units of ``text`` as it would be sent."""
    if not text:
        return SegmentCount(GSM7, 0, 0, ())
    chars = set(text)
    if chars <= _GSM_ALL:
        wide = not chars.isdisjoint(GSM_EXTENSION)
        units = len(text) + (sum(1 for ch in text if ch in GSM_EXTENSION) if wide else 0)
        segments = _segments(
            units,
            wide,
            lambda: (2 if ch in GSM_EXTENSION else 1 for ch in text),
            _GSM_SINGLE,
            _GSM_MULTI,
        )
        return SegmentCount(GSM7, segments, units, ())

    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in _GSM_ALL))
    astral = sum(1 for ch in non_gsm if ord(ch) > 0xFFFF)
    units = len(text) + (sum(1 for ch in text if ord(ch) > 0xFFFF) if astral else 0)
    segments = _segments(
        units,
        bool(astral),
        lambda: (2 if ord(ch) > 0xFFFF else 1 for ch in text),
        _UCS2_SINGLE,
        _UCS2_MULTI,
    )
    return SegmentCount(UCS2, segments, units, non_gsm)
