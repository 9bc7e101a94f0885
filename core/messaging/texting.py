"""Texting Defaults (rulebook §5): the shop's templates, numbers and quiet hours."""

from __future__ import annotations

import datetime as dt
import string
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlmodel import Session

from core.messaging import compliance
from core import phones
from core.db import run_write
from core.models import Customer, MessageKind, TextingDefaults, utcnow
from core.text import clean_text
from core.errors import OwnerError
from core import activity
from core.staff.roles import Actor, allow

TEMPLATE_FIELDS = tuple(k.value for k in MessageKind if k.templated)
DEFAULT_MAIN_NUMBER = "+14155550100"
DEFAULT_JOIN_NUMBER = "+14155550142"
DEFAULT_BRAND = "Green Leaf Goods"
DEFAULT_HELP_CONTACT = "support@greenleafgoods.example"

EDITABLE = (
    "brand",
    *TEMPLATE_FIELDS,
    "help_contact",
    "main_number",
    "join_number",
    "join_keyword",
    "window_start",
    "window_end",
    "timezone",
    "default_region",
    "max_opt_in_requests",
    "base_url",
    "extra_opt_out_words",
    "extra_help_words",
    "confirm_recorded_opt_outs",
)
EXTRA_WORD_FIELDS = {"extra_opt_out_words": "OPT_OUT", "extra_help_words": "HELP"}


class InvalidSetting(OwnerError):
    """A texting default the owner typed cannot be saved; `field` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(message, field)


class TemplateError(InvalidSetting):
    """A template fails the compliance check; `findings` lists what to fix."""

    def __init__(self, field: str, findings: list[compliance.Finding]):
        text = " ".join(f.message for f in findings)
        super().__init__(field, f"{MessageKind(field).label}: {text}")
        self.findings = findings


def default_template(kind: str | MessageKind) -> str:
    return compliance.DEFAULT_TEMPLATES[MessageKind(kind).value]


def ensure_defaults(session: Session) -> TextingDefaults:
    """The single settings row, created with compliant defaults when missing (no commit)."""
    row = session.get(TextingDefaults, 1)
    if row is None:
        row = TextingDefaults(
            id=1,
            brand=DEFAULT_BRAND,
            help_contact=DEFAULT_HELP_CONTACT,
            main_number=DEFAULT_MAIN_NUMBER,
            join_number=DEFAULT_JOIN_NUMBER,
            **{k: default_template(k) for k in TEMPLATE_FIELDS},
        )
        session.add(row)
        session.flush()
    return row


def get_defaults(session: Session) -> TextingDefaults:
    row = session.get(TextingDefaults, 1)
    if row is None:
        row = run_write(session, lambda: ensure_defaults(session))
        row = session.get(TextingDefaults, 1)
    return row


def _check_value(field: str, value: str) -> None:
    """A value placed into templates passes the template's content rules (compliance.check_value)."""
    found = compliance.check_value(field, value)
    if found:
        raise InvalidSetting(field, " ".join(f.message for f in found))


