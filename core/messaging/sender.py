"""The background sender: live texts (status `sending`) go to the provider, one at a time, at the
configured rate, each exactly once.

One message's life:
1. Claim (one transaction): the phone's lock (db.lock_phones; SQLite: BEGIN IMMEDIATE), the oldest
   `sending` message nobody holds, taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so two senders
   (replicas) never take the same one; consent is checked again there (a STOP that arrived after the
   text was queued wins: the text is `blocked`). The claim is written down with a lease
   (`claimed_by`, `claimed_until`) and committed BEFORE the provider is called.
2. Call the provider outside any transaction (paced to `rate` texts a second).
3. Record the outcome (one transaction): `sent` with the provider's sid; `failed` with the error code
   (21610 → the customer is opted out, channel carrier; 30003/5/6 → the phone is unreachable); a 429
   is tried again later with backoff (the provider certainly did not take it).

Exactly once across a crash: a claim whose lease ran out means the outcome is unknown (the process
died, or the provider answered 5xx or not at all: maybe it took the text). Such a message is never
sent again blindly: the sender first asks the provider for the texts it took to that phone from that
number since the claim (Twilio's Messages list), and a text with the same body not yet recorded under
another message is that one: it is recorded `sent` with its sid. Only when the provider has none is the
text sent again. The lease (60 s) outlasts the HTTP timeout (15 s), so no answer can still be on its way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Optional

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import bootstrap, db
from core.messaging import delivery, outbox, providers
from core.messaging.providers.base import Outcome, Provider, ProviderUnavailable, SendResult
from core.models import Customer, Message, MessageStatus, utcnow

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
IDLE_POLL_S = 0.5
RELEASE_EVERY_S = 20.0  # quiet-hours texts whose window opened become `sending`


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: 2, 4, 8 … up to 5 minutes, with jitter."""
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempt - 1)) * (0.8 + 0.4 * random.random())


@dataclass
class Claim:
    id: int
    phone: str
    shop_number: str
    body: str
    attempts: int
    unknown: bool  # a lapsed claim: maybe the provider took it
    created_at: Optional[dt.datetime] = None


