"""The import rules one customer at a time, through customers.set_status and outbox.send.

The slow, obviously-right version of core.importing (a test oracle, not product code): the tests run both
on the same files and check they end in the same state (customers, consent events, messages), and
bench/import_bench.py times it as the naive row-by-row ORM importer. It holds the whole file in memory and
commits after every customer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlmodel import Session, select

from core import phones
from core.clock import as_utc
from core.consent import customers, suppression
from core.importing import values
from core.importing.cache import ImportCache
from core.importing.context import key_prefix
from core.importing.mapping import guess_mapping
from core.importing.reading import open_source, read, sniff
from core.models import Channel, ConsentEvent, Customer, SmsStatus

_CLEAN_CUT = values.MAX_NAME


def _verdict(row: dict[str, str], mapping: dict[str, Optional[str]]) -> Optional[int]:
    """What a row says (values.V_*), None when a status value is unreadable."""
    cell = lambda f: row.get(mapping[f], "") if mapping.get(f) else ""  # noqa: E731
    v = values.row_verdict(cell("opt_in"), cell("opt_out"))
    return None if v < 0 else v


def _details(row: dict[str, str], mapping: dict[str, Optional[str]]) -> dict[str, str]:
    get = lambda f: row.get(mapping[f], "") if mapping.get(f) else ""  # noqa: E731
    first, last, email = get("first_name"), get("last_name"), get("email")
    if not first and not last and mapping.get("full_name"):
        first, _, last = get("full_name").strip().partition(" ")
    out: dict[str, str] = {}
    for key, value in (("first_name", first), ("last_name", last)):
        try:
            out.update(customers.validate_details(**{key: value}))
        except customers.InvalidDetails:
            out[key] = customers._clean_text(value)[:_CLEAN_CUT].strip()
    try:
        out.update(customers.validate_details(email=email))
    except customers.InvalidDetails:
        out["email"] = ""
    return out


def import_file(
    session: Session,
    source,
    *,
    attested: bool,
    default_region: str = "US",
    mapping: Optional[dict[str, Optional[str]]] = None,
    origin: str = "csv_import",
    now: Optional[dt.datetime] = None,
    file_name: Optional[str] = None,
    limit: Optional[int] = None,
) -> dict[str, int]:
    """Import `source` one customer at a time (ORM objects, a commit per customer). Returns counts.
    Never sends a text (§11)."""
    now = as_utc(now)
    info = sniff(source, file_name=file_name)
    mapping = mapping or guess_mapping(info.headers)
    with ImportCache() as cache:
        opened = open_source(source, file_name, cache)
    channel = Channel(origin)
    may_opt_in = attested and channel is Channel.csv_import

    # every row, in file order: (row, phone, verdict, details)
    rows: list[tuple[int, str, int, dict[str, Any]]] = []
    for n, (rownum, row) in enumerate(read(source, file_name=file_name)):
        if limit is not None and n >= limit:
            break
        try:
            phone = phones.normalize(row.get(mapping["phone"], ""), default_region)
        except phones.InvalidPhone:
            continue
        v = _verdict(row, mapping)
        if v is None:
            continue
        rows.append((rownum, phone, v, row))

    # opt-out wins in the file; the row applied is the first one saying the strongest thing
    best: dict[str, tuple[int, int, dict[str, str]]] = {}
    says_in: set[str] = set()
    for rownum, phone, v, row in rows:
        if v == values.V_IN:
            says_in.add(phone)
        if phone not in best or v > best[phone][1]:
            best[phone] = (rownum, v, row)
    counts = dict(created=0, updated=0, unchanged=0, events=0, requests=0, suppressed=0)
    held = suppression.suppressed(session, best)  # deleted customers are not imported (§11)
    for phone, (rownum, v, row) in sorted(best.items(), key=lambda kv: kv[1][0]):
        if phone in held:
            counts["suppressed"] += 1
            continue
        if v == values.V_OUT and phone in says_in:
            v = values.V_OUT_OVER_IN
        details = _details(row, mapping)
        customer = session.exec(select(Customer).where(Customer.phone == phone)).first()
        changed = False
        is_new = customer is None
        if is_new:
            customer = customers.create(
                session,
                phone=phone,
                source=origin,
                now=now,
                region=default_region,
                source_detail=opened.name,
                **details,
            )
            counts["created"] += 1
        else:
            for key, value in details.items():
                if value and getattr(customer, key) != value:
                    setattr(customer, key, value)
                    customer.updated_at = now
                    changed = True
        target = None
        if v in (values.V_OUT, values.V_OUT_OVER_IN):
            target = SmsStatus.opted_out
        elif v == values.V_IN and may_opt_in and customer.sms_status in (SmsStatus.not_opted_in, SmsStatus.pending):
            target = SmsStatus.opted_in
        if target is not None and customer.sms_status is not target:
            key = f"{key_prefix(origin, opened.file_hash, None)}{phone}:{target.value}"
            if session.exec(select(ConsentEvent.id).where(ConsentEvent.dedupe_key == key)).first() is None:
                try:
                    customers.set_status(
                        session,
                        customer,
                        target,
                        channel=channel,
                        now=now,
                        dedupe_key=key,
                        evidence={"file": opened.name, "row": rownum, "attested": bool(may_opt_in)},
                    )
                    changed = True
                    counts["events"] += 1
                except customers.OptOutWins:
                    pass
        session.add(customer)
        session.commit()
        if not is_new:
            counts["updated" if changed else "unchanged"] += 1
    return counts
