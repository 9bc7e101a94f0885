"""The message log: every text, both directions, a page at a time (newest first, keyset)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from core import paging, phones
from core.clock import shop_time
from core.errors import OwnerError
from core.models import Direction, Message, MessageKind, MessageStatus

MIN_PHONE_DIGITS = 4
NEWEST_FIRST = paging.Keyset((Message.created_at, Message.id), descending=True)  # cursor: (created_at, id)


class InvalidFilter(OwnerError):
    """A log filter that cannot be applied; the message says how to fix it."""


@dataclass
class QueueSummary:
    queued: int
    next_send_at: Optional[dt.datetime]

    def headline(self, timezone: str) -> str:
        """'**2** messages queued for quiet hours; the next goes out 1 Dec 2026, 8:00 AM PST.' (markdown);
        '' when nothing is queued."""
        if not self.queued:
            return ""
        return (
            f"**{self.queued:,}** message{'s' if self.queued != 1 else ''} queued for quiet hours; "
            f"the next goes out {shop_time(self.next_send_at, timezone, empty='when the window opens')}."
        )


def release_sentence(summary: Any) -> str:
    """What "Release due messages" did (an outbox.SendSummary), in one sentence."""
    total = summary.sent + summary.blocked
    if not total:
        return "No queued message is due yet."
    return (
        f"Released {total:,} due message{'s' if total != 1 else ''}: {summary.sent:,} sent, "
        f"{summary.blocked:,} blocked."
    )


def _phone_condition(phone: str, region: str):
    text = " ".join(str(phone or "").split())
    if not text:
        return None
    try:
        return Message.phone == phones.normalize(text, region)
    except phones.InvalidPhone:
        pass
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_PHONE_DIGITS or re.search(r"[A-Za-z]", text):
        raise InvalidFilter(f"Type a whole phone number, or at least its last {MIN_PHONE_DIGITS} digits.")
    return col(Message.phone).like("%" + digits)


def _conditions(session: Session, *, direction, kinds, statuses, phone, region):
    conds = []
    if direction:
        conds.append(Message.direction == Direction(direction))
    kind_values = sorted({MessageKind(k).value for k in (kinds or [])})
    if kind_values:
        conds.append(col(Message.kind).in_([MessageKind(k) for k in kind_values]))
    status_values = sorted({MessageStatus(s).value for s in (statuses or [])})
    if status_values:
        conds.append(col(Message.status).in_([MessageStatus(s) for s in status_values]))
    if phone:
        if region is None:
            from core.messaging.texting import get_defaults

            region = get_defaults(session).default_region
        cond = _phone_condition(phone, region)
        if cond is not None:
            conds.append(cond)
    return conds


def page(
    session: Session,
    *,
    direction: Optional[Any] = None,
    kinds: Optional[Sequence[Any]] = None,
    statuses: Optional[Sequence[Any]] = None,
    phone: str = "",
    after: Optional[paging.Cursor] = None,
    limit: int = paging.PAGE_SIZE,
    region: Optional[str] = None,
) -> paging.Page:
    """One page of the log, newest first; InvalidFilter when the phone filter is not usable."""
    limit = paging.clamp(limit)
    conds = _conditions(session, direction=direction, kinds=kinds, statuses=statuses, phone=phone, region=region)
    stmt = select(Message).where(*conds)
    if after is not None:
        created, last_id = after
        stmt = stmt.where(NEWEST_FIRST.after((created, int(last_id))))
    rows = list(session.exec(stmt.order_by(*NEWEST_FIRST.order_by()).limit(limit + 1)).all())
    return paging.page_of(rows, limit=limit, keyset=NEWEST_FIRST)


def count(
    session: Session,
    *,
    direction: Optional[Any] = None,
    kinds: Optional[Sequence[Any]] = None,
    statuses: Optional[Sequence[Any]] = None,
    phone: str = "",
    region: Optional[str] = None,
) -> int:
    conds = _conditions(session, direction=direction, kinds=kinds, statuses=statuses, phone=phone, region=region)
    return int(session.exec(select(func.count()).select_from(Message).where(*conds)).one())


def queue_summary(session: Session) -> QueueSummary:
    """How many messages wait for their sending window, and when the next one goes (one aggregate)."""
    n, first = session.exec(
        select(func.count(), func.min(Message.send_at)).where(Message.status == MessageStatus.queued)
    ).one()
    return QueueSummary(queued=int(n or 0), next_send_at=first)


@dataclass
class Deadline:
    """How urgent a possible opt-out is: 'overdue', 'due_soon' (2 business days or less) or 'open'."""

    state: str
    business_days_left: int


DUE_SOON_BUSINESS_DAYS = 2


def deadline_state(deadline: dt.date, today: dt.date) -> Deadline:
    import numpy as np

    left = int(np.busday_count(np.datetime64(today, "D"), np.datetime64(deadline, "D")))
    if deadline < today:
        return Deadline("overdue", left)
    if left <= DUE_SOON_BUSINESS_DAYS:
        return Deadline("due_soon", left)
    return Deadline("open", left)


def log_rows(rows: Iterable[Message], region: str = "US", timezone: str = "UTC") -> list[dict[str, Any]]:
    """What the log table shows for each message (plain text; times in the shop's `timezone`, labelled)."""
    out = []
    for m in rows:
        inbound = m.direction is Direction.inbound
        out.append(
            {
                "time": shop_time(m.created_at, timezone),
                "direction": "in ←" if inbound else "out →",
                "phone": phones.format_display(m.phone, region),
                "kind": m.kind.label if m.kind else ("Customer's text" if inbound else ""),
                "status": m.status.value,
                "text": m.body,
                "reason": m.reason,
                "sends at": shop_time(m.send_at, timezone) if m.status is MessageStatus.queued else "",
                "shop number": phones.format_display(m.shop_number, region) if m.shop_number else "",
                "encoding": m.encoding,
                "segments": m.segments,
            }
        )
    return out
