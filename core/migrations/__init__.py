"""Schema changes, as Alembic revisions (versions/), run at every start by core.bootstrap.

No alembic.ini: the configuration is built here, so the app migrates its database wherever
`streamlit run` is started from. `upgrade(conn)` runs inside the caller's transaction (which
holds the start lock), so several replicas starting at once migrate once.

A database made before migrations existed (tables from `create_all`, columns and indexes added
by the old `upgrade_schema`) has no alembic_version table: it is stamped at the revision its
tables match, then upgraded like any other.

For developers (DATABASE_URL picks the database, as for the app):
    python -m core.migrations revision "what changed"   # autogenerate a new revision from core/models.py
    python -m core.migrations upgrade | current | history
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent

BASELINE = "0001_baseline"  # the schema of release 3ad8db0, the last made by create_all alone
LOCKS_AND_LIMITS = "0002_locks_and_limits"  # customer.version, queued_requests, sign-in throttle, sign-up limits
STAFF_ACCOUNTS = "0006_staff_accounts"  # person, staff_session, activity (issue 17)

# Tables (and customer columns) revision 0002 adds: a database that has them all was made by
# create_all + upgrade_schema after that revision's models, and is stamped there.
_ADDED_BY_0002_TABLES = ("sign_in_throttle", "signup_attempt")
_ADDED_BY_0002_COLUMNS = ("version", "queued_requests")


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


_script: ScriptDirectory | None = None


def script() -> ScriptDirectory:
    """The revisions (read once per process: they are code, not data)."""
    global _script
    if _script is None:
        _script = ScriptDirectory.from_config(config())
    return _script


def head() -> str:
    return script().get_current_head()


def current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def legacy_revision(conn: Connection) -> str | None:
    """The revision a database made before migrations matches, or None if it has no tables.

    The old start-up created every table of its release and added what a newer release defined,
    so the tables present tell the release: all of 0002's tables and columns, 0002; else the baseline
    (0002's steps each check first, so a database upgrade_schema half-did finishes cleanly).
    """
    insp = inspect(conn)
    tables = set(insp.get_table_names())
    if "customer" not in tables:
        return None
    columns = {c["name"] for c in insp.get_columns("customer")}
    if set(_ADDED_BY_0002_TABLES) <= tables and set(_ADDED_BY_0002_COLUMNS) <= columns:
        return LOCKS_AND_LIMITS
    return BASELINE


def upgrade(conn: Connection) -> list[str]:
    """Bring the schema to head on `conn`, in its transaction. Returns the revisions applied."""
    before = current(conn)
    if before is None:
        stamp = legacy_revision(conn)
        if stamp is not None:
            log.info("database made before migrations: stamped at %s", stamp)
            command.stamp(config(conn), stamp)
            before = stamp
    target = head()
    if before == target:
        return []
    applied = [s.revision for s in reversed(list(script().iterate_revisions(target, before)))]
    log.info("migrating the database from %s to %s", before or "empty", target)
    command.upgrade(config(conn), "head")
    return applied


# --- helpers the revisions use (each step checks first, so a half-upgraded database finishes) ---


def has_table(name: str) -> bool:
    from alembic import op

    return inspect(op.get_bind()).has_table(name)


def has_column(table: str, column: str) -> bool:
    from alembic import op

    return column in {c["name"] for c in inspect(op.get_bind()).get_columns(table)}


def index_names(table: str) -> set[str]:
    """Every index on a table, expression indexes included (which reflection skips on SQLite)."""
    from alembic import op

    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"), {"t": table})
    else:
        rows = conn.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = :t AND schemaname = current_schema()"),
            {"t": table},
        )
    return {r[0] for r in rows}
