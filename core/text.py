"""Plain text from whatever was typed, pasted or imported: one cleaning rule for every path.

Control characters (NUL, DEL, C1...) and bidirectional controls (LRM/RLM/ALM, the
embeddings/overrides U+202A–U+202E and the isolates U+2066–U+2069) are removed: they can
make a stored name or text display as something other than what it is ("Trojan Source").
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["BIDI_CONTROLS", "MAX_EMAIL", "clean_text", "strip_bidi", "valid_email"]

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
        text = "".join(
            ch
            for ch in text
            if ch.isspace() or (ch not in BIDI_CONTROLS and unicodedata.category(ch) not in ("Cc", "Cs"))
        )
    return " ".join(text.split())


#: RFC 5321's limits: the whole address, the part before the @, and one label of the domain.
MAX_EMAIL = 254
_MAX_LOCAL = 64
_MAX_LABEL = 63
#: Characters an address typed into a form or a spreadsheet never needs outside quotes (which we do not accept).
_NOT_IN_LOCAL = frozenset(' <>()[]\\,;:"@')


# The rule below, as one regular expression for the usual (ASCII) address: a million imported rows are checked.
_ATOM = r'[^\x00-\x20\x7f-\U0010ffff<>()\[\]\\,;:"@.]+'
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ASCII_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


def valid_email(value: str) -> bool:
    """Whether ``value`` (already cleaned by clean_text) looks like an email address: the one rule of every
    path (Add a customer, the sign-up form, imports).

    name@domain with: at most 254 characters (64 before the @); a local part without spaces, quotes, brackets,
    commas, semicolons or colons, not starting or ending with a dot and without two dots in a row; a domain
    of at least two labels separated by single dots, each label 1-63 letters, digits or hyphens (not at its
    start or end), the last one (the top-level domain) at least two characters and not all digits.
    Letters of any script are accepted (internationalised addresses, RFC 6531: ``josé@exámple.com``):
    customers write them, and the shop only stores the address, it never sends mail to it.
    """
    if not value or len(value) > MAX_EMAIL:
        return False
    if value.isascii():
        if _ASCII_EMAIL.fullmatch(value) is None:
            return False
        local, _, domain = value.partition("@")
        tld = domain.rsplit(".", 1)[1]
        return len(local) <= _MAX_LOCAL and len(tld) >= 2 and not tld.isdigit()
    return careful_valid_email(value)


def careful_valid_email(value: str) -> bool:
    """valid_email's rule, one character at a time (any script)."""
    if not value or len(value) > MAX_EMAIL or value.count("@") != 1:
        return False
    local, _, domain = value.partition("@")
    if not local or len(local) > _MAX_LOCAL or local[0] == "." or local[-1] == "." or ".." in local:
        return False
    if any(ch in _NOT_IN_LOCAL or not ch.isprintable() for ch in local):
        return False
    labels = domain.split(".")
    if len(labels) < 2:
        return False
    for label in labels:
        if not label or len(label) > _MAX_LABEL or label[0] == "-" or label[-1] == "-":
            return False
        if not all(ch.isalnum() or ch == "-" for ch in label):
            return False
    return len(labels[-1]) >= 2 and not labels[-1].isdigit()
