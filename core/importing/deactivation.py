"""Carrier deactivation files (rulebook §11): numbers the carriers report as deactivated, with the date.

A deactivated number is given to someone else later; consent given before the deactivation date was
given by the previous owner. Each row (phone, deactivation date) of the file:
  * a customer opted in (or pending) whose consent was given before that date -> not opted in, channel
    "number_deactivated", evidence: the file, the row, the date. Their verified date of birth goes too
    (it was the previous owner's). The consent's date is the old provider's original date when the
    import carried one, else when it was recorded here;
  * consent given on or after that date stands (the new owner gave it);
  * opted out stays opted out (opt-out wins), not opted in has nothing to void;
  * a phone that is not a customer is reported, not an error; a deleted customer's suppression recorded
    before that date is lifted (the number belongs to someone else now);
  * a row without a usable phone or date is reported with its reason; the rest still applies.
Re-importing the same file changes nothing (one event per phone and date, by its dedupe key).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlmodel import Session, col, select

from core import activity, phones
from core.clock import as_utc
from core.consent import customers, suppression
from core.db import lock_phones, run_write
from core.importing.mapping import guess_mapping
from core.importing.reading import read, sniff
from core.importing.report import ImportProblem
from core.models import Channel, ConsentEvent, Customer, SmsStatus, utcnow
from core.staff.roles import Actor, allow
from core.text import clean_text

DATE_NAMES = (
    "deactivationdate",
    "deactivatedon",
    "deactivated",
    "deactivatedat",
    "deactivation",
    "disconnectdate",
    "disconnectedon",
    "disconnected",
    "effectivedate",
    "date",
)
CHUNK = 500


class DeactivationProblem(ImportProblem):
    """A deactivation file that cannot be used at all; the message says why."""


@dataclass
class DeactivationReport:
    file_name: str
    rows: int = 0
    voided: int = 0  # consent given before the deactivation: not opted in now
    kept_later: int = 0  # consent given on or after the date: stands
    nothing_to_void: int = 0  # not opted in or opted out already
    already: int = 0  # this file's statement was applied before
    suppressions_lifted: int = 0
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (row, phone as written): not customers
    invalid: list[tuple[int, str, str]] = field(default_factory=list)  # (row, value, reason)

    def problems_csv(self) -> bytes:
        """The rows not applied (unknown phones, bad rows), formula-safe, for the owner to check."""
        from core.exports import safe_cell

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["row", "value", "what happened"])
        for row, value in self.unknown:
            w.writerow([row, safe_cell(value), "not a customer of this shop: nothing to void"])
        for row, value, reason in self.invalid:
            w.writerow([row, safe_cell(value), safe_cell(reason)])
        return buf.getvalue().encode("utf-8-sig")


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


PHONE_NAMES = ("mdn", "number", "phonenumber", "telephonenumber", "tn", "ctn", "wirelessnumber", "mobilenumber")


def _columns(headers: list[str]) -> tuple[str, str]:
    phone = guess_mapping(headers).get("phone")
    if phone is None:
        phone = next((h for name in PHONE_NAMES for h in headers if _compact(h) == name), None)
    if phone is None:
        raise DeactivationProblem(
            "No phone column: a deactivation file needs a column named Phone, Number, MDN "
            "or MSISDN, and one with the deactivation date."
        )
    compact = {_compact(h): h for h in headers if h != phone}
    for name in DATE_NAMES:
        if name in compact:
            return phone, compact[name]
    for key, h in compact.items():
        if "date" in key or "deactiv" in key:
            return phone, h
    raise DeactivationProblem(
        "No deactivation date column: name it Deactivation date (the date the carrier deactivated the number)."
    )


def parse_date(value: Any, *, today: dt.date) -> dt.date:
    text = clean_text(value)
    if not text:
        raise ValueError("no deactivation date")
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%m-%d-%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            day = dt.datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    else:
        try:
            day = dt.datetime.fromisoformat(text).date()
        except ValueError:
            raise ValueError(f"{text[:30]!r} is not a date (write it like 2026-03-01)") from None
    if day > today:
        raise ValueError(f"the date {day.isoformat()} is in the future")
    if day < dt.date(1990, 1, 1):
        raise ValueError(f"the date {day.isoformat()} is before 1990")
    return day


def consent_given_at(session: Session, customer: Customer) -> Optional[dt.datetime]:
    """When the customer's current consent (opted in, or the pending request) was given: the old provider's
    original date when an import carried one, else when it was recorded."""
    event = session.exec(
        select(ConsentEvent)
        .where(ConsentEvent.customer_id == customer.id, ConsentEvent.new_status == customer.sms_status)
        .order_by(col(ConsentEvent.occurred_at).desc(), col(ConsentEvent.id).desc())
    ).first()
    if event is None:
        return customer.status_changed_at
    return event.consented_at or event.occurred_at


def import_deactivations(
    session: Session,
    source,
    *,
    file_name: Optional[str] = None,
    region: str = "US",
    now: Optional[dt.datetime] = None,
    by: Optional[Actor | str] = None,
) -> DeactivationReport:
    """Apply a carrier deactivation file (commits chunk by chunk) as `by` (roles: "deactivation_import", not
    staff; a plain name is the shop itself). Raises DeactivationProblem (or the importer's ImportProblem for
    an unreadable file) before anything is written. Recorded in the activity trail."""
    by = allow(session, by if isinstance(by, Actor) else None, "deactivation_import")
    given_now = None if now is None else as_utc(now)
    today = (given_now or utcnow()).date()
    info = sniff(source, file_name=file_name)
    phone_col, date_col = _columns(info.headers)
    report = DeactivationReport(file_name=info.name)
    rows: list[tuple[int, str, dt.date]] = []
    for rownum, rec in read(source, file_name=file_name):
        report.rows += 1
        raw_phone, raw_date = rec.get(phone_col, ""), rec.get(date_col, "")
        try:
            e164 = phones.normalize(raw_phone, region)
        except phones.InvalidPhone as exc:
            report.invalid.append((rownum, str(raw_phone)[:40], f"not a phone number: {exc.reason}"))
            continue
        try:
            day = parse_date(raw_date, today=today)
        except ValueError as exc:
            report.invalid.append((rownum, str(raw_date)[:40], str(exc)))
            continue
        rows.append((rownum, e164, day))
    if report.rows == 0:
        raise DeactivationProblem(f"{report.file_name} has no rows: there is nothing to apply.")
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        counts = run_write(session, lambda chunk=chunk: _apply(session, chunk, report.file_name, given_now, by))
        for k in ("voided", "kept_later", "nothing_to_void", "already", "suppressions_lifted"):
            setattr(report, k, getattr(report, k) + counts[k])
        report.unknown.extend(counts["unknown"])

    def trail() -> None:
        activity.record(
            session,
            by,
            activity.Kind.import_,
            f"Applied the deactivation file {report.file_name} ({report.rows:,} rows: "
            f"{report.voided:,} consents voided, {report.kept_later:,} kept)",
            now=given_now,
        )

    run_write(session, trail)
    session.expire_all()
    return report


def _apply(
    session: Session, chunk: list[tuple[int, str, dt.date]], file_name: str, given_now: Optional[dt.datetime], by: Actor
) -> dict[str, Any]:
    counts: dict[str, Any] = {
        "voided": 0,
        "kept_later": 0,
        "nothing_to_void": 0,
        "already": 0,
        "suppressions_lifted": 0,
        "unknown": [],
    }
    lock_phones(session, sorted({p for _, p, _ in chunk}))
    now = given_now or utcnow()
    for rownum, e164, day in chunk:
        customer = session.exec(
            select(Customer).where(Customer.phone == e164).execution_options(populate_existing=True)
        ).first()
        if customer is None:
            held = suppression.get(session, e164)
            if held is not None and held.created_at.date() < day:
                session.delete(held)  # the number belongs to someone else now
                counts["suppressions_lifted"] += 1
            else:
                counts["unknown"].append((rownum, phones.format_display(e164)))
            continue
        status = SmsStatus(customer.sms_status)
        if status not in (SmsStatus.opted_in, SmsStatus.pending):
            counts["nothing_to_void"] += 1
            continue
        given = consent_given_at(session, customer)
        if given is not None and given.date() >= day:
            counts["kept_later"] += 1
            continue
        key = f"deactivation:{e164}:{day.isoformat()}"
        if session.exec(select(ConsentEvent.id).where(ConsentEvent.dedupe_key == key)).first() is not None:
            counts["already"] += 1
            continue
        customers.set_status(
            session,
            customer,
            SmsStatus.not_opted_in,
            channel=Channel.number_deactivated,
            now=now,
            dedupe_key=key,
            evidence={
                "file": file_name,
                "row": rownum,
                "deactivated_on": day.isoformat(),
                "consent_given": given.isoformat(sep=" ", timespec="seconds") if given else "",
                "reason": "consent given before the number was deactivated belonged to its previous owner",
                **by.evidence,
            },
        )
        customer.verified_birth_date = None
        customer.age_verified_at = None
        session.add(customer)
        counts["voided"] += 1
    session.flush()
    return counts
