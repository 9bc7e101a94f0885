"""Phone numbers: messy input in, E.164 out (rulebook §1).

Pure functions, no I/O. Parsing and validity are ``phonenumbers``'s job; this
module only cleans up what spreadsheets and POS exports do to numbers
(leading apostrophes, ``4158675309.0``, ``1.4158675309E+10``, NUL bytes) and
turns the library's errors into reasons a shop owner understands.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from numbers import Integral, Real

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

from core.errors import OwnerError

__all__ = [
    "InvalidPhone",
    "NotAMobile",
    "normalize",
    "normalize_mobile",
    "not_mobile",
    "format_display",
    "time_zones",
    "redact",
    "MAX_INPUT_LENGTH",
]

#: Longer input is rejected before parsing (no phone number, even with an
#: extension and punctuation, is this long).
MAX_INPUT_LENGTH = 64

_SUPPORTED_REGIONS = phonenumbers.SUPPORTED_REGIONS


def redact(phone: object) -> str:
    """A phone number as a log line may show it: its last 4 digits only ("…0123"), whatever was typed."""
    digits = [ch for ch in str(phone or "") if ch.isdigit()]
    return "…" + "".join(digits[-4:]) if len(digits) >= 4 else "…"


_E164 = PhoneNumberFormat.E164
_NATIONAL = PhoneNumberFormat.NATIONAL
_INTERNATIONAL = PhoneNumberFormat.INTERNATIONAL

_TOO_FEW = "too few digits"
_TOO_MANY = "too many digits"
_NOT_A_NUMBER = "not a phone number"
_EMPTY = "empty"
_TOO_LONG_INPUT = "too long to be a phone number"
_EXCEL_SHORTENED = "shortened by Excel (scientific notation): export the phone column as text"

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "not a valid country code",
    NumberParseException.NOT_A_NUMBER: _NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: _TOO_FEW,
    NumberParseException.TOO_SHORT_NSN: _TOO_FEW,
    NumberParseException.TOO_LONG: _TOO_MANY,
}

_POSSIBLE_REASONS = {
    # A 7-digit US number is "possible" only locally: the area code is missing.
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: _TOO_FEW,
    ValidationResult.INVALID_COUNTRY_CODE: "not a valid country code",
    ValidationResult.TOO_SHORT: _TOO_FEW,
    ValidationResult.TOO_LONG: _TOO_MANY,
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
}


class InvalidPhone(OwnerError):
    """A value that is not a usable phone number; ``reason`` says why, in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _digits_from_number(raw: object) -> str:
    """A numeric cell (int, float, Decimal) as a string of digits."""
    if isinstance(raw, Decimal):
        if raw.is_nan():
            raise InvalidPhone(_EMPTY)
        if not raw.is_finite() or raw != raw.to_integral_value() or raw < 0:
            raise InvalidPhone(_NOT_A_NUMBER)
        if raw.adjusted() > 20:
            raise InvalidPhone(_TOO_MANY)
        return str(int(raw))
    if isinstance(raw, Integral):
        if raw < 0:
            raise InvalidPhone(_NOT_A_NUMBER)
        return str(int(raw))
    value = float(raw)  # Real
    if math.isnan(value):  # a blank spreadsheet cell read by pandas
        raise InvalidPhone(_EMPTY)
    if not math.isfinite(value) or not value.is_integer() or value < 0:
        raise InvalidPhone(_NOT_A_NUMBER)
    if value >= 1e21:
        raise InvalidPhone(_TOO_MANY)
    return str(int(value))


def _unexcel(text: str) -> str:
    """Undo what Excel does to a number typed into a General cell.

    ``4158675309.0`` -> ``4158675309``; ``1.4158675309E+10`` -> ``14158675309``.
    Anything else is returned unchanged for phonenumbers to parse.
    """
    if "e" in text or "E" in text:
        if not ("0" <= text[0] <= "9"):
            return text  # "ext. 12" and friends: not a float
        try:
            value = Decimal(text)
        except InvalidOperation:
            return text
        if not value.is_finite() or value.adjusted() > 20:
            raise InvalidPhone(_TOO_MANY if value.is_finite() else _NOT_A_NUMBER)
        if value != value.to_integral_value():
            raise InvalidPhone(_NOT_A_NUMBER)
        if value.as_tuple().exponent > 0:
            # "1.41587E+10": the trailing digits were lost, not zeros.
            raise InvalidPhone(_EXCEL_SHORTENED)
        return str(int(value))
    if text.endswith("0") and text.count(".") == 1:
        whole, _, frac = text.partition(".")
        if whole.lstrip("+").isdecimal() and frac.strip("0") == "":
            return whole
    return text


