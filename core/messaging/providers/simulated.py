"""The simulated provider: nothing leaves the machine. The outbox logs simulated texts as sent at once
(core/messaging/outbox.py), so this class only serves "Send a test text" and tests."""

from __future__ import annotations

import datetime as dt
import itertools

from core.messaging.providers.base import Outcome, SendResult, SentRecord

_ids = itertools.count(1)


class SimulatedProvider:
    name = "simulated"

    def send(self, *, to: str, from_: str, body: str, status_callback: str = "") -> SendResult:
        return SendResult(Outcome.accepted, sid=f"SIM{next(_ids):012d}", status="sent")

    def find_sent(self, *, to: str, from_: str, since: dt.datetime) -> list[SentRecord]:
        return []
