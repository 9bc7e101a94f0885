"""The consent rules as data and pure functions: what an inbound keyword does to a status (§3), and what a
customer list says about a phone does to it (§7, §8). No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal, Optional

from core.consent.keywords import Keyword
from core.models import MessageKind, SmsStatus

Number = Literal["main", "join"]

NOT_IN = SmsStatus.not_opted_in
PENDING = SmsStatus.pending
IN = SmsStatus.opted_in
OUT = SmsStatus.opted_out

REQ = MessageKind.opt_in_request
CONF = MessageKind.opt_in_confirmation
OUT_CONF = MessageKind.opt_out_confirmation
RESUB = MessageKind.resubscribe_confirmation
HELP = MessageKind.help_reply


@dataclass(frozen=True)
class Transition:
    new_status: Optional[SmsStatus]  # None: no change
    sends: tuple[MessageKind, ...] = ()
    join_request: bool = False  # creates the customer when unknown, sends the opt-in request
    review: bool = False  # a possible opt-out, queued for the owner

    @property
    def changes(self) -> bool:
        return self.new_status is not None


NOTHING = Transition(None)
JOIN = Transition(PENDING, (REQ,), join_request=True)

# (keyword, status) -> transition, for any number; `None` status = unknown phone.
# Rows follow the table in shared/consent-rules.md §3.
TABLE: dict[tuple[Keyword, Optional[SmsStatus]], Transition] = {}


def _row(keyword: Keyword, unknown_or_not_in, pending, opted_in, opted_out) -> None:
    for status, t in (
        (None, unknown_or_not_in),
        (NOT_IN, unknown_or_not_in),
        (PENDING, pending),
        (IN, opted_in),
        (OUT, opted_out),
    ):
        TABLE[(keyword, status)] = t


_row(
    Keyword.OPT_OUT, Transition(OUT, (OUT_CONF,)), Transition(OUT, (OUT_CONF,)), Transition(OUT, (OUT_CONF,)), NOTHING
)  # no second confirmation
_row(Keyword.CONFIRM, JOIN, Transition(IN, (CONF,)), NOTHING, NOTHING)  # opted out must text START
_row(Keyword.RESUBSCRIBE, JOIN, Transition(IN, (CONF,)), NOTHING, Transition(IN, (RESUB,)))
_row(
    Keyword.HELP,
    Transition(None, (HELP,)),
    Transition(None, (HELP,)),
    Transition(None, (HELP,)),
    Transition(None, (HELP,)),
)

# Anything else depends on the number texted.
_MAIN_OTHER = NOTHING  # logged only
_JOIN_OTHER = {None: JOIN, NOT_IN: JOIN, PENDING: JOIN, IN: NOTHING, OUT: NOTHING}
_REVIEW = Transition(None, review=True)


def decide(status: Optional[SmsStatus], keyword: Keyword, number: Number = "main") -> Transition:
    """What an inbound text does: the new status (or None) and the message kinds to send.

    `status` None means the phone is unknown to the shop.
    A possible opt-out ("please stop texting me") never changes the status by itself and
    never triggers a join request, even on the Text To Join number: it goes to the owner.
    """
    if status is not None:
        status = SmsStatus(status)
    if keyword is Keyword.POSSIBLE_OPT_OUT:
        return _REVIEW
    if keyword is Keyword.NONE:
        return _JOIN_OTHER[status] if number == "join" else _MAIN_OTHER
    return TABLE[(keyword, status)]


# --- What a list says about a phone (rulebook §1, §7, §8) ------------------------------------------------


class ListOutcome(str, Enum):
    """How a customer list's statement about a phone (an import row, a POS contact) was applied."""

    no_status = "no_status"  # blank, or "no": the status stays as it is
    opted_in = "opted_in"  # says opted in, with the owner's attestation
    opted_out = "opted_out"  # says opted out: always applied
    not_attested = "not_attested"  # says opted in, imported as not opted in (no attestation, or POS data)
    kept_opted_out = "kept_opted_out"  # says opted in, but an opt-out (here or elsewhere in the file) wins


def list_statement(
    says: Optional[SmsStatus], status: Optional[SmsStatus], *, attested: bool, file_also_says_in: bool = False
) -> tuple[ListOutcome, Optional[SmsStatus]]:
    """(outcome, new status or None for no change) when a list says `says` about a phone whose customer has
    `status` (None: not a customer yet, i.e. not opted in). `says` None (or not_opted_in) is a blank or "no".

      says opted out               -> opted_out, always (no change when it already is)
      says opted in, opted out     -> stays opted out: opt-out wins
      says opted in, not attested  -> no change: POS data and unattested lists never opt anyone in
      says opted in, attested      -> opted_in from not_opted_in or pending
      blank or "no"                -> no change
    `file_also_says_in`: the phone's rows say both opted out and opted in; it becomes opted out, and the
    outcome is kept_opted_out (opt-out wins in the file too)."""
    current = NOT_IN if status is None else SmsStatus(status)
    says = None if says is None else SmsStatus(says)
    if says is OUT:
        return (
            ListOutcome.kept_opted_out if file_also_says_in else ListOutcome.opted_out,
            None if current is OUT else OUT,
        )
    if says is IN:
        if current is OUT:
            return ListOutcome.kept_opted_out, None
        if not attested:
            return ListOutcome.not_attested, None
        return ListOutcome.opted_in, (IN if current in (NOT_IN, PENDING) else None)
    return ListOutcome.no_status, None
