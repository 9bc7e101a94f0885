"""What the provider tells us about a text we sent: its status, its error code, and what that means for
the customer (live texting; used by core/messaging/sender.py and core/messaging/webhooks.py).

- The message's status follows the provider's: sent → delivered, undelivered or failed, never back.
- Error 21610 (the recipient opted out at the carrier, e.g. texted STOP to the provider directly): the
  customer is opted out, channel `carrier`, the error as evidence, no confirmation (the carrier blocks it).
- Errors 30003 / 30005 / 30006 (and 21614 from the API): the phone is marked unreachable, unknown or a
  landline; Personas shows it and no opt-in request goes to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlmodel import Session, select

from core.clock import as_utc
from core.consent import customers
from core.db import lock_phones
from core.models import Channel, Customer, Message, MessageKind, MessageStatus, SmsStatus

CARRIER_OPT_OUT = 21610
UNREACHABLE = {30003: "unreachable", 30005: "unknown", 30006: "landline", 21614: "landline"}
ERROR_TEXT = {
    21610: "the recipient opted out at the carrier (texted STOP to the number)",
    30003: "the phone is unreachable (off, out of coverage or no longer in service)",
    30005: "the number does not exist or is no longer in service",
    30006: "the number is a landline or its carrier cannot take texts",
    21614: "the number is not a mobile number",
}

# the provider's status words, in the order a text moves through them
PROVIDER_STATUS = {
    "accepted": MessageStatus.sent,
    "scheduled": MessageStatus.sent,
    "queued": MessageStatus.sent,
    "sending": MessageStatus.sent,
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "undelivered": MessageStatus.undelivered,
    "failed": MessageStatus.failed,
    "canceled": MessageStatus.failed,
}
_WORD_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
}
_LIVE = (
    MessageStatus.sending,
    MessageStatus.sent,
    MessageStatus.delivered,
    MessageStatus.undelivered,
    MessageStatus.failed,
)


def error_reason(code: Optional[int], detail: str = "") -> str:
    if code in ERROR_TEXT:
        return f"Carrier error {code}: {ERROR_TEXT[code]}"
    if code:
        return f"Provider error {code}" + (f": {detail}" if detail else "")
    return detail


def apply_status(
    session: Session,
    msg: Message,
    status_word: str,
    error_code: Optional[int],
    *,
    sid: str = "",
    now: Optional[dt.datetime] = None,
) -> bool:
    """Record the provider's status for `msg` (the caller holds the phone's lock; no commit).
    Returns True when something changed. A status never moves back (a late "sent" after "delivered")."""
    now = as_utc(now)
    word = (status_word or "").strip().lower()
    new = PROVIDER_STATUS.get(word)
    changed = False
    if sid and not msg.provider_sid:
        msg.provider_sid = sid
        changed = True
    if new is not None and msg.status in _LIVE and _WORD_RANK[word] > _WORD_RANK.get(msg.provider_status, -1):
        msg.status = new
        msg.provider_status = word
        if msg.sent_at is None and new is not MessageStatus.failed:
            msg.sent_at = now
        changed = True
    if error_code and msg.error_code != error_code:
        msg.error_code = error_code
        msg.reason = error_reason(error_code)[:300]
        changed = True
    if changed:
        session.add(msg)
    if error_code:
        carrier_outcome(session, msg, error_code, now=now)
    return changed


def carrier_outcome(session: Session, msg: Message, error_code: int, *, now: dt.datetime) -> None:
    """What a carrier error means for the customer: opted out (21610) or unreachable (30003/5/6)."""
    if error_code != CARRIER_OPT_OUT and error_code not in UNREACHABLE:
        return
    lock_phones(session, [msg.phone])
    customer = session.exec(
        select(Customer).where(Customer.phone == msg.phone).execution_options(populate_existing=True)
    ).first()
    if customer is None:
        return
    if error_code == CARRIER_OPT_OUT:
        if customer.sms_status is not SmsStatus.opted_out:
            customers.set_status(
                session,
                customer,
                SmsStatus.opted_out,
                channel=Channel.carrier,
                now=now,
                evidence={
                    "reason": error_reason(error_code),
                    "error_code": error_code,
                    "message_sid": msg.provider_sid or "",
                    "message_id": msg.id,
                    "by": "carrier",
                },
            )
        return
    mark = UNREACHABLE[error_code]
    if customer.unreachable != mark or customer.unreachable_code != error_code:
        customer.unreachable = mark
        customer.unreachable_code = error_code
        customer.updated_at = now
        session.add(customer)


def send_time_refusal(customer: Optional[Customer], msg: Message) -> str:
    """Checked again just before a live text goes (the phone locked): a STOP or a change since it was
    queued wins. '' when it may go."""
    from core.messaging import outbox

    if customer is None:
        return "No longer a customer: the record was deleted before the text went"
    status = SmsStatus(customer.sms_status)
    kind = msg.kind
    if status is SmsStatus.opted_out and kind not in (MessageKind.opt_out_confirmation, MessageKind.help_reply):
        return "Unsubscribed recipient: opted out after this text was queued (the opt-out wins)"
    if kind is MessageKind.opt_out_confirmation and status is not SmsStatus.opted_out:
        return "Opted back in before the opt-out confirmation went: not sent"
    if kind is MessageKind.opt_in_request:
        if status is SmsStatus.opted_in:
            return "Already opted in before the request went"
        if why := outbox.unreachable_reason(customer):
            return why
    if (
        kind in (MessageKind.opt_in_confirmation, MessageKind.resubscribe_confirmation)
        and status is not SmsStatus.opted_in
    ):
        return "No longer opted in when the confirmation was to go"
    return ""


def uncount_request(session: Session, msg: Message, customer: Optional[Customer], now: dt.datetime) -> None:
    """An opt-in request that never went (blocked at send time, refused by the provider) does not count
    against the phone's request limit."""
    if msg.kind is MessageKind.opt_in_request and customer is not None and (customer.opt_in_requests or 0) > 0:
        customer.opt_in_requests -= 1
        customer.updated_at = now
        session.add(customer)
