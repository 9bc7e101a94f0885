"""Schema changes are Alembic revisions (core/migrations) run at every start under the start lock.

A shop's existing database, made by the previous release (tables from create_all, no alembic_version),
is recognised, stamped and upgraded with its data kept; a new database ends at the newest revision; the
revisions build exactly the schema core/models.py describes.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel, select

from core import bootstrap, db, migrations
from core.messaging import inbox, outbox
from core.models import (
    ConsentEvent,
    Customer,
    ImportRun,
    Message,
    MessageStatus,
    SmsStatus,
    TextingDefaults,
)
from tests.conftest import BACKENDS, PG_URL, _drop_schema, _pg_engine_in_schema

FIXTURES = Path(__file__).parent / "fixtures" / "release_3ad8db0"
SERIAL_TABLES = ("customer", "consent_event", "message", "import_run")


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def load_previous_release(engine, *, with_data: bool = True) -> None:
    """The database exactly as release 3ad8db0 made it (its frozen DDL), with a small shop's rows."""
    schema = (FIXTURES / f"schema.{engine.dialect.name}.sql").read_text()
    with engine.begin() as conn:
        for stmt in _statements(schema):
            conn.exec_driver_sql(stmt)
        if with_data:
            for stmt in _statements((FIXTURES / "data.sql").read_text()):
                conn.exec_driver_sql(stmt)
            if engine.dialect.name == "postgresql":  # rows inserted with their ids: move the sequences on
                for table in SERIAL_TABLES:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )


@pytest.fixture(params=BACKENDS)
def empty_engine(request, tmp_path):
    """An empty SQLite file or PostgreSQL schema: nothing created yet."""
    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
        yield eng
        eng.dispose()
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    eng = _pg_engine_in_schema(schema)
    yield eng
    eng.dispose()
    _drop_schema(schema)


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return migrations.current(conn)


def _index_names(engine, table: str) -> set[str]:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"),
                {"t": table},
            )
        else:
            rows = conn.execute(
                text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = :t AND "
                    "schemaname = current_schema() AND indexname NOT LIKE '%_pkey' "
                    "AND indexname NOT LIKE '%_key'"
                ),
                {"t": table},
            )
        return {r[0] for r in rows}


def test_a_new_database_runs_every_revision_and_ends_at_head(empty_engine):
    bootstrap.init_db(empty_engine)
    assert _revision(empty_engine) == migrations.head() == migrations.STAFF_ACCOUNTS
    with Session(empty_engine) as s:
        assert s.get(TextingDefaults, 1).brand == "Green Leaf Goods"
    bootstrap.init_db(empty_engine)  # every later start: nothing to do
    assert _revision(empty_engine) == migrations.head()


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_the_revisions_build_exactly_the_schema_the_models_describe(empty_engine):
    bootstrap.init_db(empty_engine)
    with empty_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []
    # expression indexes (lower(name), the phone's last 4 digits, birthday month) by name too:
    # SQLite's reflection skips them, so compare_metadata alone would not see one missing
    for table in SQLModel.metadata.sorted_tables:
        expected = {ix.name for ix in table.indexes}
        assert _index_names(empty_engine, table.name) == expected, table.name


def test_a_database_made_by_the_previous_release_is_upgraded_at_start_and_keeps_its_data(empty_engine):
    load_previous_release(empty_engine)
    with empty_engine.connect() as conn:
        assert not inspect(conn).has_table("alembic_version")
        assert migrations.legacy_revision(conn) == migrations.BASELINE

    bootstrap.init_db(empty_engine)

    assert _revision(empty_engine) == migrations.head()
    with Session(empty_engine) as s:
        people = {c.first_name: c for c in s.exec(select(Customer))}
        assert {n: c.sms_status for n, c in people.items()} == {
            "Ada": SmsStatus.opted_in,
            "Ben": SmsStatus.pending,
            "Cy": SmsStatus.opted_out,
            "Dee": SmsStatus.not_opted_in,
        }
        assert people["Ada"].email == "ada@example.com" and people["Ada"].birthday == dt.date(1990, 3, 4)
        # Ben's queued request leaves the sent counter for the new queued one; the limit still sees 2
        assert (people["Ben"].opt_in_requests, people["Ben"].queued_requests) == (1, 1)
        assert (people["Ada"].opt_in_requests, people["Ada"].queued_requests) == (1, 0)
        assert {c.version for c in people.values()} == {1}
        assert len(s.exec(select(ConsentEvent)).all()) == 5
        assert s.get(ConsentEvent, 2).evidence == {"inbound_text": "Y"}
        assert len(s.exec(select(Message)).all()) == 6
        assert s.get(Message, 4).status == MessageStatus.queued
        assert s.get(ImportRun, 1).counts == {"created": 2}
        assert s.get(TextingDefaults, 1).brand == "Kind Leaf Co"  # the shop's settings, not the defaults
    assert {"sign_in_throttle", "signup_attempt"} <= set(inspect(empty_engine).get_table_names())

    # and the shop goes on working: the queued request goes out, a STOP is honoured
    with Session(empty_engine) as s:
        outbox.release_due(s, now=dt.datetime(2026, 1, 7, 17, 0))
        ben = s.get(Customer, 2)
        assert (ben.opt_in_requests, ben.queued_requests) == (2, 0)
        inbox.receive(s, phone="+14155550101", body="STOP", now=dt.datetime(2026, 1, 9, 18, 0))
        assert s.get(Customer, 1).sms_status == SmsStatus.opted_out


