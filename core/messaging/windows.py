"""Sending windows and frequency caps by the recipient's state (rulebook §9, extending §4's quiet hours).

The law is data: `RULES` has one row per state that has its own law, each naming the statute, the
date it took effect and where the figures come from; every other recipient (another state, Canada,
a toll-free or unknown number) gets `FEDERAL`. A row is added only where its law can be named.

Marketing and opt-in request texts the shop starts go only inside the recipient's window, in the
recipient's local time; the shop's own quiet hours (TextingDefaults.window_start/end) can only narrow
it. A state with a cap allows at most that many such texts to one phone in any 24 hours; past it the
text waits. Replies to the customer's own text or form go at once (outbox decides which is which).

Pure functions, no I/O: the outbox passes what the database knows (the customer's zip, the times of
recent capped texts) and gets back a `Hold`: when the text may go and which rule held it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional, Sequence
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import NumberParseException

__all__ = [
    "StateRule",
    "RULES",
    "FEDERAL",
    "Hold",
    "Place",
    "state_for_zip",
    "state_for_number",
    "place",
    "rule_for",
    "allowed_hours",
    "hold",
    "explain_area",
    "ZipUnknown",
    "WEEKDAYS",
]

T = dt.time
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_END = T(23, 59, 59, 999999)  # an "until midnight" end, for comparisons only


def _every_day(start: T, end: T) -> tuple[tuple[T, T], ...]:
    return ((start, end),) * 7


@dataclass(frozen=True)
class StateRule:
    """One row of the table: the hours (local time of the recipient) for each weekday, Monday first,
    the cap per rolling 24 hours (None: no state cap), and the law behind them."""

    code: str  # USPS state code; "US" for the federal default
    name: str  # how a held message names it: "Texas"
    hours: tuple[tuple[T, T], ...]  # 7 (start, end) pairs, Monday..Sunday; end exclusive
    cap_per_24h: Optional[int]
    law: str
    effective: dt.date
    source: str

    def window(self, day: dt.date) -> tuple[T, T]:
        return self.hours[day.weekday()]

    def same_every_day(self) -> bool:
        return len(set(self.hours)) == 1

    def hours_sentence(self) -> str:
        """'08:00–20:00 every day' or 'Monday–Saturday 09:00–21:00, Sunday 12:00–21:00'."""
        if self.same_every_day():
            s, e = self.hours[0]
            return f"{s:%H:%M}–{e:%H:%M} every day"
        parts: list[str] = []
        i = 0
        while i < 7:
            j = i
            while j + 1 < 7 and self.hours[j + 1] == self.hours[i]:
                j += 1
            s, e = self.hours[i]
            days = WEEKDAYS[i] if i == j else f"{WEEKDAYS[i]}–{WEEKDAYS[j]}"
            parts.append(f"{days} {s:%H:%M}–{e:%H:%M}")
            i = j + 1
        return ", ".join(parts)


FEDERAL = StateRule(
    code="US",
    name="Federal rule (TCPA)",
    hours=_every_day(T(8), T(21)),
    cap_per_24h=None,
    law="Telephone Consumer Protection Act, 47 CFR 64.1200(c)(1)",
    effective=dt.date(1992, 12, 20),
    source="47 CFR 64.1200(c)(1): no telephone solicitation before 8 a.m. or after 9 p.m. local time at the "
    "called party's location (FCC 92-443; texts are calls under the TCPA).",
)

#: The state table: only states whose own law narrows the federal window or caps the number of texts.
RULES: dict[str, StateRule] = {
    r.code: r
    for r in (
        StateRule(
            code="FL",
            name="Florida",
            hours=_every_day(T(8), T(20)),
            cap_per_24h=3,
            law="Florida Telephone Solicitation Act amendments (CS/SB 1120, ch. 2021-174), Fla. Stat. §501.616(6)",
            effective=dt.date(2021, 7, 1),
            source="Fla. Stat. §501.616(6)(a) no commercial telephone solicitation before 8 a.m. or after 8 p.m. at the "
            "called person's location; (b) no more than three in 24 hours on the same subject matter. "
            "Texts are telephonic sales calls under §501.059 (FTSA).",
        ),
        StateRule(
            code="OK",
            name="Oklahoma",
            hours=_every_day(T(8), T(20)),
            cap_per_24h=3,
            law="Oklahoma Telephone Solicitation Act of 2022 (HB 3168), 15 O.S. §775C.1 et seq.",
            effective=dt.date(2022, 11, 1),
            source="15 O.S. §775C.4: no commercial telephone solicitation before 8 a.m. or after 8 p.m. at the called "
            "person's location, no more than three in 24 hours on the same subject matter.",
        ),
        StateRule(
            code="MD",
            name="Maryland",
            hours=_every_day(T(8), T(20)),
            cap_per_24h=3,
            law="Stop the Spam Calls Act of 2023 (SB 90), Md. Code, Com. Law §14-4501 et seq.",
            effective=dt.date(2024, 1, 1),
            source="Com. Law Title 14, Subtitle 45: telephone solicitations (calls and texts) only 8 a.m.–8 p.m. in the "
            "called party's time zone, at most three in 24 hours on the same subject.",
        ),
        StateRule(
            code="CT",
            name="Connecticut",
            hours=_every_day(T(9), T(20)),
            cap_per_24h=None,
            law="Conn. Gen. Stat. §42-288a as amended by Public Act 23-98",
            effective=dt.date(2023, 10, 1),
            source="Public Act 23-98 (SB 1058) §42-288a: telephonic sales calls, texts included, only between "
            "9 a.m. and 8 p.m. local time.",
        ),
        StateRule(
            code="TX",
            name="Texas",
            hours=((T(9), T(21)),) * 6 + ((T(12), T(21)),),
            cap_per_24h=None,
            law="Tex. Bus. & Com. Code §301.051, applied to texts by SB 140 (89th Leg.)",
            effective=dt.date(2025, 9, 1),
            source="§301.051: no telephone solicitation before 9 a.m. or after 9 p.m. on a weekday or Saturday, or "
            "before noon or after 9 p.m. on a Sunday; SB 140 makes text messages telephone solicitations "
            "from 1 Sep 2025.",
        ),
    )
}

#: USPS codes by state name, as phonenumbers' geocoder names US areas ("Texas", "San Francisco, CA").
STATE_CODES = {
    "Alabama": "AL",
    "Alaska": "AK",
    "Arizona": "AZ",
    "Arkansas": "AR",
    "California": "CA",
    "Colorado": "CO",
    "Connecticut": "CT",
    "Delaware": "DE",
    "Florida": "FL",
    "Georgia": "GA",
    "Hawaii": "HI",
    "Idaho": "ID",
    "Illinois": "IL",
    "Indiana": "IN",
    "Iowa": "IA",
    "Kansas": "KS",
    "Kentucky": "KY",
    "Louisiana": "LA",
    "Maine": "ME",
    "Maryland": "MD",
    "Massachusetts": "MA",
    "Michigan": "MI",
    "Minnesota": "MN",
    "Mississippi": "MS",
    "Missouri": "MO",
    "Montana": "MT",
    "Nebraska": "NE",
    "Nevada": "NV",
    "New Hampshire": "NH",
    "New Jersey": "NJ",
    "New Mexico": "NM",
    "New York": "NY",
    "North Carolina": "NC",
    "North Dakota": "ND",
    "Ohio": "OH",
    "Oklahoma": "OK",
    "Oregon": "OR",
    "Pennsylvania": "PA",
    "Rhode Island": "RI",
    "South Carolina": "SC",
    "South Dakota": "SD",
    "Tennessee": "TN",
    "Texas": "TX",
    "Utah": "UT",
    "Vermont": "VT",
    "Virginia": "VA",
    "Washington": "WA",
    "West Virginia": "WV",
    "Wisconsin": "WI",
    "Wyoming": "WY",
    "Washington D.C.": "DC",
    "District of Columbia": "DC",
}
STATE_NAMES = {code: name for name, code in STATE_CODES.items() if name != "District of Columbia"}


class ZipUnknown(ValueError):
    """A zip code that is not a US zip code (checked where the owner types one)."""


# --- Where the recipient is -----------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _zip_row(zip5: str) -> Optional[tuple[str, str]]:
    """(state, time zone) of a 5-digit zip code, from the `zipcodes` package's bundled USPS-derived data
    (no network), or None when the zip code does not exist."""
    import zipcodes  # its data is compiled into the package

    try:
        rows = zipcodes.matching(zip5)
    except (TypeError, ValueError):
        return None
    for row in rows:
        state = row.get("state") or ""
        if len(state) == 2:
            return state, row.get("timezone") or ""
    return None


def _zip5(zip_code: object) -> str:
    text = str(zip_code or "").strip()
    head = text.split("-")[0].strip()
    return head if len(head) == 5 and head.isdigit() else ""


def state_for_zip(zip_code: object) -> Optional[str]:
    """The state of a US zip code ('77001' or '77001-1234'); None when blank or not a real zip code."""
    z = _zip5(zip_code)
    row = _zip_row(z) if z else None
    return row[0] if row else None


@lru_cache(maxsize=8192)
def state_for_number(e164: str) -> Optional[str]:
    """The US state of a number's area code (phonenumbers' geocoder); None for toll-free, non-geographic,
    Canadian and other non-US numbers, and anything that does not parse."""
    try:
        number = phonenumbers.parse(e164, None)
    except (NumberParseException, TypeError):
        return None
    if phonenumbers.region_code_for_number(number) != "US":
        return None
    from phonenumbers import geocoder

    where = geocoder.description_for_number(number, "en") or ""
    if where in STATE_CODES:
        return STATE_CODES[where]
    tail = where.rsplit(",", 1)[-1].strip() if "," in where else ""
    return tail if tail in STATE_NAMES else None


@dataclass(frozen=True)
class Place:
    """Where a text's recipient is, as far as the shop can tell."""

    state: Optional[str]  # USPS code, None when unknown
    how: str  # "zip code 77001", "area code of (713) ...", "unknown"
    zones: tuple[str, ...]  # the recipient's possible time zones ('' none: the shop's decides)


