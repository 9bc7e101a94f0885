"""The training shop: a separate database seeded with the demo shop, for walkthroughs.

SQLite: a file of its own beside the shop's (``<shop>.training-<token>.db``).
PostgreSQL: a schema of its own (``training_<token>``) in the shop's database.
Nothing a trainee does touches the real shop's tables. The demo shop (core/demo.py) is kept
apart the same way, with these helpers (separate_url, exists, drop).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import bootstrap, db
from core.clock import as_utc
from core.models import Setting
from core.errors import OwnerError

STARTED_KEY = "training_started_at"
TRAINEE_KEY = "training_trainee"


class TrainingError(OwnerError):
    pass


def _token(token: str) -> str:
    clean = re.sub(r"[^a-z0-9]", "", token.lower())[:16]
    if not clean:
        raise TrainingError("A training shop needs a name made of letters and digits.")
    return clean


def separate_url(main_url: str, name: str) -> str:
    """Where a shop kept apart from the real one lives (the training shop, the demo shop).

    SQLite: ``<shop>.<name>.db`` beside the shop's file. PostgreSQL: schema ``<name>`` (dashes as
    underscores; after the shop's own schema and ``_`` when its URL names one) in the same database.
    """
    main_url = db.database_url(main_url)
    if main_url.startswith("sqlite"):
        path = main_url.split("///", 1)[1] if "///" in main_url else ""
        if not path or path == ":memory:":
            raise TrainingError(
                "A training or demo shop needs the real shop to be stored in a file or on PostgreSQL, not in memory."
            )
        p = Path(path)
        suffix = p.suffix or ".db"
        return f"sqlite:///{p.with_name(f'{p.stem}.{name}{suffix}')}"
    parts = urlsplit(main_url)
    query = dict(parse_qsl(parts.query))
    schema = name.replace("-", "_")
    own = _schema_in(query.get("options", ""))
    query["options"] = f"-csearch_path={own + '_' if own else ''}{schema}"
    return urlunsplit(parts._replace(query=urlencode(query)))


def training_url(main_url: str, token: str) -> str:
    """Where this trainee's training shop lives, derived from the real shop's URL."""
    return separate_url(main_url, f"training-{_token(token)}")


def _schema_in(text: str) -> Optional[str]:
    m = re.search(r"search_path(?:%3D|=)([A-Za-z0-9_]+)", text)
    return m.group(1) if m else None


def _schema(url: str) -> Optional[str]:
    return _schema_in(url) if not url.startswith("sqlite") else None


def _admin(url: str) -> Engine:
    """An engine on the shop's PostgreSQL database itself (no schema chosen)."""
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qsl(parts.query) if k != "options"}
    return db.make_engine(urlunsplit(parts._replace(query=urlencode(query))))


def _schema_ddl(url: str, statement: str) -> bool:
    """Run `statement` (with {schema}) on the shop's PostgreSQL database; False when not a schema."""
    schema = _schema(url)
    if not schema:
        return False
    admin = _admin(url)
    with admin.begin() as conn:
        conn.execute(text(statement.format(schema=schema)))
    admin.dispose()
    return True


def _create_storage(url: str) -> None:
    _schema_ddl(url, 'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def exists(url: str) -> bool:
    """True when the separate shop at `url` has its file or schema (without creating either)."""
    schema = _schema(url)
    if schema is None:
        return Path(url.split("///", 1)[1]).exists()
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            return (
                conn.execute(
                    text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
                ).first()
                is not None
            )
    finally:
        admin.dispose()


def drop(url: str, engine: Optional[Engine] = None) -> None:
    """Delete a separate shop entirely (its schema, or its file with SQLite's -wal and -shm)."""
    if engine is not None:
        engine.dispose()
    if _schema_ddl(url, 'DROP SCHEMA IF EXISTS "{schema}" CASCADE'):
        return
    path = Path(url.split("///", 1)[1])
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def is_seeded(engine: Engine) -> bool:
    with Session(engine) as s:
        return s.get(Setting, STARTED_KEY) is not None


def seed(engine: Engine, *, trainee: str = "", now: Optional[dt.datetime] = None) -> None:
    """Create the tables, load the demo shop and remember when training started."""
    from core.training import demo

    now = as_utc(now)
    bootstrap.init_db(engine)
    with Session(engine) as s:
        if demo.is_empty(s):
            demo.load_demo(s, now=now, age_gate=False)  # the walkthrough's scenarios: no age gate
        db.run_write(s, lambda: _mark_start(s, trainee, now))


def _mark_start(s: Session, trainee: str, now: dt.datetime) -> None:
    for key, value in ((STARTED_KEY, now.isoformat()), (TRAINEE_KEY, trainee.strip()[:100])):
        row = s.get(Setting, key) or Setting(key=key)
        row.value = value
        s.add(row)


def prepare(main_url: str, token: str, *, trainee: str = "") -> str:
    """Make (or reuse) this trainee's training shop and return its URL."""
    url = training_url(main_url, token)
    _create_storage(url)
    engine = db.make_engine(url)
    try:
        bootstrap.init_db(engine)
        if not is_seeded(engine):
            seed(engine, trainee=trainee)
    except Exception:
        engine.dispose()
        raise
    engine.dispose()
    return url


def reset(url: str, *, trainee: str = "") -> None:
    """Start the training shop afresh: drop it, create it, seed it again."""
    drop(url)
    _create_storage(url)
    engine = db.make_engine(url)
    try:
        seed(engine, trainee=trainee)
    finally:
        engine.dispose()


def started_at(session: Session) -> Optional[dt.datetime]:
    row = session.get(Setting, STARTED_KEY)
    return dt.datetime.fromisoformat(row.value) if row and row.value else None


def trainee(session: Session) -> str:
    row = session.get(Setting, TRAINEE_KEY)
    return row.value if row else ""


def set_trainee(session: Session, name: str) -> None:
    def write():
        row = session.get(Setting, TRAINEE_KEY) or Setting(key=TRAINEE_KEY)
        row.value = (name or "").strip()[:100]
        session.add(row)

    db.run_write(session, write)


# --- Marks: things a trainee did that leave no other trace in the data ------------------

MARK_PREFIX = "training_mark:"


def mark(session: Session, name: str, value: str = "1") -> None:
    """Remember that something happened in the training shop (e.g. a refused template)."""
    key = MARK_PREFIX + name[:50]

    def write():
        row = session.get(Setting, key) or Setting(key=key)
        row.value = value
        session.add(row)

    db.run_write(session, write)


def marks(session: Session) -> dict[str, str]:
    rows = session.exec(select(Setting).where(Setting.key.startswith(MARK_PREFIX))).all()
    return {r.key[len(MARK_PREFIX) :]: r.value for r in rows}
