"""A big SQLite shop for benchmarks: 1,000,000 customers, 3,000,000 consent events.

    from bench.bigdb import build
    path = build("bench/out/big.db")            # cached: reused when it already holds this size

Built with the app's own schema (SQLModel metadata, every index in core/models.py), then filled
by plain SQL (recursive CTEs, INSERT ... SELECT) on the raw sqlite3 connection with the indexes
dropped, and the indexes rebuilt at the end: about a minute on 2 cores. Timestamps are written in
exactly the format SQLAlchemy writes ('YYYY-MM-DD HH:MM:SS.ffffff'), so keyset cursors read back
through the ORM compare equal.

What is in it (N customers, ids 1..N, created over the three years up to 2026-11-30):
- names from small lists (so a last name matches ~N/300 customers), emails first.last<id>@example.com
  for 80 %, unique US phones (+1 <area> <7 digits>) spread over 10 area codes;
- sources: sign-up form 35 %, POS sync 30 %, CSV import 20 %, Text To Join 10 %, dashboard 3 %,
  texted the shop 2 %;
- consent events by id % 10 -> [0,1,2,2,2,3,4,5,5,6] events (mean 3): pending, opted in, then
  STOP/START alternating; the customer's status is the last event's (10 % not opted in, 10 %
  pending, 50 % opted in, 30 % opted out);
- messages: the opt-in request for every customer with an event, and the YES + post opt-in
  confirmation for every customer who confirmed (about 2.5 per customer).

Other benchmarks reuse it: build(path) returns quickly when the file already matches
(missing indexes added by newer models are created on reuse).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import sqlite3
import time
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "out"
DEFAULT_PATH = OUT_DIR / "big.db"
FORMAT_VERSION = "4"
MARKER_KEY = "bench_bigdb"

END = "2026-11-30 19:00:00"
SPAN_DAYS = 3 * 365

FIRST_NAMES = """James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan
Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra
Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George
Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary
Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen
Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack
Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas
Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah Judith Jeremy Megan Christian Andrea
Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa Austin Ann Carl Sara Arthur Madison
Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy Alice Joe Judy Bruce Sophia Gabriel Grace
Logan Denise Albert Amber Willie Doris Alan Marilyn Juan Danielle Wayne Beverly Elijah Isabella Randy Theresa Roy
Diana Vincent Natalie Ralph Brittany Eugene Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori Ada""".split()

LAST_NAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson
Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell
Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook
Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks
Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero
Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis
Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells
Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder
Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice
Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold
Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley
Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence
Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper Burke Larson Santiago
Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs OBrien Lynch Singh Vega Bishop Montgomery
Oliver Jensen Harvey Williamson Gilbert Dean Sims Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller
Wang Weber Welch Rojas Lucas Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler Mejia
Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas Schneider Joseph Barrett Navarro Figueroa
Keller Avila Wade Molina Stanley Hopkins Campos Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd Craig Ayala
Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz Norris Jennings Watts Duran
Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt Deleon Barker Terry Hale Leon Hail Benson Haynes Horton
Lovelace""".split()

AREA_CODES = ["415", "510", "650", "408", "707", "925", "628", "213", "310", "818"]

SOURCES = [  # (source, cumulative percent)
    ("signup_form", 35),
    ("pos_sync", 65),
    ("csv_import", 85),
    ("text_to_join", 95),
    ("dashboard", 98),
    ("inbound_sms", 100),
]

EVENT_COUNTS = [0, 1, 2, 2, 2, 3, 4, 5, 5, 6]  # by id % 10: mean 3
STATUS_AFTER = ["not_opted_in", "pending", "opted_in", "opted_out", "opted_in", "opted_out", "opted_in"]
STEPS = [  # j: (old, new, channel, evidence)
    ("not_opted_in", "pending", "signup_form", {"form": "main", "disclosure_version": 1, "signature": ""}),
    ("pending", "opted_in", "sms_reply", {"inbound_text": "YES"}),
    ("opted_in", "opted_out", "sms_reply", {"inbound_text": "STOP"}),
    ("opted_out", "opted_in", "sms_reply", {"inbound_text": "START"}),
    ("opted_in", "opted_out", "sms_reply", {"inbound_text": "STOP"}),
    ("opted_out", "opted_in", "sms_reply", {"inbound_text": "START"}),
]

OPT_IN_REQUEST = (
    "Green Leaf Goods: reply Y or YES to get our texts. Recurring msgs, up to 4/mo. "
    "Msg & data rates may apply. Reply HELP for help, STOP to opt out."
)
CONFIRMATION = (
    "Green Leaf Goods: you're in! Up to 4 msgs/mo. Msg & data rates may apply. Reply HELP for help, STOP to opt out."
)


def _ts(expr: str) -> str:
    """SQL for a timestamp in SQLAlchemy's SQLite format, from a julianday expression."""
    return f"strftime('%Y-%m-%d %H:%M:%S', {expr}) || '.000000'"


