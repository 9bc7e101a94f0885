"""The public "Stop texting me" page (rulebook §10, extending §2 and §3): a customer types their number
and is opted out at once, by a web page, as the FCC's 2024 order allows ("any reasonable means").

- A known customer not yet opted out: → opted_out (channel web_page), and one opt-out confirmation text,
  at once (a reply to the customer's own request, §9), with no marketing.
- A known customer already opted out: nothing changes, nothing is sent.
- An unknown number: it is recorded as an opted-out customer (source stop_page) so that no later import,
  POS sync or form can text it (opt-out wins), but NO text goes to it: a number that never consented to
  anything gets no confirmation of a consent it never gave, and the page can't be used to text strangers.
- The page's answer is the same sentence in all three cases: it reveals nothing about who is a customer.
- Limits: the sign-up limits (core/signups/signup_limits.py) per device and for the page as a whole
  (a "form" of its own, STOP_FORM_ID) refuse a flood before anything is written; the page then says to try
  again later or text STOP. Repeats for one phone are not refused: they change and send nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlmodel import Session

from core import phones
from core.clock import as_utc
from core.consent import customers
from core.db import lock_for_write, run_write
from core.models import Channel, MessageKind, SmsStatus, Source, utcnow
from core.signups import signup_limits

STOP_FORM_ID = -1  # the sign-up limits' per-form count for this page (no real form has a negative id)


class StopPageError(ValueError):
    """What the visitor typed can't be used, or the page is busy; `message` is what they read."""

    def __init__(self, message: str, *, field: str = "phone"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class StopResult:
    headline: str
    sentence: str


def answer(display: str, brand: str, main: str) -> StopResult:
    """The one answer, whoever the number belongs to."""
    return StopResult(
        headline="You won't get texts from us",
        sentence=(
            f"{brand} will not send marketing texts to {display} any more. If this number was on our "
            "list, it gets one text confirming this, and nothing after it. To join again later, text "
            f"START to {main}."
        ),
    )


def submit(
    session: Session, *, phone: str, client_address: Optional[str] = None, now: Optional[dt.datetime] = None
) -> StopResult:
    """Opt `phone` out at once (see the module's rules). Raises StopPageError for a number that can't be
    a mobile, or when the page's limits are reached (nothing written then)."""
    from core.messaging import outbox, texting

    defaults = texting.get_defaults(session)
    if not str(phone or "").strip():
        raise StopPageError("Type the mobile number that gets our texts.")
    try:
        e164 = phones.normalize_mobile(phone, defaults.default_region)
    except phones.NotAMobile as exc:
        raise StopPageError(exc.sentence) from None
    except phones.InvalidPhone as exc:
        raise StopPageError(
            f"That doesn't look like a phone number ({exc.reason}). Type it with its area code."
        ) from None
    given_now = None if now is None else as_utc(now)
    main = phones.format_display(defaults.main_number, defaults.default_region)

    def work() -> None:
        now = given_now or utcnow()
        lock_for_write(session, signup_limits.LOCK_KEY)
        try:
            signup_limits.count(session, form_id=STOP_FORM_ID, client_address=client_address, phone=e164, now=now)
        except signup_limits.TooManySignups as exc:
            if exc.limit != "per_phone":  # a repeat for one phone changes nothing: let it through
                raise StopPageError(
                    f"Too many requests from here in the last hour. Please try again later, or text STOP to {main}.",
                    field="_limit",
                ) from None
        customer = customers.locked(session, phone=e164)
        now = given_now or utcnow()  # read under the lock
        evidence = {"page": "stop", "received_at": now.isoformat(timespec="seconds"), "by": "the customer"}
        if customer is None:
            customer = customers.create(
                session,
                phone=e164,
                source=Source.stop_page,
                now=now,
                region=defaults.default_region,
                source_detail="Stop texting me page",
            )
            customers.set_status(
                session, customer, SmsStatus.opted_out, channel=Channel.web_page, evidence=evidence, now=now
            )
            return  # never texted: it consented to nothing
        if customer.sms_status is SmsStatus.opted_out:
            return
        customers.set_status(
            session, customer, SmsStatus.opted_out, channel=Channel.web_page, evidence=evidence, now=now
        )
        outbox.send(
            session,
            customer=customer,
            kind=MessageKind.opt_out_confirmation,
            now=now,
            defaults=defaults,
            confirming_opt_out=True,
        )
        session.flush()

    run_write(session, work)
    return answer(phones.format_display(e164, defaults.default_region), defaults.brand, main)
