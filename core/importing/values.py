"""What a row's cells mean (rulebook §8): the opt-in and opt-out values, and the names and email as they
would be saved (cleaned by the rules of every other path; a value that breaks them is dropped and
reported, the row still imports)."""

from __future__ import annotations

from typing import Optional

from core import names
from core.importing.mapping import Columns
from core.importing.report import RowError
from core.text import clean_text, valid_email

MAX_NAME = 100


# What a row says about consent (one byte per row in pass 1).
V_NONE, V_NO, V_IN, V_OUT, V_OUT_OVER_IN = 0, 1, 2, 3, 4

_OPT_IN_VALUES: dict[str, int] = {}
for _w in (
    "true",
    "t",
    "yes",
    "y",
    "1",
    "on",
    "subscribed",
    "opted in",
    "optedin",
    "opt in",
    "optin",
    "confirmed",
    "consented",
    "x",
):
    _OPT_IN_VALUES[_w] = V_IN
for _w in (
    "false",
    "f",
    "no",
    "n",
    "0",
    "off",
    "not subscribed",
    "never subscribed",
    "non subscribed",
    "not opted in",
    "notoptedin",
    "pending",
    "none",
):
    _OPT_IN_VALUES[_w] = V_NO
for _w in (
    "unsubscribed",
    "opted out",
    "optedout",
    "opt out",
    "optout",
    "stop",
    "stopped",
    "revoked",
    "do not text",
    "dnc",
):
    _OPT_IN_VALUES[_w] = V_OUT
_OPT_OUT_VALUES: dict[str, int] = {}
for _w in (
    "true",
    "t",
    "yes",
    "y",
    "1",
    "on",
    "x",
    "opted out",
    "optedout",
    "opt out",
    "optout",
    "unsubscribed",
    "stop",
    "stopped",
    "revoked",
    "do not text",
    "dnc",
):
    _OPT_OUT_VALUES[_w] = V_OUT
for _w in ("false", "f", "no", "n", "0", "off", "subscribed", "opted in", "not opted out", "none"):
    _OPT_OUT_VALUES[_w] = V_NONE

OPT_IN_HELP = "use yes/no, true/false, 1/0, subscribed/unsubscribed or opted in/opted out (blank = no status)"
OPT_OUT_HELP = "use yes/no, true/false or 1/0 (blank = not opted out)"
BAD_OPT_IN, BAD_OPT_OUT = -1, -2


def _norm_value(value: str) -> str:
    v = " ".join(value.replace("_", " ").replace("-", " ").lower().split())
    if v.endswith(".0") and v[:-2].isdigit():
        v = v[:-2]
    return v


def row_verdict(opt_in: str, opt_out: str) -> int:
    """What a row says (V_*) from its opt-in and opt-out cells ("" when the column is not mapped); an
    explicit opt-out column saying yes makes it V_OUT. BAD_OPT_IN / BAD_OPT_OUT when a value is not one
    of §8's (true/false, yes/no, y/n, 1/0, subscribed/unsubscribed, opted in/opted out, blank)."""
    v = V_NONE
    if opt_in.strip():
        v = _OPT_IN_VALUES.get(_norm_value(opt_in), BAD_OPT_IN)
        if v == BAD_OPT_IN:
            return v
    if opt_out.strip():
        o = _OPT_OUT_VALUES.get(_norm_value(opt_out), BAD_OPT_OUT)
        if o == BAD_OPT_OUT:
            return o
        if o == V_OUT:
            v = V_OUT
    return v


def detail_hash(value: Optional[str]) -> int:
    """A name's or email's hash for 'did it change?' (0 = blank). Process-local, like the snapshot it is
    compared with (core.importing.plan.Known)."""
    return (hash(value) or 1) if value else 0


def _clean(value: str, limit: int) -> tuple[str, bool]:
    """(text, too_long), cleaned by text.clean_text (as customers.validate_details)."""
    value = clean_text(value)
    if len(value) > limit:
        return value[:limit].strip(), True
    return value, False


def _name_or_blank(name: str, what: str, cols: Columns, col: Optional[int], n: int, warnings: list[RowError]) -> str:
    """The name, or "" (reported) when it holds a link, a phone number or markup (names.problem, the rule of
    every path). The row is still imported: its phone and consent matter more than a name, and an opt-out
    must never be lost over one."""
    found = names.problem(name)
    if found is None:
        return name
    warnings.append(
        RowError(
            n,
            cols.headers[col if col is not None else cols.full_name],
            f"{what} not imported: it contains {found}",
            name[:80],
            True,
        )
    )
    return ""


def details(rec: list[str], cols: Columns, n: int, warnings: list[RowError]) -> tuple[str, str, str]:
    width = len(rec)
    first = rec[cols.first_name] if cols.first_name is not None and cols.first_name < width else ""
    last = rec[cols.last_name] if cols.last_name is not None and cols.last_name < width else ""
    if cols.full_name is not None and cols.full_name < width and not first and not last:
        full = rec[cols.full_name].strip()
        first, _, last = full.partition(" ")
    email = rec[cols.email] if cols.email is not None and cols.email < width else ""
    if first:
        first, long_ = _clean(first, MAX_NAME)
        if long_:
            column = cols.first_name if cols.first_name is not None else cols.full_name
            warnings.append(
                RowError(
                    n,
                    cols.headers[column],
                    f"first name longer than {MAX_NAME} characters: shortened",
                    first[:80],
                    True,
                )
            )
        first = _name_or_blank(first, "first name", cols, cols.first_name, n, warnings)
    if last:
        last, long_ = _clean(last, MAX_NAME)
        if long_:
            column = cols.last_name if cols.last_name is not None else cols.full_name
            warnings.append(
                RowError(
                    n, cols.headers[column], f"last name longer than {MAX_NAME} characters: shortened", last[:80], True
                )
            )
        last = _name_or_blank(last, "last name", cols, cols.last_name, n, warnings)
    if email:
        e = clean_text(email).lower()
        if e and not valid_email(e):
            warnings.append(
                RowError(n, cols.headers[cols.email], "not an email address (name@example.com)", email[:80], True)
            )
            e = ""
        email = e
    return first, last, email
