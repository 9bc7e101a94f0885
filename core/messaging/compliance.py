"""Template checks (rulebook §5): what a message template must and must not say.

Pure functions, no I/O. ``check(kind, text, brand=...)`` returns findings:
errors block saving the template, warnings (cost: long or UCS-2 texts) don't.
Every finding's message is one plain sentence telling the owner what to fix.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from enum import Enum

import phonenumbers

from core.messaging import segments as _segments

__all__ = [
    "PLACEHOLDERS",
    "TEMPLATE_KINDS",
    "REQUIREMENTS",
    "MAX_LENGTH",
    "MAX_SEGMENTS",
    "Level",
    "Finding",
    "placeholders_in",
    "sample_render",
    "check",
    "errors",
    "has_contact",
    "check_value",
    "DEFAULT_TEMPLATES",
]

PLACEHOLDERS = ("brand", "first_name", "join_number", "help_contact")

# Same words as core.models.MessageKind values.
TEMPLATE_KINDS = (
    "opt_in_request",
    "opt_in_confirmation",
    "opt_out_confirmation",
    "resubscribe_confirmation",
    "help_reply",
)

MAX_LENGTH = 1000
MAX_SEGMENTS = 2  # more than this earns a "long" warning


class Level(str, Enum):
    error = "error"
    warning = "warning"


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str
    message: str


_POST_OPT_IN = ("brand", "frequency", "rates", "help_instruction", "stop_instruction")

#: What each kind of template must contain (rulebook §5 table), in check order.
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "opt_in_request": ("brand", "confirm_instruction", "stop_instruction", "rates", "frequency"),
    "opt_in_confirmation": _POST_OPT_IN,
    "opt_out_confirmation": ("brand", "no_more_messages"),
    "resubscribe_confirmation": _POST_OPT_IN,
    "help_reply": ("brand", "support_contact", "stop_instruction"),
}

_MISSING = {
    "brand": "Add your shop's name or {brand} so customers know who is texting.",
    "confirm_instruction": "Add how to confirm: ask the customer to reply Y or YES.",
    "stop_instruction": 'Add how to opt out, e.g. "Reply STOP to opt out."',
    "rates": 'Add "Msg & data rates may apply."',
    "frequency": 'Add how often you text, e.g. "Msg frequency varies."',
    "help_instruction": 'Add how to get help, e.g. "Reply HELP for help."',
    "no_more_messages": 'Say that no more texts will be sent, e.g. "You will receive no more messages."',
    "support_contact": "Add a way to reach you: {help_contact}, a phone number, an email or a website.",
}

_I = re.IGNORECASE


def _words(*alternatives: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive alternation of regex fragments."""
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", _I)


_REQUIRED_PATTERNS: dict[str, re.Pattern[str]] = {
    "confirm_instruction": _words("Y", "YES"),
    "stop_instruction": _words("STOP"),
    "help_instruction": _words("HELP"),
    "rates": _words(r"(?:msgs?|messages?)\s*(?:&|and|\+)\s*data\s+rates?\s+(?:may\s+|might\s+|can\s+|will\s+)?apply"),
    "frequency": _words(
        r"freq(?:uency)?",
        r"recurring",
        r"daily|weekly|monthly",
        r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s*(?:msgs?|messages?|texts?)\s*"
        r"(?:/|per\s+|a\s+|an\s+|each\s+|every\s+)\s*(?:mo|mos|month|wk|week|day|yr|year)",
    ),
    "no_more_messages": _words(
        r"no\s+(?:more|further|other)\s+(?:text\s+)?(?:messages|msgs|texts|sms)",
        r"(?:will\s+not|won['’]t|will\s+no\s+longer|no\s+longer)\s+(?:receive|get|be\s+sent|be\s+texted)",
        r"(?:will\s+not|won['’]t)\s+(?:text|message)\s+you",
        r"unsubscribed",
        r"opted\s+out",
    ),
}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"https?://\S+|(?<![\w@])www\.[\w-]+\.\S+"
    r"|(?<![\w@.-])[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|shop|store|co|us|io|biz|info|app|site)(?![\w-])",
    _I,
)

_PROMOTIONAL = _words(
    r"(?<!toll-)(?<!toll )free",
    r"discount(?:s|ed)?",
    r"\d+(?:\.\d+)?\s*%\s*off",
    r"%\s*off",
    r"\d+\s*percent\s+off",
    r"half\s+off",
    r"sales?",
    r"deals?",
    r"offers?",
    r"coupons?",
    r"promos?",
    r"bogo",
    r"\d+(?:\.\d{1,2})?\s*(?:dollars?|bucks|usd|cents?)",  # 5 dollars, 99 cents
)
# $5, $5.99, US$5, €10: a currency sign is never part of a word, so no
# word boundaries here.
_PRICE = re.compile(r"[$€£]\s?\d+(?:[.,]\d{1,2})?")