def place(e164: str, zip_code: object = "", number_zones: Sequence[str] = ()) -> Place:
    """The customer's own zip code when it is a real one (its state and time zone), else the number's
    area code (state) with the number's time zones (phonenumbers.timezone, as §4 already used)."""
    z = _zip5(zip_code)
    row = _zip_row(z) if z else None
    if row:
        state, tz = row
        return Place(state, f"zip code {z}", (tz,) if tz else tuple(number_zones))
    state = state_for_number(e164)
    return Place(state, "the phone number's area code" if state else "unknown", tuple(number_zones))


def rule_for(state: Optional[str], on: dt.date) -> StateRule:
    """The state's row when it has one in force on `on` (the recipient's local date), else the federal rule."""
    row = RULES.get(state or "")
    if row is not None and on >= row.effective:
        return row
    return FEDERAL


# --- The window, narrowed by the shop's quiet hours ---------------------------------------------------------------


def _shop_intervals(start: T, end: T) -> list[tuple[T, T]]:
    if start < end:
        return [(start, end)]
    return [(start, DAY_END), (T(0), end)]  # an overnight window saved by an older version


def allowed_hours(rule: StateRule, day: dt.date, shop_start: T, shop_end: T) -> list[tuple[T, T]]:
    """The hours a text may go on `day` (local): the state's window intersected with the shop's."""
    s, e = rule.window(day)
    out = []
    for a, b in _shop_intervals(shop_start, shop_end):
        lo, hi = max(s, a), min(e, b)
        if lo < hi:
            out.append((lo, hi))
    return sorted(out)