def _validate(field: str, value: Any, current: dict[str, Any]) -> Any:
    if field == "brand":
        value = clean_text(value)
        if not value:
            raise InvalidSetting(field, "The brand name cannot be empty: every text starts with it.")
        if len(value) > 60:
            raise InvalidSetting(field, "Keep the brand name to 60 characters or fewer.")
        _check_value(field, value)
        return value
    if field in TEMPLATE_FIELDS:
        value = (value or "").replace("\x00", "").strip()
        findings = compliance.errors(compliance.check(field, value, brand=current["brand"]))
        if findings:
            raise TemplateError(field, findings)
        return value
    if field == "help_contact":
        value = (value or "").replace("\x00", "").strip()
        if not value:
            raise InvalidSetting(field, "Give a support contact (an email, phone or web address) for HELP replies.")
        if len(value) > 120:
            raise InvalidSetting(field, "Keep the support contact to 120 characters or fewer.")
        _check_value(field, value)
        if not compliance.has_contact(value):  # the help reply must give a way to reach the shop
            raise InvalidSetting(field, "The support contact must be a phone number, an email or a website.")
        return value
    if field in ("main_number", "join_number"):
        label = "Main number" if field == "main_number" else "Text To Join number"
        if not str(value or "").strip():
            which = "main number" if field == "main_number" else "Text To Join number"
            raise InvalidSetting(field, f"Enter the {which}: it cannot be blank.")
        try:
            return phones.normalize(value, current.get("default_region") or "US")
        except phones.InvalidPhone as exc:
            raise InvalidSetting(field, f"{label}: {exc.reason}.") from None
    if field == "join_keyword":
        value = (value or "").strip().upper()
        if not value or not value.replace("-", "").isalnum() or len(value) > 20:
            raise InvalidSetting(field, "The join keyword is one word of letters and digits, e.g. JOIN.")
        from core.consent.keywords import Keyword, classify

        if classify(value) is not Keyword.NONE:
            raise InvalidSetting(field, f"{value} is a reserved keyword (STOP, START, YES, HELP, ...); pick another.")
        return value
    if field in ("window_start", "window_end"):
        if isinstance(value, str):
            try:
                value = dt.time.fromisoformat(value)
            except ValueError:
                raise InvalidSetting(field, "Times are written like 08:00 or 20:30.") from None
        if not isinstance(value, dt.time):
            raise InvalidSetting(field, "Times are written like 08:00 or 20:30.")
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if field == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidSetting(field, f"{value!r} is not a time zone; pick one like America/Los_Angeles.") from None
        return value
    if field == "default_region":
        value = (value or "").strip().upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidSetting(field, f"{value!r} is not a country code phone numbers know (e.g. US, CA, GB).")
        return value
    if field == "max_opt_in_requests":
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise InvalidSetting(field, "The request limit is a whole number.") from None
        if not 1 <= value <= 5:
            raise InvalidSetting(field, "Allow between 1 and 5 opt-in requests per phone.")
        return value
    if field in EXTRA_WORD_FIELDS:  # §10: only words of keywords.EXTRA_CHOICES; the FCC words are fixed
        from core.consent.keywords import EXTRA_CHOICES, Keyword, normalize_body

        keyword = Keyword[EXTRA_WORD_FIELDS[field]]
        words = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
        allowed = EXTRA_CHOICES[keyword]
        unknown = [str(w) for w in words if normalize_body(w) not in allowed]
        if unknown:
            raise InvalidSetting(field, f"{', '.join(unknown)} can't be added; choose from {', '.join(allowed)}.")
        chosen = {normalize_body(w) for w in words}
        return " ".join(w for w in allowed if w in chosen)
    if field == "confirm_recorded_opt_outs":
        return bool(value)
    if field == "base_url":
        value = (value or "").strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise InvalidSetting(field, "The public address starts with https:// (or http://).")
        return value
    raise InvalidSetting(field, f"{field} is not a texting default.")


def problems(session: Session, **changes: Any) -> dict[str, InvalidSetting]:
    """Every problem with `changes` at once, by field, in the order validate_changes meets them
    (empty when update_defaults would accept them). Saves nothing."""
    return _check_changes(session, changes)[1]


def _check_changes(session: Session, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, InvalidSetting]]:
    row = get_defaults(session)
    current = {k: getattr(row, k) for k in EDITABLE}
    found: dict[str, InvalidSetting] = {}

    def note(exc: InvalidSetting) -> None:
        found.setdefault(exc.field, exc)

    # brand and region first: templates and numbers are checked against them
    order = sorted(changes, key=lambda k: (k not in ("brand", "default_region"), k))
    clean: dict[str, Any] = {}
    for field in order:
        try:
            clean[field] = _validate(field, changes[field], {**current, **clean})
        except InvalidSetting as exc:
            note(exc)
    if "brand" in clean:  # the unchanged templates must still pass with the new brand
        for field in TEMPLATE_FIELDS:
            if field not in changes:
                try:
                    _validate(field, current[field], {**current, **clean})
                except InvalidSetting as exc:
                    note(exc)
    ws = clean.get("window_start", current["window_start"])
    we = clean.get("window_end", current["window_end"])
    if ws == we:
        note(InvalidSetting("window_end", "The sending window cannot start and end at the same time."))
    elif we < ws:  # rulebook §9: every state's window lies within one day, so the shop's does too
        note(
            InvalidSetting(
                "window_end",
                f"The window must end after it starts: {ws:%H:%M} until {we:%H:%M} would "
                "run overnight, and no state allows texts at night. Pick an end "
                "later than the start, e.g. 20:00.",
            )
        )
    keyword = clean.get("join_keyword", current["join_keyword"])
    for field in EXTRA_WORD_FIELDS:
        if keyword and keyword in str(clean.get(field, current[field]) or "").split():
            note(
                InvalidSetting(
                    "join_keyword", f"{keyword} is one of your extra opt-out or help words; pick another join keyword."
                )
            )
    main = clean.get("main_number", current["main_number"])
    join = clean.get("join_number", current["join_number"])
    if main and main == join:
        note(InvalidSetting("join_number", "The Text To Join number must differ from the main number."))
    return clean, found


