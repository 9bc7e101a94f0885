"""Rulebook §3 as data: what an inbound keyword does to a status. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
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
    for status, t in ((None, unknown_or_not_in), (NOT_IN, unknown_or_not_in),
                      (PENDING, pending), (IN, opted_in), (OUT, opted_out)):
        TABLE[(keyword, status)] = t


_row(Keyword.OPT_OUT,
     Transition(OUT, (OUT_CONF,)), Transition(OUT, (OUT_CONF,)), Transition(OUT, (OUT_CONF,)),
     NOTHING)  # no second confirmation
_row(Keyword.CONFIRM, JOIN, Transition(IN, (CONF,)), NOTHING, NOTHING)  # opted out must text START
_row(Keyword.RESUBSCRIBE, JOIN, Transition(IN, (CONF,)), NOTHING, Transition(IN, (RESUB,)))
_row(Keyword.HELP, Transition(None, (HELP,)), Transition(None, (HELP,)), Transition(None, (HELP,)),
     Transition(None, (HELP,)))

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
