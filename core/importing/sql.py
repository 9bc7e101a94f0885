"""Set-wise SQL on a session's own connection and transaction: INSERT ... ON CONFLICT DO NOTHING through
executemany, UPDATEs checked against each customer's version, and IN (...) lists read in batches straight
from the driver's cursor (no per-row ORM objects)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import DateTime
from sqlmodel import Session

from core.models import ConsentEvent, Customer, Message, PosContact

IN_BATCH = 5000  # values per IN (...) list

CUSTOMER = Customer.__table__
EVENT = ConsentEvent.__table__
MESSAGE = Message.__table__
POS_CONTACT = PosContact.__table__
CUSTOMER_COLS = [
    "first_name",
    "last_name",
    "phone",
    "email",
    "zip",
    "source",
    "source_detail",
    "sms_status",
    "status_changed_at",
    "opt_in_requests",
    "last_request_at",
    "created_at",
    "updated_at",
    "queued_requests",
    "version",
]
EVENT_COLS = [
    "customer_id",
    "phone",
    "old_status",
    "new_status",
    "occurred_at",
    "channel",
    "evidence",
    "dedupe_key",
    "pending_seconds",
    "customer_source",
    "consented_at",
]
MESSAGE_COLS = [
    "customer_id",
    "phone",
    "shop_number",
    "direction",
    "body",
    "kind",
    "status",
    "reason",
    "encoding",
    "segments",
    "created_at",
    "send_at",
    "sent_at",
    "bulk",
    "dedupe_key",
]


class Retry(IntegrityError):
    """A customer of this chunk was created or changed by someone else meanwhile: run the chunk again
    (db.run_write retries)."""

    def __init__(self):
        super().__init__("import chunk", None, Exception("a phone of this chunk was changed meanwhile; retrying"))


class Sql:
    """Set-wise SQL on the session's connection: dialect-specific INSERT ... ON CONFLICT via executemany."""

    def __init__(self, session: Session, compiled: Optional[dict] = None):
        self.session = session
        self.compiled = {} if compiled is None else compiled  # (dialect, table, columns) -> SQL, of one import
        self.conn = session.connection()
        self.versions: dict[int, int] = {}  # customer id -> the version this transaction read or wrote
        self.dialect = self.conn.dialect
        self.sqlite = self.dialect.name == "sqlite"
        self.ph = "?" if self.sqlite else "%s"
        impl = DateTime().dialect_impl(self.dialect)
        self._dt = impl.bind_processor(self.dialect) or (lambda v: v)
        self._dt_result = impl.result_processor(self.dialect, None) or (lambda v: v)

    def dt_result(self, value):
        return value if isinstance(value, dt.datetime) else self._dt_result(value)

    def dt(self, value: Optional[dt.datetime]):
        return None if value is None else self._dt(value)

    def insert(self, table, cols: list[str], rows: list[tuple], conflict: Optional[list[str]] = None) -> int:
        """INSERT rows (tuples in `cols` order) ... ON CONFLICT (conflict) DO NOTHING; returns rows inserted."""
        if not rows:
            return 0
        key = (self.dialect.name, table.name, tuple(cols), tuple(conflict or ()))
        if key not in self.compiled:
            ins = (sqlite_dialect.insert if self.sqlite else pg_dialect.insert)(table)
            stmt = ins.values({c: bindparam(c) for c in cols})
            if conflict:
                stmt = stmt.on_conflict_do_nothing(index_elements=conflict)
            compiled = stmt.compile(dialect=self.dialect)
            order = None
            if self.sqlite:
                pos = list(compiled.positiontup)
                order = [cols.index(p) for p in pos]
            self.compiled[key] = (compiled.string, order)
        sql, order = self.compiled[key]
        if self.sqlite:
            params = rows if order == list(range(len(cols))) else [tuple(r[i] for i in order) for r in rows]
        else:
            params = [dict(zip(cols, r)) for r in rows]
        result = self.conn.exec_driver_sql(sql, params)
        return result.rowcount

    def update(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.exec_driver_sql(sql.replace("?", self.ph), rows)

    def update_customers(self, assignments: str, rows: list[tuple]) -> bool:
        """UPDATE customer SET <assignments> for rows (values..., id), each checked against the version this
        chunk read (models.Customer.version). False when a row changed meanwhile (the caller retries)."""
        if not rows:
            return True
        ids = [r[-1] for r in rows]
        params = [(*r, self.versions.get(r[-1], 1)) for r in rows]
        sql = f"UPDATE customer SET {assignments}, version = version + 1 WHERE id = ? AND version = ?"
        result = self.conn.exec_driver_sql(sql.replace("?", self.ph), params)
        if result.rowcount != len(rows):
            return False
        for i in ids:
            self.versions[i] = self.versions.get(i, 1) + 1
        return True

    def write_status_changes(self, updates: list[tuple], events: list[tuple]) -> bool:
        """UPDATE the statuses (status, changed at, updated at, id) and INSERT their consent events, as
        customers.set_status does one at a time. False when a customer changed or an event's dedupe key
        was taken meanwhile (the caller runs the chunk again)."""
        if not self.update_customers("sms_status = ?, status_changed_at = ?, updated_at = ?", updates):
            return False
        return self.insert(EVENT, EVENT_COLS, events, conflict=["dedupe_key"]) == len(events)

    def existing_keys(self, table, keys: list[str]) -> set[str]:
        return {r[0] for r in in_rows(self.conn, f"SELECT dedupe_key FROM {table.name} WHERE dedupe_key", keys)}


def in_rows(conn, sql: str, values: list, tail: str = "", params: tuple = ()) -> list[tuple]:
    """Rows of `sql` + " IN (...)" for every value, in batches, straight from the driver's cursor
    (same connection and transaction as the session; no per-value compiling, no per-row wrapping).
    `sql` is written with ? placeholders for `params` (they come before the IN list's)."""
    if not values:
        return []
    ph = "?" if conn.dialect.name == "sqlite" else "%s"
    if ph != "?":
        sql = sql.replace("?", ph)
    cursor = conn.connection.driver_connection.cursor()
    out: list[tuple] = []
    try:
        for k in range(0, len(values), IN_BATCH):
            part = values[k : k + IN_BATCH]
            cursor.execute(f"{sql} IN ({', '.join([ph] * len(part))}){tail}", (*params, *part))
            out.extend(cursor.fetchall())
    finally:
        cursor.close()
    return out
