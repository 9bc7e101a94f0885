"""Which column of a file holds what (rulebook §8): guessed from the column names, corrected by the owner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from core.importing import origin as _origin
from core.importing.report import MappingProblem, NoPhoneColumn

#: The fields a column can be mapped to, with the label the Import page shows.
FIELDS: dict[str, str] = {
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "email": "Email",
    "opt_in": "SMS opt-in status",
    "opt_out": "SMS opt-out",
    **_origin.FIELDS,  # the old provider's consent date and source (§11)
}

# Column names each field is recognised by (§8), compared without case, spaces or punctuation,
# in order of preference (a "Mobile" column beats a "Phone" column).
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "phone": (
        "mobile",
        "mobilephone",
        "mobilenumber",
        "mobilephonenumber",
        "cell",
        "cellphone",
        "cellnumber",
        "cellphonenumber",
        "smsnumber",
        "smsphone",
        "textnumber",
        "phonenumber",
        "phone",
        "sms",
        "phone1",
        "primaryphone",
        "telephone",
        "tel",
        "contactnumber",
        "phoneno",
        "msisdn",
    ),
    "first_name": ("firstname", "first", "givenname", "fname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "full_name": ("fullname", "name", "customername", "contactname", "customer"),
    "email": ("email", "emailaddress", "email1", "mail"),
    "opt_in": (
        "smsoptin",
        "smsoptedin",
        "optedin",
        "optin",
        "smsoptinstatus",
        "optinstatus",
        "smsconsent",
        "consent",
        "smssubscribed",
        "subscribed",
        "smssubscriptionstatus",
        "smssubscription",
        "subscriptionstatus",
        "acceptssmsmarketing",
        "smsmarketingconsent",
        "smsmarketing",
        "textoptin",
        "marketingoptin",
        "textconsent",
        "smsstatus",
        "status",
    ),
    "opt_out": (
        "smsoptout",
        "smsoptedout",
        "optedout",
        "optout",
        "unsubscribed",
        "smsunsubscribed",
        "donottext",
        "dnc",
        "donotcontact",
        "textoptout",
    ),
    **_origin.HEADER_NAMES,
}
_PHONE_WORDS = ("mobile", "cell", "phone")
_NOT_PHONE_WORDS = ("opt", "consent", "status", "type", "country", "ext", "verified", "subscri")


def _compact(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (header or "").lower())


def guess_mapping(headers: list[str]) -> dict[str, Optional[str]]:
    """{field: header or None} for every field of FIELDS, from the §8 column names (any case or spacing)."""
    compact = [_compact(h) for h in headers]
    used: set[int] = set()
    mapping: dict[str, Optional[str]] = {f: None for f in FIELDS}
    for fld in (
        "phone",
        "opt_out",
        "opt_in",
        "first_name",
        "last_name",
        "email",
        "full_name",
        "consented_at",
        "consent_source",
    ):
        for name in _HEADER_NAMES[fld]:
            hit = next((i for i, c in enumerate(compact) if c == name and i not in used), None)
            if hit is not None:
                mapping[fld] = headers[hit]
                used.add(hit)
                break
    if mapping["phone"] is None:
        for i, c in enumerate(compact):
            if i not in used and any(w in c for w in _PHONE_WORDS) and not any(w in c for w in _NOT_PHONE_WORDS):
                mapping["phone"] = headers[i]
                used.add(i)
                break
    return mapping


@dataclass
class Columns:
    phone: int
    first_name: Optional[int]
    last_name: Optional[int]
    full_name: Optional[int]
    email: Optional[int]
    opt_in: Optional[int]
    opt_out: Optional[int]
    headers: list[str]
    mapping: dict[str, Optional[str]]
    consented_at: Optional[int] = None
    consent_source: Optional[int] = None


def resolve_mapping(headers: list[str], mapping: Optional[dict[str, Optional[str]]], name: str) -> Columns:
    guessed = guess_mapping(headers)
    if mapping is None:
        mapping = guessed
    else:
        unknown = [k for k in mapping if k not in FIELDS]
        if unknown:
            raise MappingProblem(f"Unknown field {unknown[0]!r} in the column mapping.")
        mapping = {f: (mapping.get(f) or None) for f in FIELDS}
    index = {h: i for i, h in enumerate(headers)}
    cols: dict[str, Optional[int]] = {}
    seen: dict[int, str] = {}
    for fld, header in mapping.items():
        if header is None:
            cols[fld] = None
            continue
        if header not in index:
            raise MappingProblem(f"The column {header!r} chosen for {FIELDS[fld]} is not in {name}.")
        i = index[header]
        if i in seen:
            raise MappingProblem(
                f"The column {header!r} is chosen for both {FIELDS[seen[i]]} and {FIELDS[fld]}: pick one."
            )
        seen[i] = fld
        cols[fld] = i
    if cols["phone"] is None:
        shown = ", ".join(headers[:12]) + (", ..." if len(headers) > 12 else "")
        raise NoPhoneColumn(
            f"No phone column in {name}. We look for a column named Phone, Mobile, Cell, "
            f"Phone number or SMS; this file has: {shown}. Choose the phone column in the mapping."
        )
    return Columns(headers=headers, mapping=mapping, **cols)