def _marker(customers: int, events_per_customer: int, messages: bool) -> str:
    return json.dumps(
        {"v": FORMAT_VERSION, "customers": customers, "epc": events_per_customer, "messages": messages}, sort_keys=True
    )


def _matches(path: Path, marker: str) -> bool:
    if not path.exists():
        return False
    try:
        con = sqlite3.connect(path)
        try:
            row = con.execute("SELECT value FROM setting WHERE key = ?", (MARKER_KEY,)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return bool(row) and row[0] == marker


def _columns_missing(engine) -> bool:
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    insp = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        if not insp.has_table(table.name):
            continue
        have = {c["name"] for c in insp.get_columns(table.name)}
        if any(c.name not in have for c in table.columns):
            return True
    return False


def ensure_schema(path: Path) -> bool:
    """Bring a cached file up to the current models: create missing tables and indexes.

    False when a column is missing (the file must be rebuilt)."""
    from sqlmodel import SQLModel

    from core.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    try:
        if _columns_missing(engine):
            return False
        SQLModel.metadata.create_all(engine)
        with engine.begin() as conn:
            have = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
            for table in SQLModel.metadata.sorted_tables:
                for index in table.indexes:
                    if index.name not in have:  # checkfirst misses expression indexes
                        index.create(conn)
    finally:
        engine.dispose()
    return True


def build(
    path: str | Path = DEFAULT_PATH,
    customers: int = 1_000_000,
    events_per_customer: int = 3,
    *,
    messages: bool = True,
    force: bool = False,
    quiet: bool = False,
) -> Path:
    """Create (or reuse) a SQLite file holding `customers` customers and about
    customers * events_per_customer consent events. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # several benchmarks may ask for the same file at once: one builds, the others wait and reuse it
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _build_locked(path, customers, events_per_customer, messages=messages, force=force, quiet=quiet)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_locked(
    path: Path, customers: int, events_per_customer: int, *, messages: bool, force: bool, quiet: bool
) -> Path:
    marker = _marker(customers, events_per_customer, messages)
    if not force and _matches(path, marker) and ensure_schema(path):
        return path
    tmp = path.with_name(path.name + ".building")
    for p in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
        p.unlink(missing_ok=True)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    t0 = time.perf_counter()

    from core.bootstrap import init_db
    from core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp}")
    init_db(engine)  # the app's schema, texting defaults, main form
    engine.dispose()

    con = sqlite3.connect(tmp, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("PRAGMA foreign_keys=OFF")

    tables = ("customer", "consent_event", "message")
    index_sql = con.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({','.join('?' * len(tables))})",
        tables,
    ).fetchall()
    for name, _sql in index_sql:
        con.execute(f'DROP INDEX "{name}"')

    con.execute("BEGIN")
    con.execute("CREATE TEMP TABLE fn(i INTEGER PRIMARY KEY, name TEXT)")
    con.execute("CREATE TEMP TABLE ln(i INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO fn VALUES (?, ?)", list(enumerate(FIRST_NAMES)))
    con.executemany("INSERT INTO ln VALUES (?, ?)", list(enumerate(LAST_NAMES)))
    con.execute("CREATE TEMP TABLE area(i INTEGER PRIMARY KEY, code TEXT)")
    con.executemany("INSERT INTO area VALUES (?, ?)", list(enumerate(AREA_CODES)))
    con.execute("CREATE TEMP TABLE counts(m INTEGER PRIMARY KEY, n INTEGER, status TEXT)")
    if events_per_customer == 3:
        pattern = EVENT_COUNTS
    else:
        pattern = [events_per_customer] * 10
    con.executemany(
        "INSERT INTO counts VALUES (?, ?, ?)",
        [
            (m, n, STATUS_AFTER[min(n, 6)] if n <= 6 else ("opted_in" if n % 2 == 0 else "opted_out"))
            for m, n in enumerate(pattern)
        ],
    )
    con.execute("CREATE TEMP TABLE steps(j INTEGER PRIMARY KEY, old TEXT, new TEXT, channel TEXT, evidence TEXT)")
    steps = []
    for j in range(max(pattern)):
        old, new, channel, evidence = STEPS[j] if j < len(STEPS) else STEPS[2 + (j - 2) % 2]
        steps.append((j, old, new, channel, json.dumps(evidence)))
    con.executemany("INSERT INTO steps VALUES (?, ?, ?, ?, ?)", steps)
    nf, nl, na = len(FIRST_NAMES), len(LAST_NAMES), len(AREA_CODES)
    per_area = -(-customers // na)
    stride = 79 if per_area * 79 < 8_000_000 else 1
    src_case = "CASE " + " ".join(f"WHEN r < {cum} THEN '{s}'" for s, cum in SOURCES) + " END"
    say(f"customers: inserting {customers:,}")
    con.execute(f"""
        INSERT INTO customer (id, first_name, last_name, phone, email, birthday, zip, source, source_detail,
                              sms_status, status_changed_at, opt_in_requests, last_request_at, created_at,
                              updated_at)
        WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < {customers}),
        base AS (
            SELECT x,
                   (x * 7 + (x / 13)) % {nf} AS fi,
                   (x * 11 + (x / 7)) % {nl} AS li,
                   julianday('{END}') - {SPAN_DAYS} * (1.0 - CAST(x AS REAL) / {customers})
                       + (((x * 2654435761) >> 9) % 1440 - 720) / 1440.0 AS jd,
                   ((x * 40503) >> 5) % 100 AS r
            FROM seq
        )
        SELECT b.x, fn.name, ln.name,
               '+1' || area.code || printf('%07d', 2000000 + ((b.x - 1) / {na}) * {stride}),
               CASE WHEN b.r % 5 = 0 THEN '' ELSE lower(fn.name) || '.' || lower(ln.name) || b.x || '@example.com' END,
               CASE WHEN b.r % 3 = 0 THEN date('1960-01-01', '+' || (b.x % 15000) || ' days') END,
               CASE WHEN b.r % 2 = 0 THEN printf('%05d', 94000 + b.x % 1000) ELSE '' END,
               {src_case.replace("r <", "b.r <")}, '',
               counts.status,
               CASE WHEN counts.n > 0 THEN {_ts("b.jd + (counts.n - 1) * 3.0 + 0.01")} END,
               CASE WHEN counts.n > 0 THEN 1 ELSE 0 END,
               CASE WHEN counts.n > 0 THEN {_ts("b.jd")} END,
               {_ts("b.jd")}, {_ts("b.jd")}
        FROM base b
        JOIN fn ON fn.i = b.fi JOIN ln ON ln.i = b.li JOIN area ON area.i = (b.x - 1) % {na}
        JOIN counts ON counts.m = b.x % 10
    """)
    say(f"  {time.perf_counter() - t0:.1f}s; consent events")
    event_cols = {r[1] for r in con.execute("PRAGMA table_info(consent_event)")}
    # seconds spent pending before the confirming YES (3 days), for the reports' median
    pending = (
        (", pending_seconds", ", CASE WHEN s.old = 'pending' THEN 259200 END")
        if "pending_seconds" in event_cols
        else ("", "")
    )
    con.execute(f"""
        INSERT INTO consent_event (customer_id, phone, old_status, new_status, occurred_at, channel, evidence,
                                   dedupe_key{pending[0]})
        SELECT c.id, c.phone, s.old, s.new, {_ts("julianday(c.created_at) + s.j * 3.0 + 0.01")}, s.channel,
               s.evidence, NULL{pending[1]}
        FROM customer c JOIN counts ON counts.m = c.id % 10 JOIN steps s ON s.j < counts.n
        ORDER BY c.id, s.j
    """)
    if messages:
        say(f"  {time.perf_counter() - t0:.1f}s; messages")
        con.execute(
            f"""
            INSERT INTO message (customer_id, phone, shop_number, direction, body, kind, status, reason, encoding,
                                 segments, created_at, send_at, sent_at, bulk, dedupe_key)
            SELECT c.id, c.phone, '+14155550100', d.direction, d.body, d.kind, d.status, '', 'GSM-7', d.segments,
                   {_ts("julianday(c.created_at) + d.j * 3.0 + d.dt")}, NULL,
                   CASE WHEN d.direction = 'outbound' THEN {_ts("julianday(c.created_at) + d.j * 3.0 + d.dt")} END,
                   0, NULL
            FROM customer c JOIN counts ON counts.m = c.id % 10
            JOIN (SELECT 0 AS j, 0.0 AS dt, 'outbound' AS direction, ? AS body, 'opt_in_request' AS kind,
                         'sent' AS status, 1 AS segments
                  UNION ALL SELECT 1, 0.005, 'inbound', 'YES', NULL, 'received', 1
                  UNION ALL SELECT 1, 0.0101, 'outbound', ?, 'opt_in_confirmation', 'sent', 1) d
              ON d.j < counts.n AND d.j < 2
            ORDER BY c.id, d.j, d.dt
        """,
            (OPT_IN_REQUEST, CONFIRMATION),
        )
    con.execute("COMMIT")
    say(f"  {time.perf_counter() - t0:.1f}s; indexes")
    for name, sql in index_sql:
        con.execute(sql)
    con.execute("INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", (MARKER_KEY, marker))
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
        p.unlink(missing_ok=True)
    tmp.rename(path)
    ensure_schema(path)
    say(f"  built {path} in {time.perf_counter() - t0:.1f}s")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", default=str(DEFAULT_PATH))
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--events-per-customer", type=int, default=3)
    ap.add_argument("--no-messages", action="store_true")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    build(a.path, a.customers, a.events_per_customer, messages=not a.no_messages, force=a.force)


if __name__ == "__main__":
    main()
