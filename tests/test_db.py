"""Engine and schema: SQLite by default, PostgreSQL by URL, safe at every start."""

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session

from core import bootstrap, db
from core.models import TextingDefaults
from tests.conftest import BACKENDS


def test_the_default_database_is_a_sqlite_file_git_ignores(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = db.database_url()
    assert url.startswith("sqlite:///") and url.endswith("optin_desk.db")
    ignored = (db.PROJECT_ROOT / ".gitignore").read_text()
    assert "*.db" in ignored


def test_database_url_wins_when_set(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:secret@db.example:5432/shop")
    engine = db.make_engine()
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    assert "secret" not in db.describe(engine)
    assert db.describe(engine) == "PostgreSQL db.example:5432/shop"


def test_a_sqlite_file_gets_wal_a_busy_timeout_and_foreign_keys(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.describe(engine) == "SQLite file x.db"


def test_init_db_is_safe_to_run_at_every_start(engine):
    bootstrap.init_db(engine)
    bootstrap.init_db(engine)
    with Session(engine) as s:
        assert s.get(TextingDefaults, 1) is not None
    names = set(inspect(engine).get_table_names())
    assert {"customer", "consent_event", "message", "texting_defaults", "possible_opt_out"} <= names


def test_indexes_exist_for_what_the_pages_ask(engine):
    insp = inspect(engine)
    cols = lambda table: [tuple(ix["column_names"]) for ix in insp.get_indexes(table)]  # noqa: E731
    assert ("sms_status", "id") in cols("customer")
    assert ("created_at", "id") in cols("customer")
    assert ("phone", "created_at") in cols("message")
    uniques = [tuple(u["column_names"]) for u in insp.get_unique_constraints("customer")] + [
        tuple(ix["column_names"]) for ix in insp.get_indexes("customer") if ix.get("unique")
    ]
    assert ("phone",) in uniques


@pytest.mark.parametrize("kind", BACKENDS)
def test_several_replicas_starting_at_once_create_one_schema_and_one_settings_row(kind, tmp_path):
    import threading
    import uuid

    from sqlmodel import func, select

    from core.models import SignupForm
    from tests.conftest import _drop_schema, _pg_engine_in_schema

    schema = "t_" + uuid.uuid4().hex[:12]
    if kind == "sqlite":
        make = lambda: db.make_engine(f"sqlite:///{tmp_path / 'replicas.db'}")  # noqa: E731
    else:
        _pg_engine_in_schema(schema).dispose()
        make = lambda: _pg_engine_in_schema_existing(schema)  # noqa: E731
    errors = []
    barrier = threading.Barrier(4)

    def replica():
        eng = make()
        try:
            barrier.wait()
            bootstrap.init_db(eng)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        eng = make()
        with Session(eng) as s:
            assert s.exec(select(func.count()).select_from(TextingDefaults)).one() == 1
            assert s.exec(select(func.count()).select_from(SignupForm).where(SignupForm.is_main)).one() == 1
        eng.dispose()
    finally:
        if kind != "sqlite":
            _drop_schema(schema)


def _pg_engine_in_schema_existing(schema):
    from sqlalchemy import create_engine

    from tests.conftest import PG_URL

    return create_engine(db.make_engine(PG_URL).url, connect_args={"options": f"-csearch_path={schema}"})
