"""What the Texting Defaults page shows while the owner edits (rulebook §4, §5).

Plain functions, no Streamlit: the form's values from the saved settings, a
template's live check (findings, encoding, segments, preview for a sample
customer), the quiet-hours sentence, the choices of the select boxes and the
state of the queue. Saving is core.texting.update_defaults.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Optional
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from sqlmodel import Session

from core.messaging import compliance, outbox, segments, texting
from core import phones
from core.clock import as_utc, shop_time
from core.models import Customer, MessageKind, TextingDefaults
from core.staff.roles import Actor

__all__ = [
    "SAMPLE_FIRST_NAME",
    "FIELDS",
    "FIELD_LABELS",
    "PLACEHOLDER_HELP",
    "TemplateCheck",
    "forcing_characters",
    "form_values",
    "check_template",
    "window_sentence",
    "timezone_options",
    "region_options",
    "region_label",
    "QueueState",
    "queue_state",
    "form_problems",
    "fix_before_saving",
    "save",
    "released_sentence",
]

SAMPLE_FIRST_NAME = "Jamie"

#: The settings the page edits, in the order it shows them.
FIELDS = (
    "brand",
    "help_contact",
    *texting.TEMPLATE_FIELDS,
    "main_number",
    "default_region",
    "max_opt_in_requests",
    "join_number",
    "join_keyword",
    "window_start",
    "window_end",
    "timezone",
    "extra_opt_out_words",
    "extra_help_words",
    "confirm_recorded_opt_outs",
)

#: How the page names each setting (in error summaries too).
FIELD_LABELS = {
    "brand": "Brand",
    "help_contact": "Support contact",
    **{kind.value: kind.label for kind in MessageKind if kind.templated},
    "main_number": "Main number",
    "default_region": "Default phone region",
    "max_opt_in_requests": "Maximum opt-in requests per phone",
    "join_number": "Text To Join number",
    "join_keyword": "Keyword customers text",
    "window_start": "Texts may go out from",
    "window_end": "Until",
    "timezone": "Shop's time zone",
    "extra_opt_out_words": "Extra opt-out words",
    "extra_help_words": "Extra help words",
    "confirm_recorded_opt_outs": "Text a confirmation after an opt-out you record",
}

#: What each placeholder becomes, for the list on the page.
PLACEHOLDER_HELP = {
    "brand": "your brand name",
    "first_name": 'the customer\'s first name ("there" when unknown)',
    "join_number": "your Text To Join number",
    "help_contact": "your support contact",
}

US_TIME_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)


def form_values(defaults: TextingDefaults) -> dict[str, Any]:
    """The saved settings as the form shows them (numbers written the way people read them)."""
    values = {name: getattr(defaults, name) for name in FIELDS}
    for name in ("main_number", "join_number"):
        values[name] = phones.format_display(values[name], defaults.default_region) if values[name] else ""
    for name in texting.EXTRA_WORD_FIELDS:  # a list, as the multiselect holds it
        values[name] = (values[name] or "").split()
    values["confirm_recorded_opt_outs"] = bool(values["confirm_recorded_opt_outs"])
    return values


@dataclass(frozen=True)
class TemplateCheck:
    """A template as typed: what the sample customer would receive, its cost, and what to fix."""

    preview: str
    count: segments.SegmentCount
    findings: list[compliance.Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[compliance.Finding]:
        return compliance.errors(self.findings)

    @property
    def warnings(self) -> list[compliance.Finding]:
        return [f for f in self.findings if f.level is compliance.Level.warning]

    @property
    def cost(self) -> str:
        """'GSM-7 · 152 of 160 characters · 1 segment' and the like."""
        c = self.count
        if c.segments <= 1:
            single = 160 if c.encoding == segments.GSM7 else 70
            room = f"{c.units} of {single} units"
        else:
            room = f"{c.units} units"
        return f"{c.encoding} · {room} · {c.segments} segment{'s' if c.segments != 1 else ''}"


def _shown(ch: str) -> str:
    return ch if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def forcing_characters(check: TemplateCheck) -> str:
    """The characters that forced UCS-2, readable ('' for GSM-7)."""
    return " ".join(_shown(ch) for ch in check.count.non_gsm)


def check_template(
    kind: MessageKind | str,
    template: Optional[str],
    *,
    brand: str,
    help_contact: str = "",
    join_number: str = "",
    region: str = "US",
    first_name: str = SAMPLE_FIRST_NAME,
) -> TemplateCheck:
    """Check `template` as typed against the brand as typed; preview it for `first_name`.

    The preview, the segment count and the cost warnings all count the same text:
    the one the sample customer would receive with the shop's own values filled in.
    """
    kind = MessageKind(kind)
    template = template or ""
    brand = (brand or "").strip()
    region = region if region in phonenumbers.SUPPORTED_REGIONS else "US"
    try:
        join_e164 = phones.normalize(join_number, region) if join_number else ""
    except phones.InvalidPhone:
        join_e164 = join_number
    shop = SimpleNamespace(
        brand=brand or "Shop", help_contact=(help_contact or "").strip(), join_number=join_e164, default_region=region
    )
    try:
        preview = texting.render(kind, Customer(first_name=first_name, phone=""), shop, template=template)
    except ValueError:  # unbalanced braces: the finding says so; show the text as typed
        preview = template
    values = {
        "first_name": first_name,
        "join_number": phones.format_display(join_e164, region) if join_e164 else "",
        "help_contact": shop.help_contact,
    }
    findings = compliance.check(kind, template, brand=brand, values={k: v for k, v in values.items() if v})
    return TemplateCheck(preview=preview, count=segments.count(preview), findings=findings)


def _hm(t: dt.time) -> str:
    return t.strftime("%H:%M")


def window_sentence(start: dt.time, end: dt.time, timezone: str) -> str:
    """What the sending window means, in plain words ('' when it ends at or before its start: that is
    refused beside the field, rulebook §9)."""
    if end <= start:
        return ""
    return (
        f"Quiet hours: texts the shop starts in bulk wait until {_hm(start)} when it is between "
        f"{_hm(end)} and {_hm(start)} for the customer ({timezone} time when neither their zip code nor their "
        "number shows a time zone). The shop starts: POS sync, imports, resends and the Send opt-in request "
        "button; replies to a customer's own text or form go at once. Your hours only ever narrow the window "
        "of the customer's state, below."
    )


def timezone_options(current: str = "") -> list[str]:
    """Every IANA time zone, the main US zones first."""
    rest = sorted(z for z in available_timezones() if z not in US_TIME_ZONES and not z.startswith(("Etc/", "SystemV/")))
    options = [*US_TIME_ZONES, *rest]
    if current and current not in options:
        options.insert(0, current)
    return options


def region_options() -> list[str]:
    """Phone regions (two-letter country codes), US and Canada first."""
    first = ["US", "CA"]
    return first + sorted(r for r in phonenumbers.SUPPORTED_REGIONS if r not in first)


def region_label(code: str) -> str:
    return f"{code} (+{phonenumbers.country_code_for_region(code)})"


@dataclass(frozen=True)
class QueueState:
    queued: int
    due: int
    next_at: Optional[dt.datetime]  # UTC, naive

    def next_local(self, timezone: str) -> Optional[dt.datetime]:
        if self.next_at is None:
            return None
        return self.next_at.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(timezone))

    def sentence(self, timezone: str) -> str:
        if not self.queued:
            return "No texts are waiting for quiet hours to end."
        when = shop_time(self.next_at, timezone, empty="when the window opens")
        texts = "1 text is" if self.queued == 1 else f"{self.queued:,} texts are"
        return f"{texts} waiting for quiet hours to end; the next goes {when}."


def queue_state(session: Session, now: Optional[dt.datetime] = None) -> QueueState:
    """How many messages are queued, how many have come due, and when the next goes (SQL aggregates)."""
    now = as_utc(now)
    return QueueState(outbox.queued_count(session), outbox.due_count(session, now), outbox.next_release_at(session))


# --- The form: problems, saving, what a release did ---------------------------------------------------------------


def form_problems(session: Session, typed: dict[str, Any]) -> dict[str, str]:
    """What is wrong with the values typed, by field, in the page's order ({} when Save may go)."""
    found = texting.problems(session, **typed)
    return {f: str(found[f]) for f in FIELDS if f in found}


def fix_before_saving(problems: dict[str, str]) -> str:
    """The line beside a disabled Save: which settings still need fixing."""
    names = ", ".join(FIELD_LABELS.get(f, f) for f in problems)
    return f"Fix before saving: {names}. Nothing is saved until every problem above is fixed."


def save(session: Session, values: dict[str, Any], *, by: Optional[Actor] = None) -> dict[str, Any]:
    """Save the typed settings as `by` (texting.InvalidSetting when one is refused, roles.NotAllowed when
    their role may not: nothing saved); the form's values as saved."""
    return form_values(texting.update_defaults(session, by=by, **{f: values[f] for f in FIELDS}))


def released_sentence(summary: Any) -> str:
    """What "Release due messages" did (an outbox.SendSummary), with why any were blocked."""
    reasons = "; ".join(f"{reason} ({n})" for reason, n in summary.reasons.items())
    return f"Sent {summary.sent:,}, blocked {summary.blocked:,}, still waiting {summary.queued:,}." + (
        f" Blocked: {reasons}." if reasons else ""
    )
