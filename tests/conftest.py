"""Shared fixtures.

`engine` / `session` run a test on in-memory SQLite and, when TEST_DATABASE_URL
is set (CI sets it), again on PostgreSQL in a schema of its own.
`sqlite_session` is SQLite only (for tests of pages and pure flows).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import Session

from core import db
from core.bootstrap import init_db
from core.db import make_engine

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

# A fixed "now" inside the default sending window (08:00-20:00 America/Los_Angeles):
# 2026-11-30 19:00 UTC is 11:00 in San Francisco.
NOW = dt.datetime(2026, 11, 30, 19, 0, 0)


def _pg_engine_in_schema(schema: str):
    from sqlalchemy import create_engine

    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_engine(PG_URL).url
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)
    return engine


def _drop_schema(schema: str):
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


_migrated_template = None


def _memory_engine():
    """A private in-memory SQLite database, its schema copied from one migrated once per test run
    (running every revision takes ~60 ms; the copy ~1 ms). init_db then finds it at head and seeds it."""
    global _migrated_template
    if _migrated_template is None:
        template = make_engine("sqlite://")
        with db.start_transaction(template) as conn:
            db.migrate(conn)
        _migrated_template = template
    eng = make_engine("sqlite://")
    source, target = _migrated_template.raw_connection(), eng.raw_connection()
    try:
        source.driver_connection.backup(target.driver_connection)
    finally:
        source.close()
        target.close()
    return eng


def _engines(kind: str, sqlite_url: str):
    """An initialised engine on SQLite (`sqlite_url`) or in a fresh PostgreSQL schema; cleaned up after."""
    if kind == "sqlite":
        eng = _memory_engine() if sqlite_url == "sqlite://" else make_engine(sqlite_url)
        init_db(eng)
        yield eng
        eng.dispose()
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    eng = _pg_engine_in_schema(schema)
    init_db(eng)
    yield eng
    eng.dispose()
    _drop_schema(schema)


@pytest.fixture(params=BACKENDS)
def engine(request):
    yield from _engines(request.param, "sqlite://")


@pytest.fixture
def session(engine):
    with Session(engine) as s:
        yield s


@pytest.fixture
def sqlite_session():
    eng = _memory_engine()
    init_db(eng)
    with Session(eng) as s:
        yield s
    eng.dispose()


@pytest.fixture
def file_engine(tmp_path, request):
    """A SQLite file (WAL, several connections) or a PostgreSQL schema: for concurrency tests."""
    yield from _engines(getattr(request, "param", "sqlite"), f"sqlite:///{tmp_path / 'shop.db'}")


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    """A SQLite file the app (AppTest or a real server) uses through DATABASE_URL; yields its engine."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    eng = make_engine(url)
    init_db(eng)
    yield eng
    eng.dispose()
