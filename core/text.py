"""Plain text from whatever was typed, pasted or imported: one cleaning rule for every path.

Control characters (NUL, DEL, C1...) and bidirectional controls (LRM/RLM/ALM, the
embeddings/overrides U+202A–U+202E and the isolates U+2066–U+2069) are removed: they can
make a stored name or text display as something other than what it is ("Trojan Source").
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["BIDI_CONTROLS", "clean_text", "strip_bidi"]

#: Characters that reorder how text around them is displayed.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_NO_BIDI = dict.fromkeys(map(ord, BIDI_CONTROLS))


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional controls; everything else (newlines too) kept."""
    return text.translate(_NO_BIDI) if not text.isprintable() else text


def clean_text(value: Any) -> str:
    """One line of plain text: control characters, bidi controls and lone surrogates (which no
    database can store) dropped, whitespace
    (tabs, newlines) collapsed to single spaces, trimmed. None is ''."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text.isprintable():
        text = "".join(ch for ch in text if ch.isspace()
                       or (ch not in BIDI_CONTROLS and unicodedata.category(ch) not in ("Cc", "Cs")))
    return " ".join(text.split())