class Sender:
    def __init__(
        self,
        engine: Engine,
        *,
        name: str = "",
        provider: Optional[Provider] = None,
        config: Optional[providers.ProviderConfig] = None,
        rate: Optional[float] = None,
        monotonic: Callable[[], float] = time.monotonic,
        lease: dt.timedelta = LEASE,
    ):
        self.engine = engine
        self.name = name or f"sender-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._provider = provider
        self._config = config
        self._rate = rate
        self._monotonic = monotonic
        self.lease = lease  # must outlast the provider's HTTP timeout
        self._next_slot = 0.0
        self._last_release = -1e9
        self.sent = 0  # texts this sender handed to the provider and saw accepted

    # --- settings ---------------------------------------------------------------------------

    def config(self, session: Session) -> providers.ProviderConfig:
        return self._config or providers.load(session)

    def provider(self, config: providers.ProviderConfig) -> Provider:
        if self._provider is None:
            self._provider = providers.make(config)
        return self._provider

    def rate(self, config: providers.ProviderConfig) -> float:
        return self._rate or config.rate

    # --- one message --------------------------------------------------------------------------

    def step(self, stop: Optional[threading.Event] = None) -> bool:
        """Send (or settle) at most one message. False when there was nothing to do."""
        with Session(self.engine) as session:
            config = self.config(session)
            if not (config.live and config.ready):
                return False
            if self._monotonic() - self._last_release > RELEASE_EVERY_S:
                self._last_release = self._monotonic()
                if outbox.due_count(session):
                    outbox.release_due(session)
            self._pace(self.rate(config), stop)
            claim = self._claim(session)
            if claim is None:
                return False
            provider = self.provider(config)
            if claim.unknown:
                try:
                    found = self._find(session, provider, claim)
                except ProviderUnavailable as exc:
                    self._record(session, claim, SendResult(Outcome.unknown, detail=str(exc)))
                    return True
                if found is not None:
                    self._record(session, claim, found)
                    return True
                if claim.attempts > MAX_ATTEMPTS:
                    self._record(
                        session,
                        claim,
                        SendResult(Outcome.rejected, detail=f"No answer from the provider after {MAX_ATTEMPTS} tries"),
                    )
                    return True
            status_callback = config.status_url + f"?m={claim.id}" if config.public_url else ""
            result = provider.send(
                to=claim.phone, from_=claim.shop_number, body=claim.body, status_callback=status_callback
            )
            self._record(session, claim, result)
            return True

    def _pace(self, rate: float, stop: Optional[threading.Event]) -> None:
        """Keep to `rate` texts a second: each text has its slot; after a pause the slots start afresh."""
        gap = 1.0 / rate
        now = self._monotonic()
        if self._next_slot < now - gap:
            self._next_slot = now
        delay = self._next_slot - now
        if delay > 0:
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)
        self._next_slot += gap

    def _claim(self, session: Session) -> Optional[Claim]:
        def work() -> Optional[Claim]:
            now = utcnow()
            db.lock_for_write(session)  # SQLite: BEGIN IMMEDIATE, so the claim is a compare-and-set
            msg = session.exec(
                select(Message)
                .where(
                    Message.status == MessageStatus.sending,
                    or_(col(Message.next_attempt_at).is_(None), col(Message.next_attempt_at) <= now),
                    or_(col(Message.claimed_until).is_(None), col(Message.claimed_until) <= now),
                )
                .order_by(Message.id)
                .limit(1)
                .with_for_update(skip_locked=True)  # PostgreSQL: another sender's row is skipped
                .execution_options(populate_existing=True)
            ).first()
            if msg is None:
                return None
            db.lock_phones(session, [msg.phone])
            unknown = bool(msg.claimed_by)
            if not unknown:  # not yet handed over: the rules again, under the phone's lock
                customer = session.exec(
                    select(Customer).where(Customer.phone == msg.phone).execution_options(populate_existing=True)
                ).first()
                reason = delivery.send_time_refusal(customer, msg)
                if not reason and not msg.shop_number:
                    reason = "No shop number to send from: set the main number in Configure › Texting Defaults"
                if reason:
                    msg.status = MessageStatus.blocked
                    msg.reason = reason[:300]
                    msg.claimed_by = msg.claimed_until = msg.next_attempt_at = None
                    session.add(msg)
                    delivery.uncount_request(session, msg, customer, now)
                    return _BLOCKED
            msg.claimed_by = self.name
            msg.claimed_until = now + self.lease
            msg.attempts = (msg.attempts or 0) + 1
            session.add(msg)
            return Claim(msg.id, msg.phone, msg.shop_number, msg.body, msg.attempts, unknown, msg.created_at)

        while True:
            claim = db.run_write(session, work)
            if claim is not _BLOCKED:
                return claim

    def _find(self, session: Session, provider: Provider, claim: Claim) -> Optional[SendResult]:
        """The provider's record of this text, if it took it (settling an unknown outcome)."""
        since = (claim.created_at or utcnow() - dt.timedelta(days=3)) - dt.timedelta(minutes=2)  # clocks differ
        records = provider.find_sent(to=claim.phone, from_=claim.shop_number, since=since)
        candidates = [r for r in records if r.body == claim.body and (r.created_at is None or r.created_at >= since)]
        if not candidates:
            return None
        known = set(
            session.exec(
                select(Message.provider_sid).where(col(Message.provider_sid).in_([r.sid for r in candidates]))
            ).all()
        )
        for r in sorted(candidates, key=lambda r: (r.created_at or dt.datetime.min, r.sid)):
            if r.sid not in known:
                return SendResult(
                    Outcome.accepted,
                    sid=r.sid,
                    status=r.status or "queued",
                    detail="Found at the provider after an interrupted send",
                )
        return None

    def _record(self, session: Session, claim: Claim, result: SendResult) -> None:
        def work() -> None:
            now = utcnow()
            db.lock_phones(session, [claim.phone])
            msg = session.exec(
                select(Message).where(Message.id == claim.id).execution_options(populate_existing=True)
            ).first()
            if msg is None:
                return
            if result.outcome is Outcome.accepted:
                msg.claimed_by = msg.claimed_until = msg.next_attempt_at = None
                msg.reason = "" if msg.status is MessageStatus.sending else msg.reason
                delivery.apply_status(
                    session, msg, result.status or "queued", result.error_code, sid=result.sid, now=now
                )
                if msg.status is MessageStatus.sending:  # a word we did not know: it went
                    msg.status = MessageStatus.sent
                    msg.sent_at = now
                session.add(msg)
                self.sent += 1
            elif result.outcome is Outcome.retry and claim.attempts < MAX_ATTEMPTS:
                wait = max(result.retry_after or 0.0, backoff(claim.attempts))
                msg.claimed_by = msg.claimed_until = None  # certainly not taken: plainly try again
                msg.next_attempt_at = now + dt.timedelta(seconds=wait)
                msg.reason = f"The provider is busy ({result.detail or '429'}): trying again shortly"[:300]
                session.add(msg)
            elif result.outcome is Outcome.unknown and claim.attempts < MAX_ATTEMPTS:
                # maybe taken: keep the claim; when it lapses the sender asks the provider first
                msg.claimed_by = self.name
                msg.claimed_until = now + dt.timedelta(seconds=max(result.retry_after or 0.0, backoff(claim.attempts)))
                msg.reason = f"{result.detail or 'No answer from the provider'}: checking before trying again"[:300]
                session.add(msg)
            else:
                msg.status = MessageStatus.failed
                msg.error_code = result.error_code
                msg.reason = delivery.error_reason(result.error_code, result.detail)[:300] or "Not sent"
                msg.claimed_by = msg.claimed_until = msg.next_attempt_at = None
                session.add(msg)
                customer = session.exec(
                    select(Customer).where(Customer.phone == msg.phone).execution_options(populate_existing=True)
                ).first()
                delivery.uncount_request(session, msg, customer, now)
                if result.error_code:
                    delivery.carrier_outcome(session, msg, result.error_code, now=now)

        db.run_write(session, work)

    # --- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: send what is due; sleep a little when there is nothing."""
        log.info("texting sender %s started", self.name)
        while not stop.is_set():
            try:
                busy = self.step(stop)
            except Exception:  # a database hiccup must not end the sender; it is logged and retried
                log.exception("texting sender %s: step failed", self.name)
                busy = False
            if not busy:
                stop.wait(IDLE_POLL_S)
        log.info("texting sender %s stopped", self.name)


_BLOCKED = Claim(0, "", "", "", 0, False)  # a claim that ended blocked: look for the next


def start_thread(engine: Engine, **kwargs) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    sender = Sender(engine, **kwargs)
    thread = threading.Thread(target=sender.run, args=(stop,), name="optin-desk-sender", daemon=True)
    thread.start()
    return thread, stop


def main(argv: Optional[list[str]] = None) -> None:
    """`python -m core.messaging.sender`: the sender on its own (a replica without the dashboard)."""
    parser = argparse.ArgumentParser(description="Send live texts that are waiting (Ctrl-C to stop).")
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL or the SQLite file")
    parser.add_argument("--name", default="", help="this sender's name in claims")
    parser.add_argument("--rate", type=float, default=None, help="texts per second (default: the setting)")
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=LEASE.total_seconds(),
        help="how long a claim holds before it counts as interrupted (default 60; keep it above the 15 s HTTP timeout)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    engine = db.make_engine(args.database_url)
    bootstrap.init_db(engine)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Sender(engine, name=args.name, rate=args.rate, lease=dt.timedelta(seconds=args.lease_seconds)).run(stop)


if __name__ == "__main__":
    main()
