"""Inbound keywords (rulebook §3): what a customer's text means.

Pure functions, no I/O. The body is normalised (trim, collapse whitespace,
drop trailing ``.``, ``!``, ``?``, ignore case) and matched as a whole against
the keyword table. A message that is not a keyword but contains a revocation
word among other words is a *possible opt-out* for the owner to review.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

__all__ = [
    "Keyword",
    "KEYWORDS",
    "REVOCATION_WORDS",
    "normalize_body",
    "classify",
    "EXTRA_CHOICES",
    "parse_extra",
]


class Keyword(str, Enum):
    OPT_OUT = "opt_out"
    CONFIRM = "confirm"
    RESUBSCRIBE = "resubscribe"
    HELP = "help"
    POSSIBLE_OPT_OUT = "possible_opt_out"
    NONE = "none"


#: Whole-message keywords (already normalised: upper case, single spaces).
KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        (
            "STOP",
            "STOPALL",
            "UNSUBSCRIBE",
            "CANCEL",
            "END",
            "QUIT",
            "REVOKE",
            "OPTOUT",
            "OPT OUT",
            "OPT-OUT",
        ),
        Keyword.OPT_OUT,
    ),
    "Y": Keyword.CONFIRM,
    "YES": Keyword.CONFIRM,
    "START": Keyword.RESUBSCRIBE,
    "UNSTOP": Keyword.RESUBSCRIBE,
    "HELP": Keyword.HELP,
    "INFO": Keyword.HELP,
}

#: Words that, inside a longer message, make it a possible opt-out.
REVOCATION_WORDS = (
    "stop",
    "stopall",
    "quit",
    "end",
    "revoke",
    "opt out",
    "opt-out",
    "optout",
    "cancel",
    "unsubscribe",
)

# Whole words only: "weekend", "stopped", "spend" do not match.
_REVOCATION = re.compile(r"(?<!\w)(?:STOP(?:ALL)?|QUIT|END|REVOKE|OPT[ -]?OUT|CANCEL|UNSUBSCRIBE)(?!\w)")

_TRAILING = ".!?… "

#: Extra words a shop may add (rulebook §10), by keyword class: opt-out and help words in Spanish and
#: French. Only these can be chosen; the FCC/CTIA words of KEYWORDS above are always there and can
#: never be removed (they are not part of this choice at all).
EXTRA_CHOICES: dict[Keyword, tuple[str, ...]] = {
    Keyword.OPT_OUT: ("ALTO", "PARAR", "PARE", "CANCELAR", "BAJA", "ARRET", "ARRÊT", "ARRETER", "ARRÊTER"),
    Keyword.HELP: ("AYUDA", "AIDE"),
}


def parse_extra(words: object, keyword: Keyword) -> tuple[str, ...]:
    """The chosen extra words of a class from their stored form ("ALTO PARAR"), unknown ones dropped."""
    allowed = EXTRA_CHOICES.get(keyword, ())
    if isinstance(words, str):
        words = words.replace(",", " ").split()
    chosen = {normalize_body(w) for w in (words or ())}
    return tuple(w for w in allowed if w in chosen)


def _visible(word: str) -> str:
    """``word`` without control and format characters (NUL, zero-width space, BOM...)."""
    if word.isprintable():
        return word
    return "".join(ch for ch in word if unicodedata.category(ch) not in ("Cc", "Cf"))


def normalize_body(body: object) -> str:
    """The body as matched: NFKC-normalised (full-width and other compatibility forms count),
    trimmed, control and format characters (bidi controls too) removed, inner whitespace
    collapsed to one space, trailing ``.``/``!``/``?`` dropped, upper case."""
    if body is None:
        return ""
    if not isinstance(body, str):
        body = str(body)
    if not body.isascii():  # compatibility forms count: full-width "ＳＴＯＰ" is STOP
        body = unicodedata.normalize("NFKC", body)
    words = [w for w in map(_visible, body.split()) if w]
    return " ".join(words).rstrip(_TRAILING).upper()


def classify(body: object, *, extra_opt_out: tuple[str, ...] = (), extra_help: tuple[str, ...] = ()) -> Keyword:
    """What an inbound text asks for (see rulebook §3). `extra_opt_out` / `extra_help`: the shop's chosen
    words in other languages (§10, from EXTRA_CHOICES via parse_extra): a whole-message match is that
    keyword; an extra opt-out word among other words makes a possible opt-out, like the FCC words."""
    text = normalize_body(body)
    if not text:
        return Keyword.NONE
    keyword = KEYWORDS.get(text)
    if keyword is not None:
        return keyword
    if text in extra_opt_out:
        return Keyword.OPT_OUT
    if text in extra_help:
        return Keyword.HELP
    if _REVOCATION.search(text):
        return Keyword.POSSIBLE_OPT_OUT
    if extra_opt_out and any(w in extra_opt_out for w in re.findall(r"\w+", text)):
        return Keyword.POSSIBLE_OPT_OUT
    return Keyword.NONE
