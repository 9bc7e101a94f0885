"""What a texting provider does for Opt-In Desk: send one text, and find one it may already have sent.

A provider is one module (simulated.py, twilio.py) with a class implementing `Provider`; the sender
(core/messaging/sender.py) and the webhooks (core/messaging/webhooks.py) speak only this interface.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Protocol


class Outcome(str, Enum):
    accepted = "accepted"  # the provider took the message (it has a sid)
    retry = "retry"  # certainly not taken (429 Too Many Requests): send again later
    unknown = "unknown"  # maybe taken (5xx, timeout, connection lost): look it up before sending again
    rejected = "rejected"  # refused for good (4xx with an error code): never retried


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    sid: str = ""
    status: str = ""  # the provider's own status word ("queued", "sent", ...)
    error_code: Optional[int] = None
    detail: str = ""  # what the provider said, for the message log (never a credential)
    retry_after: Optional[float] = None  # seconds, when the provider said


@dataclass(frozen=True)
class SentRecord:
    """A message the provider holds, as its list API reports it."""

    sid: str
    to: str
    from_: str
    body: str
    created_at: Optional[dt.datetime]  # UTC, naive
    status: str = ""


class Provider(Protocol):
    name: str

    def send(self, *, to: str, from_: str, body: str, status_callback: str = "") -> SendResult:
        """Hand one text to the provider. Never raises for a network or HTTP error: the result says."""

    def find_sent(self, *, to: str, from_: str, since: dt.datetime) -> list[SentRecord]:
        """The texts the provider took from `from_` to `to` since `since` (UTC), to settle a send whose
        outcome is unknown. Raises ProviderUnavailable when it cannot tell."""


class ProviderUnavailable(RuntimeError):
    """The provider could not be asked (network, 5xx): try again later."""