def normalize(raw: object, region: str = "US") -> str:
    """Return ``raw`` as an E.164 string (``+14158675309``) or raise :class:`InvalidPhone`.

    ``region`` (ISO 3166, e.g. "US", "GB") is the shop's default region, used
    for numbers written without a country code. Extensions are dropped.
    """
    if region not in _SUPPORTED_REGIONS:
        upper = region.upper() if isinstance(region, str) else region
        if upper not in _SUPPORTED_REGIONS:
            raise InvalidPhone(f"unknown region {region}")
        region = upper

    if isinstance(raw, str):
        text = raw
    elif raw is None:
        raise InvalidPhone(_EMPTY)
    elif isinstance(raw, bool):
        raise InvalidPhone(_NOT_A_NUMBER)
    elif isinstance(raw, (Decimal, Real)):
        text = _digits_from_number(raw)
    elif isinstance(raw, bytes):
        text = raw.decode("utf-8", "replace")
    else:
        text = str(raw)

    if "\x00" in text:
        text = text.replace("\x00", "")
    text = text.strip()
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhone(_TOO_LONG_INPUT)
    if text[:1] == "'":  # Excel's "store as text" prefix
        text = text.lstrip("'").strip()
    if not text:
        raise InvalidPhone(_EMPTY)
    text = _unexcel(text)

    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone(_PARSE_REASONS.get(exc.error_type, _NOT_A_NUMBER)) from None

    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        raise InvalidPhone(_POSSIBLE_REASONS.get(possible, _NOT_A_NUMBER))
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_country_code(number.country_code)
        if where in (None, phonenumbers.UNKNOWN_REGION, "001"):
            where = region
        raise InvalidPhone(f"not a valid number in {where}")
    return phonenumbers.format_number(number, _E164)


# --- Numbers that cannot be a customer's mobile -------------------------------------------------

#: Number types refused wherever a customer's number comes in (sign-up form, Add a customer, Text To Join,
#: import): a text to them costs the shop (premium rate, shared cost) or reaches no person's phone. Kept:
#: MOBILE, FIXED_LINE_OR_MOBILE (most US/Canada numbers), FIXED_LINE (text-enabled landlines exist and cost
#: no more), VOIP, and UNKNOWN (normalize has already found the number valid; no pattern says it is costly).
_NOT_MOBILE = {
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.VOICEMAIL: "voicemail access",
    PhoneNumberType.UAN: "company switchboard (UAN)",
    PhoneNumberType.PAGER: "pager",
    # "personal numbers" forward calls elsewhere: UK 070 (charged like premium rate, a known scam
    # route), US/Canada 5XX non-geographic codes (machine-to-machine)
    PhoneNumberType.PERSONAL_NUMBER: "personal forwarding",
}


class NotAMobile(InvalidPhone):
    """A valid number of a kind no customer texts from (premium rate, toll free, ...); ``kind`` names it."""

    def __init__(self, kind: str):
        super().__init__(f"{kind} number, not a mobile")
        self.kind = kind
        self.sentence = f"That looks like a {kind} number; enter a mobile number."


def _nanp_refused_pattern():
    """Every refused-type pattern of every +1 region, as one regex on the ten national digits: a number no
    pattern matches cannot be of a refused type, so most US/Canada numbers skip number_type entirely."""
    from phonenumbers.phonemetadata import PhoneMetadata

    parts = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(1, ()):
        meta = PhoneMetadata.metadata_for_region(region)
        for attr in ("premium_rate", "shared_cost", "toll_free", "voicemail", "uan", "pager", "personal_number"):
            desc = getattr(meta, attr, None) if meta is not None else None
            if desc is not None and desc.national_number_pattern:
                parts.append(f"(?:{desc.national_number_pattern})")
    return re.compile("|".join(parts) or "(?!)")


_NANP_REFUSED = _nanp_refused_pattern()


def not_mobile(number: object) -> "str | None":
    """The kind of a valid number that cannot be a customer's mobile ("premium-rate", "toll-free", ...), or None.

    ``number`` is an E.164 string or a parsed ``phonenumbers.PhoneNumber``. Cheap: US/Canada numbers are
    matched against one precompiled pattern first; only the few that match it are typed fully."""
    if isinstance(number, str):
        if number.startswith("+1") and len(number) == 12:
            if not _NANP_REFUSED.fullmatch(number[2:]):
                return None
        try:
            number = phonenumbers.parse(number, None)
        except NumberParseException:
            return None
    elif number.country_code == 1 and not _NANP_REFUSED.fullmatch(str(number.national_number)):
        return None
    return _NOT_MOBILE.get(phonenumbers.number_type(number))


def normalize_mobile(raw: object, region: str = "US") -> str:
    """:func:`normalize`, refusing numbers that cannot be a customer's mobile (:class:`NotAMobile`).

    Use it wherever a customer's own number comes in; the shop's numbers (often toll free) and inbound
    senders use plain :func:`normalize`."""
    e164 = normalize(raw, region)
    kind = not_mobile(e164)
    if kind:
        raise NotAMobile(kind)
    return e164


def format_display(e164: str, region: str = "US") -> str:
    """How a number is shown: national format for numbers of ``region``
    ("(415) 867-5309"), international otherwise ("+44 20 7946 0958").
    Input that does not parse is returned unchanged."""
    if not isinstance(e164, str) or not e164:
        return e164
    try:
        number = phonenumbers.parse(e164, region if region in _SUPPORTED_REGIONS else None)
    except NumberParseException:
        return e164
    own = phonenumbers.region_code_for_number(number) == region
    return phonenumbers.format_number(number, _NATIONAL if own else _INTERNATIONAL)


def time_zones(e164: str) -> list[str]:
    """Every IANA time zone the number may be in (empty when unknown)."""
    from phonenumbers import timezone as _timezone  # loads its data on first use

    try:
        number = phonenumbers.parse(e164, None)
    except (NumberParseException, TypeError):
        return []
    return [tz for tz in _timezone.time_zones_for_number(number) if tz != "Etc/Unknown"]