def test_a_database_the_old_start_up_already_upgraded_is_stamped_where_it_is(empty_engine):
    """The previous start-up (create_all + upgrade_schema) may have added this revision's columns
    and tables already, data fix included: it is stamped at that revision and the fix is not redone."""
    load_previous_release(empty_engine)
    with empty_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN queued_requests INTEGER DEFAULT '0'")
        conn.exec_driver_sql("UPDATE customer SET queued_requests = 1, opt_in_requests = 1 WHERE id = 2")
        conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN version INTEGER DEFAULT '1'")
        SQLModel.metadata.tables["sign_in_throttle"].create(conn)
        SQLModel.metadata.tables["signup_attempt"].create(conn)
        assert migrations.legacy_revision(conn) == migrations.LOCKS_AND_LIMITS

    bootstrap.init_db(empty_engine)

    assert _revision(empty_engine) == migrations.head()
    with Session(empty_engine) as s:
        ben = s.get(Customer, 2)
        assert (ben.opt_in_requests, ben.queued_requests) == (1, 1)


def test_a_half_upgraded_database_is_finished_by_the_revision(empty_engine):
    """upgrade_schema got as far as one column before the old start stopped: the baseline is stamped and
    the revision adds only what is missing (the data fix runs with the column it belongs to)."""
    load_previous_release(empty_engine)
    with empty_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN version INTEGER DEFAULT '1'")
        conn.exec_driver_sql('CREATE INDEX "ix_consent_transition" ON consent_event (new_status, old_status)')
        assert migrations.legacy_revision(conn) == migrations.BASELINE

    bootstrap.init_db(empty_engine)

    with Session(empty_engine) as s:
        ben = s.get(Customer, 2)
        assert (ben.opt_in_requests, ben.queued_requests, ben.version) == (1, 1, 1)
    assert "ix_consent_transition" not in _index_names(empty_engine, "consent_event")  # misled the planner
    assert "ix_signup_attempt_phone" in _index_names(empty_engine, "signup_attempt")


@pytest.mark.parametrize("kind", BACKENDS)
def test_several_replicas_starting_on_an_old_database_migrate_it_once(kind, tmp_path):
    """Four replicas start together on the previous release's database: one migrates (the data fix
    runs once), the others wait for the start lock and find it at head."""
    schema = "t_" + uuid.uuid4().hex[:12]
    if kind == "sqlite":

        def make():
            return db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        from sqlalchemy import create_engine

        _pg_engine_in_schema(schema).dispose()

        def make():
            return create_engine(db.make_engine(PG_URL).url, connect_args={"options": f"-csearch_path={schema}"})

    first = make()
    load_previous_release(first)
    first.dispose()
    errors: list[BaseException] = []
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
        assert _revision(eng) == migrations.head()
        with Session(eng) as s:
            ben = s.get(Customer, 2)
            assert (ben.opt_in_requests, ben.queued_requests) == (1, 1)  # not 0 and 2: the fix ran once
        eng.dispose()
    finally:
        if kind != "sqlite":
            _drop_schema(schema)


def test_db_no_longer_imports_the_services_it_serves():
    """core/db.py is engine, schema and transactions: the seeding that needs forms and texting is in
    core/bootstrap.py, so db imports neither (no import cycle)."""
    source = (Path(db.__file__)).read_text()
    assert "forms" not in source and "texting" not in source
    assert not hasattr(db, "upgrade_schema") and not hasattr(db, "init_db")
