"""The opt-out list (rulebook §11): every opted-out phone with when, how and where the customer came from,
as a CSV the shop's other tools can load, formula-safe (phones as tel:+E.164, text cells by safe_cell).

It lists every opted-out customer whatever the age gate says (a do-not-text list must be whole).
Deleted customers cannot be listed: their numbers were erased and only a keyed hash remains; the page says
how many such suppressions exist.
"""

from __future__ import annotations

from typing import Iterator, Optional

from sqlmodel import Session, func, select

from core import activity, paging
from core.audiences.conditions import source_label
from core.exports import csv_chunks, phone_cell, safe_cell
from core.models import Channel, ConsentEvent, Customer, SmsStatus
from core.staff.roles import Actor, allow

HEADER = ("phone", "opted_out_at_utc", "how", "source")

HOW = {
    Channel.sms_reply: "Texted the shop",
    Channel.signup_form: "Sign-up form",
    Channel.text_to_join: "Text To Join",
    Channel.csv_import: "Import from a previous provider",
    Channel.pos_sync: "POS sync",
    Channel.dashboard: "Recorded by the shop",
    Channel.number_deactivated: "Number deactivated",
    Channel.carrier: "Reported by the carrier",
}


def how(channel, evidence: dict) -> str:
    """'Texted the shop: "STOP"', 'Recorded by the shop: asked in store', 'Import from ...: old.csv'."""
    try:
        c = Channel(channel)
    except ValueError:
        return str(channel or "")
    label = HOW.get(c) or c.label
    ev = evidence or {}
    detail = ev.get("inbound_text") or ev.get("reason") or ev.get("file") or ""
    if ev.get("inbound_text"):
        detail = f'"{str(detail)[:40]}"'
    return f"{label}: {detail}" if detail else label


def count(session: Session) -> int:
    return int(
        session.exec(select(func.count()).select_from(Customer).where(Customer.sms_status == SmsStatus.opted_out)).one()
    )


def export(session: Session, *, batch: int = 2000, by: Optional[Actor] = None) -> Iterator[bytes]:
    """The opt-out list as CSV chunks, oldest customer first. An export (roles: not staff); recorded in the
    activity trail."""
    by = allow(session, by, "export")
    activity.record(session, by, activity.Kind.export, f"Exported the opt-out list ({count(session):,} customers)")
    session.commit()
    C = Customer.__table__.c
    E = ConsentEvent.__table__.c
    last_out = (
        select(func.max(E.id))
        .where(E.customer_id == C.id, E.new_status == SmsStatus.opted_out)
        .correlate(Customer.__table__)
        .scalar_subquery()
    )
    q = (
        select(C.id, C.phone, C.status_changed_at, C.source, C.source_detail, E.occurred_at, E.channel, E.evidence)
        .select_from(Customer.__table__.outerjoin(ConsentEvent.__table__, E.id == last_out))
        .where(C.sms_status == SmsStatus.opted_out)
    )

    def rows():
        for r in paging.keyset_rows(session, q, paging.Keyset((C.id,)), batch=batch):
            m = r._mapping
            when = m["occurred_at"] or m["status_changed_at"]
            yield (
                phone_cell(m["phone"]),
                when.isoformat(sep=" ", timespec="seconds") if when else "",
                safe_cell(how(m["channel"], m["evidence"]) if m["channel"] else ""),
                safe_cell(source_label(m["source"], m["source_detail"] or "")),
            )

    return csv_chunks(HEADER, rows())


def suppressed_count(session: Session) -> int:
    """Deleted customers whose numbers stay suppressed (not listable: only a keyed hash remains)."""
    from core.consent import suppression

    return suppression.count(session)
