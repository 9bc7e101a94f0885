"""Alembic's environment: run the revisions on the connection the app passes in (core.migrations.upgrade),
or, from the command line (python -m core.migrations), on the database DATABASE_URL names."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from core import models  # noqa: F401  (registers the tables: autogenerate compares against them)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        compare_type=True,
        compare_server_default=True,
    )


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:  # the app's start: already inside the locked transaction
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from core import db

    engine = db.make_engine()
    try:
        with engine.begin() as conn:
            db.take_start_lock(conn)
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: run them against a database.")
run()