def _day_phrase(rule: StateRule, day: dt.date) -> str:
    if rule.same_every_day():
        return ""
    same = [WEEKDAYS[i] for i in range(7) if rule.hours[i] == rule.hours[day.weekday()]]
    if len(same) == 1:
        return f" on {same[0]}s"
    return f" {same[0]} to {same[-1]}" if len(same) > 1 else ""


def _why_closed(rule: StateRule, local: dt.datetime, shop_start: T, shop_end: T) -> str:
    """Which rule keeps `local` (the recipient's time) outside the window: the state's or the shop's."""
    s, e = rule.window(local.date())
    t = local.time()
    days = _day_phrase(rule, local.date())
    if t < s:
        return f"{rule.name}: not before {s:%H:%M}{days}"
    if t >= e:
        return f"{rule.name}: not after {e:%H:%M}{days}"
    return f"Your quiet hours: texts go out {shop_start:%H:%M}–{shop_end:%H:%M}"


@dataclass(frozen=True)
class Hold:
    """A text that may not go now: `until` (naive UTC; None when it can go now) and the rule that held it."""

    until: Optional[dt.datetime]
    reason: str = ""
    rule: StateRule = FEDERAL

    def __bool__(self) -> bool:
        return self.until is not None


GO = Hold(None)
NEVER = dt.datetime.max


def _inside(t: dt.datetime, zones: Iterable[str], state: Optional[str], shop_start: T, shop_end: T) -> Optional[str]:
    """None when aware UTC time `t` is inside the window in every zone, else why not (the first zone's reason)."""
    for z in zones:
        local = t.astimezone(ZoneInfo(z))
        rule = rule_for(state, local.date())
        if not any(
            a <= local.time() < b or (b == DAY_END and local.time() >= a)
            for a, b in allowed_hours(rule, local.date(), shop_start, shop_end)
        ):
            return _why_closed(rule, local, shop_start, shop_end)
    return None


@lru_cache(maxsize=4096)
def _window_hold(
    now: dt.datetime, zones: tuple[str, ...], state: Optional[str], shop_start: T, shop_end: T
) -> tuple[Optional[dt.datetime], str]:
    """(None, '') when naive-UTC `now` is inside the window in every zone; else (the first UTC time within
    eight days when it is, or NEVER, and why it is closed now)."""
    aware = now.replace(tzinfo=dt.timezone.utc)
    why = _inside(aware, zones, state, shop_start, shop_end)
    if why is None:
        return None, ""
    candidates = set()
    for z in zones:
        tz = ZoneInfo(z)
        first_day = aware.astimezone(tz).date()
        for d in range(0, 8):
            day = first_day + dt.timedelta(days=d)
            for a, _b in allowed_hours(rule_for(state, day), day, shop_start, shop_end):
                opening = dt.datetime.combine(day, a, tzinfo=tz).astimezone(dt.timezone.utc)
                if opening > aware:
                    candidates.add(opening)
    for c in sorted(candidates):
        if _inside(c, zones, state, shop_start, shop_end) is None:
            return c.replace(tzinfo=None), why
    return NEVER, why


