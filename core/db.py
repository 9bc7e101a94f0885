"""Engine, schema and the write discipline shared by every service.

SQLite file by default (no set-up); PostgreSQL when DATABASE_URL is set.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from core import models  # noqa: F401  (registers the tables)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "optin_desk.db"

T = TypeVar("T")


def database_url(url: str | None = None) -> str:
    if url:
        return url
    env = os.environ.get("DATABASE_URL", "").strip()
    if env:
        return env
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _normalise_url(url: str) -> str:
    # Heroku-style and bare postgres URLs use the psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """An engine for `url`, else DATABASE_URL, else the SQLite file beside the app.

    "sqlite://" gives a private in-memory database (tests).
    """
    url = _normalise_url(database_url(url))
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if in_memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, echo=echo, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            if not in_memory:
                _use_wal(cur)
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _use_wal(cur, attempts: int = 50) -> None:
    """Switch a SQLite file to WAL (it stays so). Switching takes an exclusive lock that does not
    wait on the busy timeout, so several processes opening a new file at once retry here."""
    for attempt in range(attempts):
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (1 + attempt % 5))


def is_sqlite(bind) -> bool:
    return bind.dialect.name == "sqlite"


def describe(engine: Engine) -> str:
    """Where the data lives, for the sidebar: never a password."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        db = url.database or ":memory:"
        return "SQLite (in memory)" if db in ("", ":memory:") else f"SQLite file {Path(db).name}"
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"PostgreSQL {host}{port}/{url.database or ''}"


# The key of the start lock: replicas starting together migrate and seed one at a time.
START_LOCK_KEY = 4242001


def take_start_lock(conn: Connection) -> None:
    """Serialise starts on `conn`'s transaction: PostgreSQL an advisory lock, SQLite BEGIN IMMEDIATE."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": START_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def start_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the start lock: core.bootstrap migrates and seeds in it."""
    with engine.begin() as conn:
        take_start_lock(conn)
        yield conn


def migrate(conn: Connection) -> list[str]:
    """Bring the schema to the newest revision (core/migrations), on `conn` under the start lock."""
    from core import migrations  # Alembic loads only when a database is opened

    return migrations.upgrade(conn)


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a name (blake2b: no collisions between key families)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def _begin_immediate(session: Session) -> bool:
    """SQLite: take the database's write lock now (waiting up to the busy timeout). True on SQLite."""
    if not is_sqlite(session.get_bind()):
        return False
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    if not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    return True


def lock_for_write(session: Session, key: str | None = None) -> None:
    """Start the write part of a service so concurrent writers queue instead of clashing.

    SQLite: BEGIN IMMEDIATE takes the database's write lock up front (waiting up to
    the busy timeout). PostgreSQL: a transaction-scoped advisory lock on `key`
    (a form, a setting) serialises writers for that key only. A phone's consent is
    locked with `lock_phones`, never with this.
    """
    if _begin_immediate(session):
        return
    if key is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("key:" + key)})


# A writer of more phones than this at once (an import chunk, a POS round) takes the lock of every
# phone in one step instead of one lock each (PostgreSQL's lock table is finite).
PHONE_LOCK_SET_LIMIT = 200
_EVERY_PHONE = _lock_key("every-phone")


def lock_phones(session: Session, phones) -> None:
    """The one lock every writer of a phone's consent takes, before it reads the customer.

    Inbound texts, dashboard requests and opt-outs, sign-ups, resends, imports, POS syncs,
    review decisions and the release of queued messages all call this with the E.164
    phones they will change, at the start of their transaction, so two writers of one
    phone never interleave. SQLite: the database write lock (BEGIN IMMEDIATE).
    PostgreSQL: a shared lock on "every phone" plus an exclusive lock per phone, taken in
    sorted order (no deadlock between writers of several phones); a writer of more than
    PHONE_LOCK_SET_LIMIT phones takes "every phone" exclusively instead.
    The customer row's version check (models.Customer.version) backs this up: a write
    based on a stale read fails and run_write retries it.
    """
    if _begin_immediate(session):
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_lock_key("phone:" + p) for p in phones if p})
    if len(keys) > PHONE_LOCK_SET_LIMIT:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _EVERY_PHONE})
        return
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _EVERY_PHONE})
    if keys:
        # unnest keeps the array's (sorted) order
        session.execute(
            text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"), {"keys": keys}
        )


def lock_every_phone(session: Session) -> None:
    """lock_phones for a writer that may touch any phone (a POS round picks its phones by query)."""
    if _begin_immediate(session):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _EVERY_PHONE})


def _transient(exc: Exception) -> bool:
    if isinstance(exc, StaleDataError):
        return True  # the row changed since it was read: read it again
    if isinstance(exc, IntegrityError):
        return True  # a concurrent insert of the same unique key: retry sees it
    msg = str(exc).lower()
    return any(w in msg for w in ("locked", "busy", "deadlock", "could not serialize", "serialization"))


def run_write(session: Session, fn: Callable[[], T], *, attempts: int = 8) -> T:
    """Run fn() and commit; on a transient clash roll back and try again.

    A failure that is not transient is re-raised after rollback, so a
    half-finished action never leaves the database changed.
    """
    for attempt in range(attempts):
        try:
            result = fn()
            session.commit()
            return result
        except (OperationalError, IntegrityError, StaleDataError) as exc:
            session.rollback()
            if attempt == attempts - 1 or not _transient(exc):
                raise
            time.sleep(min(0.5, 0.01 * (2**attempt)) * (0.5 + random.random()))
        except BaseException:
            session.rollback()
            raise
    raise RuntimeError("unreachable")  # pragma: no cover