_REGULATED = _words(
    r"cannabis",
    r"marijuana",
    r"weeds?",
    r"thc",
    r"cbd",
    r"dispensar(?:y|ies)",
    r"(?<!\d[-.\s])420(?![-.\s]?\d)",
    r"vapes?|vaping",
    r"alcohol",
    r"beers?",
    r"wines?",
    r"liquors?",
    r"tobacco",
    r"cigarettes?",
    r"firearms?",
    r"guns?",
)

_SHORTENERS = (
    "bit.ly",
    "tinyurl.com",
    "goo.gl",
    "t.co",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
)
_SHORTENER = re.compile(r"(?<![\w-])(" + "|".join(re.escape(d) for d in _SHORTENERS) + r")(?![\w-])", _I)

_SAMPLE_VALUES = {
    "first_name": "Alexandra",
    "join_number": "(415) 555-0100",
    "help_contact": "(415) 555-0100",
}

_FORMATTER = string.Formatter()


def _kind_word(kind: object) -> str:
    word = getattr(kind, "value", kind)
    if word not in REQUIREMENTS:
        raise ValueError(f"unknown template kind {kind!r}; expected one of {', '.join(TEMPLATE_KINDS)}")
    return word


def _parse(text: str) -> tuple[list[str], str]:
    """(placeholder names in order, distinct; the literal text with each
    placeholder replaced by a space). Raises ValueError when malformed."""
    names: list[str] = []
    literal: list[str] = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        raise ValueError("every { needs a matching } (placeholders look like {brand})") from None
    for text_part, name, spec, conversion in parsed:
        literal.append(text_part)
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"write {{{name}}} with nothing else inside the braces")
        if name not in names:
            names.append(name)
        literal.append(" ")
    return names, "".join(literal)


def placeholders_in(text: str) -> list[str]:
    """The placeholder names used in ``text`` (distinct, in order of appearance).

    Raises ``ValueError`` for a malformed template (an unbalanced ``{`` or ``}``,
    or a format spec such as ``{brand:>10}``); ``check`` reports that as the
    ``malformed_placeholder`` error."""
    return _parse(text or "")[0]


def sample_render(text: str, *, brand: str | None, values: dict[str, str] | None = None) -> str:
    """``text`` with its placeholders filled with ``brand`` and sample values
    (``values`` overrides them, e.g. the shop's real join number and contact),
    for previewing length and encoding. Unparseable text is returned unchanged."""
    try:
        names, _ = _parse(text or "")
    except ValueError:
        return text or ""
    if any(name not in PLACEHOLDERS for name in names):
        return text
    filled = {**_SAMPLE_VALUES, **{k: v for k, v in (values or {}).items() if k in _SAMPLE_VALUES}}
    return text.format(brand=(brand or "").strip() or "Shop", **filled)


def _brand_pattern(brand: str | None) -> re.Pattern[str] | None:
    brand = " ".join((brand or "").split())
    if not brand:
        return None
    body = r"\s+".join(re.escape(part) for part in brand.split(" "))
    return re.compile(r"(?<!\w)" + body + r"(?!\w)", _I)


def _has_contact(text: str) -> bool:
    if _EMAIL.search(text) or _URL.search(text):
        return True
    matcher = phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE)
    return matcher.has_next()


def has_contact(text: str) -> bool:
    """True when ``text`` holds a phone number, an email address or a website."""
    return _has_contact(text or "")


def _shown(ch: str) -> str:
    return ch if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def _found(pattern: re.Pattern[str], text: str) -> list[str]:
    """Distinct matches (case-insensitively), in order, as written in ``text``."""
    seen: dict[str, str] = {}
    for match in pattern.finditer(text):
        seen.setdefault(match.group(0).casefold(), " ".join(match.group(0).split()))
    return list(seen.values())


