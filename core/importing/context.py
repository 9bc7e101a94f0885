"""What one import (or one POS request round) carries from step to step, and the dedupe keys that make
running it again change nothing.

Each event and message an import writes has a dedupe key built from the file's SHA-256 and the phone, so the
same file applies its statement about a phone once: re-running an import (also one cut off half way) ends in
the same state, with no second event or message.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

from sqlmodel import Session

from core.importing.mapping import Columns
from core.importing.reading import Opened
from core.importing.report import ImportReport
from core.models import Channel
from core.staff.roles import SHOP, Actor


class Row(NamedTuple):
    """One phone to apply: the row chosen for it, its names and email (blank = not in the file)."""

    phone: int
    verdict: int
    row: int
    first_name: str
    last_name: str
    email: str
    consented_at: Optional[dt.datetime] = None  # the old provider's consent date and source (§11)
    consent_source: str = ""


@dataclass
class PosTarget:
    """The POS source a sync or a re-evaluation works for (see core/pos.py)."""

    source_id: int
    name: str
    cutoff: Optional[dt.datetime]  # contacts synced at or after this UTC instant get a request; None = off
    round: int


@dataclass
class ImportContext:
    session: Session
    opened: Optional[Opened]
    columns: Optional[Columns]
    attested: bool
    origin: str
    now: dt.datetime
    write: bool
    send_requests: bool
    pos: Optional[PosTarget]
    report: Optional[ImportReport]
    defaults: Any = None
    sql: Any = None
    by: Actor = SHOP
    check_event_keys: bool = True  # False when no event of this file existed when the import started
    check_request_keys: bool = True
    live_clock: bool = False  # no `now` given: each chunk reads the clock under its lock (the ledger's order)
    compiled: dict = field(default_factory=dict)  # SQL compiled for this import (sql.Sql)
    _evidence_head: str = ""

    def evidence_json(self, row: int) -> str:
        """json.dumps(self.evidence(row)), built from a template (one per event of a million-row import)."""
        if not self._evidence_head:
            head = self.evidence(0)
            del head["row"]
            self._evidence_head = json.dumps(head)[:-1]
        return f'{self._evidence_head}, "row": {row}}}'

    @property
    def may_opt_in(self) -> bool:
        return self.attested and self.origin != Channel.pos_sync.value

    def event_key(self, phone: str, status: str) -> str:
        return f"{key_prefix(self.origin, self.opened.file_hash, None)}{phone}:{status}"

    def evidence(self, row: int, **extra) -> dict[str, Any]:
        ev: dict[str, Any] = {"file": self.opened.name, "row": row, "attested": bool(self.may_opt_in)}
        if self.by.id is not None:  # a person signed in to the dashboard ran it
            ev.update(self.by.evidence)
        if self.pos is not None:
            ev["pos_source"] = self.pos.name
        ev.update(extra)
        return ev


@dataclass(slots=True)
class Wanted:
    """A customer an opt-in request may go to, as it is after the import."""

    id: Optional[int]
    status: str
    requests: int
    last_request_at: Any  # datetime, or the database's text for it (SQLite)
    first_name: str
    row: Optional[int]
    source: str  # customers.source_key of the customer, for the consent event
    queued: int = 0  # requests of this customer waiting in the outbox
    zip: str = ""  # the customer's zip code: their state's sending window (rulebook §9)


def prefix_used(session: Session, table, prefix: str) -> bool:
    """Whether any dedupe key of `table` starts with `prefix` (binary order: a range on the unique index)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        sql = f"SELECT 1 FROM {table.name} WHERE dedupe_key >= ? AND dedupe_key < ? LIMIT 1"
        return conn.exec_driver_sql(sql, (prefix, upper)).first() is not None
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = f"SELECT 1 FROM {table.name} WHERE dedupe_key LIKE %s ESCAPE '\\' LIMIT 1"
    return conn.exec_driver_sql(sql, (like,)).first() is not None


def key_prefix(origin: str, file_hash: str, pos: Optional[PosTarget]) -> str:
    """Dedupe keys: "<origin>:<file>:<phone>:<status>" for a status change an import makes,
    "<origin>:<file>:<phone>:opt_in_request" for its request, "pos:<source>:r<round>:<phone>:opt_in_request"
    for a POS source's request (one per contact per date-setting round); file = the first 16 hex digits
    of the file's SHA-256."""
    if pos is not None:
        return f"pos:{pos.source_id}:r{pos.round}:"
    return f"{origin}:{file_hash[:16]}:"


def request_key(origin: str, file_hash: str, phone: str, pos: Optional[PosTarget]) -> str:
    return f"{key_prefix(origin, file_hash, pos)}{phone}:opt_in_request"
