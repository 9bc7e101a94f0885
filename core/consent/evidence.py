"""What proves a consent change, in words an owner or an auditor reads: the one-line evidence, the status
sentence on Personas, and the proof-of-consent CSV (rulebook §2)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Optional

from sqlmodel import Session

from core import activity, phones
from core.clock import shop_time
from core.consent.customers import get, ledger, who
from core.exports import csv_bytes, phone_cell, safe_cell, utc_cell
from core.models import Channel, ConsentEvent, Customer, SmsStatus
from core.staff.roles import Actor, allow


def describe_evidence(event: ConsentEvent) -> str:
    """One line a shop owner can read: what proves this change."""
    ev = event.evidence or {}
    parts = []
    if "inbound_text" in ev:
        parts.append(f'texted "{ev["inbound_text"]}"')
        if ev.get("to"):
            parts.append(f"to {phones.format_display(ev['to'])}")
    if "form" in ev:
        parts.append(f"sign-up form '{ev['form']}' (disclosure v{ev.get('disclosure_version', '?')})")
        if ev.get("signature"):
            parts.append(f'signed "{ev["signature"]}"')
    if "file" in ev:
        parts.append(f"file {ev['file']} row {ev.get('row', '?')}")
        if ev.get("attested"):
            parts.append("owner attested consent")
    if "pos_source" in ev:
        parts.append(f"POS source {ev['pos_source']}")
    parts.extend(_records_evidence(ev))
    if ev.get("received_at"):  # §10: an opt-out received outside a text, recorded by the shop
        parts.append(f"received {_short_when(ev['received_at'])}")
    if "reason" in ev:
        parts.append(f"reason: {ev['reason']}")
    if ev.get("by"):
        parts.append(f"recorded by {ev['by']}" if ev.get("received_at") else f"by {ev['by']}")
    if ev.get("entered_by"):
        parts.append(f"entered by {ev['entered_by']}")
    if ev.get("deadline"):
        parts.append(f"honour by {ev['deadline']}" + (" (recorded after that deadline)" if ev.get("late") else ""))
    return ", ".join(parts) if parts else json.dumps(ev, ensure_ascii=False)


def _records_evidence(ev: dict[str, Any]) -> list[str]:
    """The §11 parts of an event's evidence: the age check, the old provider's date and source, a carrier's
    deactivation, a lifted suppression."""
    from core.consent import age
    from core.importing import origin

    parts = [p for p in (age.describe(ev), origin.describe(ev)) if p]
    if ev.get("deactivated_on"):
        parts.append(f"carrier reports the number deactivated on {ev['deactivated_on']}")
    lifted = ev.get("suppression_lifted")
    if isinstance(lifted, dict):
        parts.append(
            f"data deleted on {str(lifted.get('deleted_at', ''))[:10]}; suppression lifted by "
            f"{lifted.get('lifted_by', 'the customer')}"
        )
    return parts


def _short_when(iso: object) -> str:
    """A time kept as ISO text in evidence (UTC), as the owner reads times (with its zone)."""
    try:
        return shop_time(dt.datetime.fromisoformat(str(iso)), "UTC")
    except ValueError:
        return str(iso)


def status_sentence(customer: Customer, last_event: Optional[ConsentEvent], timezone: str = "UTC") -> str:
    """'Opted out by texting STOP on 29 Nov 2026, 6:02 AM PST.' (the time in the shop's `timezone`)."""
    status = SmsStatus(customer.sms_status)
    if last_event is None:
        return {
            SmsStatus.not_opted_in: "Not opted in: no consent recorded yet.",
            SmsStatus.pending: "Pending: waiting for a reply of Y or YES.",
            SmsStatus.opted_in: "Opted in.",
            SmsStatus.opted_out: "Opted out.",
        }[status]
    when = shop_time(last_event.occurred_at, timezone)
    ev = last_event.evidence or {}
    how = {
        Channel.sms_reply: f"by texting {str(ev.get('inbound_text', '')).strip()[:40] or 'a reply'}",
        Channel.text_to_join: f"by texting {str(ev.get('inbound_text', '')).strip()[:40] or 'the Text To Join number'}",
        Channel.signup_form: "through a sign-up form",
        Channel.csv_import: f"by the import of {ev.get('file', 'a file')}",
        Channel.pos_sync: "by a POS sync",
        Channel.dashboard: "by the shop in the dashboard",
        Channel.carrier: f"at the carrier (error {ev.get('error_code', '')})".replace(" (error )", ""),
        Channel.phone_call: "by a phone call recorded by the shop",
        Channel.email: "by an email recorded by the shop",
        Channel.in_person: "in person, recorded by the shop",
        Channel.letter: "by a letter recorded by the shop",
        Channel.web_page: "on the Stop texting me page",
        Channel.number_deactivated: "because the carrier reported the number deactivated",
    }.get(Channel(last_event.channel), f"by {Channel(last_event.channel).label.lower()}")
    lead = {
        SmsStatus.opted_out: "Opted out",
        SmsStatus.opted_in: "Opted in",
        SmsStatus.pending: "Opt-in request sent",
        SmsStatus.not_opted_in: "Not opted in",
    }[status]
    sentence = f"{lead} {how} on {when}"
    if status is SmsStatus.pending:
        sentence += "; waiting for a reply of Y or YES"
    if status is SmsStatus.opted_out and ev.get("reason"):
        sentence += f" (reason: {ev['reason']})"
    return sentence + "."


def proof_of_consent_csv(session: Session, customer_id: int, *, by: Optional[Actor] = None) -> bytes:
    """The ledger for one customer as CSV (oldest first), for a carrier or an auditor. The `by` column
    names the person behind each manual change (a dashboard action, a review decision, an import)."""
    by = allow(session, by, "export")
    customer = get(session, customer_id)
    events = list(reversed(ledger(session, customer_id)))
    activity.record(
        session,
        by,
        activity.Kind.export,
        f"Downloaded the proof of consent of {who(customer)}",
        customer_id=customer.id,
    )
    session.commit()
    header = ["phone", "name", "when_utc", "old_status", "new_status", "channel", "by", "evidence", "evidence_json"]
    return csv_bytes(
        header,
        (
            [
                phone_cell(customer.phone),
                safe_cell(customer.name),
                utc_cell(e.occurred_at),
                e.old_status.value if e.old_status else "",
                e.new_status.value,
                e.channel.value if hasattr(e.channel, "value") else e.channel,
                safe_cell(str((e.evidence or {}).get("by", ""))),
                safe_cell(describe_evidence(e)),
                safe_cell(json.dumps(e.evidence, ensure_ascii=False, sort_keys=True)),
            ]
            for e in events
        ),
    )