def check(kind: object, text: str | None, *, brand: str | None, values: dict[str, str] | None = None) -> list[Finding]:
    """Every problem with template ``text`` of ``kind`` for shop ``brand``.

    ``kind`` is a MessageKind or its value. Errors block saving; see ``errors``.
    ``values`` (first_name, join_number, help_contact) fill the placeholders when
    the cost warnings count the text as sent; sample values otherwise.
    """
    word = _kind_word(kind)
    text = text or ""
    if not text.strip():
        return [Finding(Level.error, "empty", "Write the message; it can't be blank.")]

    findings: list[Finding] = []

    def error(code: str, message: str) -> None:
        findings.append(Finding(Level.error, code, message))

    if len(text) > MAX_LENGTH:
        error("too_long", f"Shorten the message to {MAX_LENGTH:,} characters or fewer (it has {len(text):,}).")

    try:
        names, literal = _parse(text)
    except ValueError as exc:
        names, literal = [], text
        error(
            "malformed_placeholder",
            f"Fix the curly braces: {exc}.",
        )
    allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    for name in names:
        if name not in PLACEHOLDERS:
            error("unknown_placeholder", f"Remove {{{name}}}: the placeholders you can use are {allowed}.")

    brand_re = _brand_pattern(brand)
    for requirement in REQUIREMENTS[word]:
        if requirement == "brand":
            ok = "brand" in names or bool(brand_re and brand_re.search(literal))
        elif requirement == "support_contact":
            ok = "help_contact" in names or _has_contact(literal)
        else:
            ok = bool(_REQUIRED_PATTERNS[requirement].search(literal))
        if not ok:
            error(requirement, _MISSING[requirement])

    # Content rules; the shop's own name is not held against it.
    content = brand_re.sub(" ", literal) if brand_re else literal
    if word in ("opt_in_request", "opt_out_confirmation"):
        promo = _found(_PROMOTIONAL, content) + _found(_PRICE, content)
        why = (
            "carriers filter opt-in requests that contain offers or prices"
            if word == "opt_in_request"
            else "an opt-out confirmation must carry no marketing"
        )
        for found in promo:
            error("promotional", f'Remove "{found}": {why}.')
    if word == "opt_in_request":
        findings.extend(_filtered(content, promotional=False))

    # Cost warnings, on the text as it would be sent.
    rendered = sample_render(text, brand=brand, values=values)
    counted = _segments.count(rendered)
    if counted.segments > MAX_SEGMENTS:
        findings.append(
            Finding(
                Level.warning,
                "long",
                f"This text is {counted.segments} segments, each billed as a message; shorten it to {MAX_SEGMENTS} or fewer.",
            )
        )
    if counted.encoding == _segments.UCS2:
        chars = " ".join(_shown(ch) for ch in counted.non_gsm)
        findings.append(
            Finding(
                Level.warning,
                "ucs2",
                f"These characters make it a UCS-2 text (70 characters per segment instead of 160): {chars}.",
            )
        )
    return findings


def _filtered(text: str, *, promotional: bool = True, value: str = "") -> list[Finding]:
    """The content carriers filter in an opt-in request: offers and prices (when ``promotional``),
    regulated-industry words and public link shorteners. ``value`` ("the brand name") tells the owner
    which setting to change when the text is not the template itself."""
    out: list[Finding] = []
    source = f" from {value}" if value else ""
    if promotional:
        which = "texts" if value else "opt-in requests"
        for found in _found(_PROMOTIONAL, text) + _found(_PRICE, text):
            out.append(
                Finding(
                    Level.error,
                    "promotional",
                    f'Remove "{found}"{source}: carriers filter {which} that contain offers or prices.',
                )
            )
    for found in _found(_REGULATED, text):
        out.append(
            Finding(
                Level.error,
                "regulated",
                f'Remove "{found}"{source}: carriers filter texts that mention cannabis, vaping, alcohol, '
                f"tobacco or firearms.",
            )
        )
    for found in _found(_SHORTENER, text):
        out.append(
            Finding(
                Level.error,
                "link_shortener",
                f"Replace the {found} link{f' in {value}' if value else ''} with your own website's full "
                f"address: carriers block public link shorteners.",
            )
        )
    return out


#: The values the shop types that templates put into every text: {brand} and {help_contact}.
VALUE_LABELS = {"brand": "the brand name", "help_contact": "the support contact"}


def check_value(field: str, text: str | None) -> list[Finding]:
    """Errors for a value placed into templates (``brand`` or ``help_contact``): the same content rules as
    the opt-in request, since the brand opens it and the contact may be placed into any template.
    (The template check does not hold the shop's own name against a template, so it is checked here.)"""
    return _filtered(text or "", value=VALUE_LABELS.get(field, field))


def errors(findings: list[Finding]) -> list[Finding]:
    """Only the findings that block saving."""
    return [finding for finding in findings if finding.level is Level.error]


_POST_OPT_IN_TAIL = "Msg frequency varies. Msg & data rates may apply. Reply HELP for help, STOP to opt out."

#: Compliant defaults for each kind (pass ``check`` for any brand; <= 2 GSM-7 segments).
DEFAULT_TEMPLATES: dict[str, str] = {
    "opt_in_request": (
        "{brand}: Reply Y or YES to join our text list for store news and updates. " + _POST_OPT_IN_TAIL
    ),
    "opt_in_confirmation": "Hi {first_name}, you're subscribed to {brand} texts. " + _POST_OPT_IN_TAIL,
    "opt_out_confirmation": ("{brand}: You're unsubscribed and will receive no more messages. Reply START to rejoin."),
    "resubscribe_confirmation": "Hi {first_name}, welcome back! You're subscribed to {brand} texts again. "
    + _POST_OPT_IN_TAIL,
    "help_reply": (
        "{brand}: For help, contact {help_contact}. Msg frequency varies. "
        "Msg & data rates may apply. Reply STOP to opt out."
    ),
}
