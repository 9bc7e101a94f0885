"""Engine, schema and the write discipline shared by every service.

SQLite file by default (no set-up); PostgreSQL when DATABASE_URL is set.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Callable, TypeVar

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

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
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
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


def init_db(engine: Engine) -> None:
    """Create what is missing (tables, columns added by newer versions, indexes) and make sure
    texting defaults and the main sign-up form exist.

    Safe at every start, also from several app replicas at once.
    """
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Serialise concurrent first starts of several replicas.
            conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        SQLModel.metadata.create_all(conn)
        upgrade_schema(conn)
        from core import forms, texting  # local import: both use the helpers above

        # the first rows, in the same locked transaction: replicas starting together make one of each
        with Session(bind=conn) as session:
            texting.ensure_defaults(session)
            forms.ensure_main_form(session)
            session.flush()


def _python_default(table_name: str, column):
    """The value a model gives this column when none is set (its default or default factory)."""
    for mapper in SQLModel._sa_registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__tablename__", None) != table_name:
            continue
        field = cls.model_fields.get(column.name)
        if field is None:
            return None
        if field.default_factory is not None:
            return field.default_factory()
        default = field.default
        return None if default is None or repr(default) == "PydanticUndefined" else default
    return None


# Indexes an earlier version made that now mislead the query planner; dropped at start.
OBSOLETE_INDEXES = ("ix_consent_transition",)


def _index_names(conn, table_name: str) -> set[str]:
    """Every index on a table, expression indexes included (which reflection skips)."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                            {"t": table_name})
    else:
        rows = conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = :t "
                                 "AND schemaname = current_schema()"), {"t": table_name})
    return {r[0] for r in rows}


def upgrade_schema(conn) -> list[str]:
    """Add the columns and indexes a newer version defines to tables an older one created.

    New columns are added nullable and filled with their default, so an existing shop's
    database keeps working after an upgrade without a migration step. Returns what it did.
    """
    insp = inspect(conn)
    done: list[str] = []
    existing_tables = set(insp.get_table_names())
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        have = {c["name"] for c in insp.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            ddl_type = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {ddl_type}')
            value = _python_default(table.name, column)
            if value is not None:
                conn.execute(table.update().values({column.name: value}))
            done.append(f"{table.name}.{column.name}")
        index_names = _index_names(conn, table.name)
        for name in OBSOLETE_INDEXES:
            if name in index_names:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
                done.append(f"dropped index {name}")
        for index in table.indexes:
            if index.name and index.name not in index_names:
                index.create(conn)
                done.append(f"index {index.name}")
    return done


def lock_for_write(session: Session, key: str | None = None) -> None:
    """Start the write part of a service so concurrent writers queue instead of clashing.

    SQLite: BEGIN IMMEDIATE takes the database's write lock up front (waiting up to
    the busy timeout). PostgreSQL: a transaction-scoped advisory lock on `key`
    (a phone number, say) serialises writers for that key only.
    """
    bind = session.get_bind()
    if is_sqlite(bind):
        conn = session.connection()
        raw = conn.connection.dbapi_connection
        if not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif key is not None and bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode())})


def _transient(exc: Exception) -> bool:
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
        except (OperationalError, IntegrityError) as exc:
            session.rollback()
            if attempt == attempts - 1 or not _transient(exc):
                raise
            time.sleep(min(0.5, 0.01 * (2 ** attempt)) * (0.5 + random.random()))
        except BaseException:
            session.rollback()
            raise
    raise RuntimeError("unreachable")  # pragma: no cover