def _cap_hold(rule: StateRule, now: dt.datetime, recent: Sequence[dt.datetime]) -> Optional[Hold]:
    """Past the state's cap (`recent`: when capped texts went to this phone), the time the oldest one
    that counts leaves the 24 hours."""
    if rule.cap_per_24h is None:
        return None
    since = now - dt.timedelta(hours=24)
    sent = sorted(t for t in recent if t is not None and since < t <= now)
    if len(sent) < rule.cap_per_24h:
        return None
    until = sent[len(sent) - rule.cap_per_24h] + dt.timedelta(hours=24)
    return Hold(
        until, f"{rule.name}: at most {rule.cap_per_24h} marketing or request texts to one phone in 24 hours", rule
    )


def hold(
    *, where: Place, now: dt.datetime, shop_start: T, shop_end: T, shop_zone: str, recent: Sequence[dt.datetime] = ()
) -> Hold:
    """When a marketing or request text to a recipient at `where` may go (rulebook §9).

    `now` is naive UTC. Every time zone of the recipient must be inside the state's window narrowed by the
    shop's quiet hours; with no zone, or zones that never share an open moment, the shop's zone decides.
    Past the state's cap (counted from `recent`), it waits until a text leaves the 24 hours, and then for
    the window. Returns GO or a Hold naming the rule ("Texas: not before 12:00 on Sundays")."""
    now = now.replace(second=0, microsecond=0) if now.second or now.microsecond else now
    zones = where.zones
    until, why = (NEVER, "") if not zones else _window_hold(now, zones, where.state, shop_start, shop_end)
    if until == NEVER:
        zones = (shop_zone,)
        until, why = _window_hold(now, zones, where.state, shop_start, shop_end)
    local_day = now.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(zones[0])).date()
    rule = rule_for(where.state, local_day)
    capped = _cap_hold(rule, now, recent)
    if capped is not None:
        later, why_window = _window_hold(capped.until, zones, where.state, shop_start, shop_end)
        return Hold(later or capped.until, capped.reason, rule)
    if until is None:
        return GO
    return Hold(until, why, rule)


# --- What the Texting Defaults page says about the shop's own area -------------------------------------------------


def explain_area(e164: str, shop_start: T, shop_end: T, today: dt.date) -> str:
    """Which window applies to customers in the shop's own area (its main number's area code) and why."""
    state = state_for_number(e164) if e164 else None
    rule = rule_for(state, today)
    where = STATE_NAMES.get(state or "", "")
    if rule is FEDERAL:
        lead = f"Customers in {where} (your number's area)" if where else "Customers whose state is not known"
        why = (
            f"{where} has no state law on texting hours in the table, so the federal rule applies"
            if where
            else "the federal rule applies"
        )
        if state in RULES:  # a state law not yet in force
            why = f"{RULES[state].law} takes effect on {RULES[state].effective:%-d %b %Y}; until then the federal rule applies"
    else:
        lead = f"Customers in {where} (your number's area)"
        why = f"{rule.law}, in force since {rule.effective:%-d %b %Y}"
    day = today
    narrowed = allowed_hours(rule, day, shop_start, shop_end)
    sentence = f"{lead}: {rule.hours_sentence()} in their local time ({why})."
    if rule.cap_per_24h:
        sentence += f" At most {rule.cap_per_24h} marketing or request texts to one phone in 24 hours."
    if narrowed != [rule.window(day)]:
        shown = ", ".join(f"{a:%H:%M}–{'24:00' if b == DAY_END else format(b, '%H:%M')}" for a, b in narrowed) or "none"
        sentence += f" Your quiet hours narrow today's window to {shown}."
    return sentence


def table_rows() -> list[dict[str, str]]:
    """The state table as the Texting Defaults page lists it (the federal default last)."""
    rows = []
    for rule in (*sorted(RULES.values(), key=lambda r: r.name), FEDERAL):
        rows.append(
            {
                "Where": STATE_NAMES.get(rule.code, "Everywhere else"),
                "Hours (customer's local time)": rule.hours_sentence(),
                "At most per 24 h": str(rule.cap_per_24h) if rule.cap_per_24h else "—",
                "Law": rule.law,
                "In force since": f"{rule.effective:%-d %b %Y}",
                "Source": rule.source,
            }
        )
    return rows