def validate_changes(session: Session, **changes: Any) -> dict[str, Any]:
    """Check every change (templates against the new brand); raise the first problem."""
    clean, found = _check_changes(session, changes)
    if found:
        raise next(iter(found.values()))
    return clean


def update_defaults(session: Session, *, by: Optional[Actor] = None, **changes: Any) -> TextingDefaults:
    """Validate all changes, then save them together (nothing is saved if one fails)."""
    by = allow(session, by, "change_templates")
    clean = validate_changes(session, **changes)

    def write() -> None:
        row = get_defaults(session)
        changed = [field for field, value in clean.items() if getattr(row, field) != value]
        for field, value in clean.items():
            setattr(row, field, value)
        row.updated_at = utcnow()
        session.add(row)
        if changed:
            activity.record(
                session,
                by,
                activity.Kind.template,
                "Changed the texting defaults: " + ", ".join(FIELD_WORDS.get(f, f.replace("_", " ")) for f in changed),
            )

    run_write(session, write)
    return get_defaults(session)


FIELD_WORDS = {
    "opt_in_request": "opt-in request template",
    "opt_in_confirmation": "post opt-in confirmation template",
    "opt_out_confirmation": "opt-out confirmation template",
    "resubscribe_confirmation": "resubscribe confirmation template",
    "help_reply": "help reply template",
    "window_start": "sending window start",
    "window_end": "sending window end",
    "base_url": "public address",
    "max_opt_in_requests": "opt-in request limit",
}


def is_overnight(row: TextingDefaults) -> bool:
    """An overnight window saved by an older version (new ones are refused; windows.allowed_hours still
    reads it as two intervals)."""
    return row.window_end < row.window_start


def _fill(template: str, values: dict[str, str]) -> str:
    out = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if field is not None:
            out.append(values.get(field, "{" + field + "}"))
    return "".join(out)


def render(
    kind: str | MessageKind,
    customer: Optional[Customer],
    defaults: Optional[TextingDefaults] = None,
    *,
    session: Optional[Session] = None,
    template: Optional[str] = None,
) -> str:
    """The text of a message of `kind` for `customer`, placeholders filled."""
    if defaults is None:
        if session is None:
            raise ValueError("render needs the texting defaults or a session")
        defaults = get_defaults(session)
    kind = MessageKind(kind)
    body = template if template is not None else getattr(defaults, kind.value)
    first = (customer.first_name.strip() if customer and customer.first_name else "") or "there"
    values = {
        "brand": defaults.brand,
        "first_name": first,
        "join_number": phones.format_display(defaults.join_number, defaults.default_region),
        "help_contact": defaults.help_contact,
    }
    return _fill(body, values)


def shop_number(defaults: TextingDefaults, which: str) -> str:
    return defaults.join_number if which == "join" else defaults.main_number


def which_number(defaults: TextingDefaults, to: Optional[str]) -> str:
    """'join' when `to` is the Text To Join number, else 'main'."""
    if not to:
        return "main"
    try:
        e164 = phones.normalize(to, defaults.default_region)
    except phones.InvalidPhone:
        return "main"
    return "join" if e164 == defaults.join_number else "main"
