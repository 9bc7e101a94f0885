"""How fast are audiences and reports at 1,000,000 customers and 3,000,000 consent events (SQLite)?

    /tmp/venv-probe/bin/python -m bench.audiences_bench                 # ~3 min the first time
    /tmp/venv-probe/bin/python -m bench.audiences_bench --runs 9 --no-index-check

The shop is built by bench/bigdb.py (the Personas benchmark's generator) in a file of our own,
bench/out/audiences.db, and given once what the reports also read: three named POS sources
(source_detail of the POS customers), the main form's daily views and one submission per
sign-up-form customer, and 2,000 queued requests. The file is ours alone: the index check
drops and rebuilds indexes in it.

Each query runs through the app's code (core.audiences, core.reports) on the app's engine
(core.db.make_engine: WAL, same pragmas) in a fresh Session per run; the median of --runs
runs (after one warm-up) is reported in ms and as a ratio to a baseline measured in the same
run: a primary-key lookup of one customer through the ORM (as bench/personas_bench.py).

Targets: each audience count and each report figure < 200 ms; each chart query < 500 ms;
an export of 100,000 rows streams in < 10 s with bounded memory (the Python peak during the
export of 100,000 rows is about that of 10,000).

--index-check then drops the indexes added for this work, one at a time, re-times the
queries each one serves, and builds it again: which index made which query fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session  # noqa: E402

from bench.bigdb import OUT_DIR, build, ensure_schema  # noqa: E402
from bench.personas_bench import timed  # noqa: E402  (median of runs after a warm-up, fresh Session each)
from core.audiences import export as aud_export  # noqa: E402
from core.audiences import query as aud_query  # noqa: E402
from core.reports import charts, figures, member_club, period  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.models import Customer, SQLModel  # noqa: E402

PATH = OUT_DIR / "audiences.db"
NOW = dt.datetime(2026, 11, 30, 19, 0)  # bigdb's end of history
COUNT_MS, FIGURE_MS, CHART_MS, EXPORT_S = 200.0, 200.0, 500.0, 10.0
ENRICHED = "bench_audiences_v2"
POS_NAMES = ("Dutchie", "Treez", "Flowhub")


def prepare(path: Path, customers: int) -> None:
    """Our own big shop (bench/bigdb.py's build, in our own file), with POS names, form activity
    and a queue added once."""
    build(path, customers, 3)
    con = sqlite3.connect(path)
    done = con.execute("SELECT value FROM setting WHERE key = ?", (ENRICHED,)).fetchone()
    if done and done[0] == str(customers):
        con.close()
        return
    print("adding POS source names, sign-up form activity and a queue", flush=True)
    con.isolation_level = None
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("BEGIN")
    for i, name in enumerate(POS_NAMES):
        con.execute(
            "INSERT OR IGNORE INTO pos_source (name, last_counts, created_at) VALUES (?, '{}', ?)",
            (name, "2024-01-01 00:00:00.000000"),
        )
    con.execute(
        "UPDATE customer SET source_detail = CASE id % 3 WHEN 0 THEN 'Dutchie' WHEN 1 THEN 'Treez' "
        "ELSE 'Flowhub' END WHERE source = 'pos_sync'"
    )
    con.execute("UPDATE customer SET source_detail = 'main' WHERE source = 'signup_form'")
    form_id = con.execute("SELECT id FROM signup_form ORDER BY id LIMIT 1").fetchone()[0]
    con.execute(
        """
        INSERT OR IGNORE INTO form_view (form_id, day, views)
        WITH RECURSIVE d(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM d WHERE x < 1100)
        SELECT ?, date('2026-11-30', '-' || x || ' days'), 300 + (x * 37) % 200 FROM d""",
        (form_id,),
    )
    con.execute(
        """
        INSERT INTO form_submission (form_id, customer_id, disclosure_version, outcome, submitted_at, answers)
        SELECT ?, id, 1, 'pending', created_at, '{}' FROM customer WHERE source = 'signup_form'""",
        (form_id,),
    )
    con.execute("""
        INSERT INTO message (customer_id, phone, shop_number, direction, body, kind, status, reason, encoding,
                             segments, created_at, send_at, sent_at, bulk)
        SELECT id, phone, '+14155550100', 'outbound', 'request', 'opt_in_request', 'queued', 'Quiet hours',
               'GSM-7', 1, '2026-12-01 05:00:00.000000', '2026-12-01 16:00:00.000000', NULL, 1
        FROM customer WHERE sms_status = 'pending' ORDER BY id LIMIT 2000""")
    # what customers.set_status records with every event: the customer's source (bigdb inserts events
    # in bulk without it); its index is dropped for the update and built again by ensure_schema
    con.execute("DROP INDEX IF EXISTS ix_consent_new_time")
    con.execute("""
        UPDATE consent_event SET customer_source = (
            SELECT CASE WHEN c.source = 'pos_sync' AND c.source_detail != '' THEN 'pos_sync:' || c.source_detail
                        ELSE c.source END
            FROM customer c WHERE c.id = consent_event.customer_id)""")
    con.execute("INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", (ENRICHED, str(customers)))
    con.execute("COMMIT")
    con.close()
    ensure_schema(path)


def c(trait, op, value=None):
    return [{"trait": trait, "op": op, "value": value}]


AUDIENCES = [
    ("Opt-in status is true", c("opt_in_status", "is true")),
    ("Opt-in status is false", c("opt_in_status", "is false")),
    ("SMS status is one of pending, opted out", c("sms_status", "is one of", ["pending", "opted_out"])),
    ("Source is one of Text To Join", c("source", "is one of", ["text_to_join"])),
    ("Source is one of POS: Dutchie", c("source", "is one of", ["pos:Dutchie"])),
    ("Source is one of sign-up form, POS: Treez", c("source", "is one of", ["signup_form", "pos:Treez"])),
    ("Created before 2025-01-01", c("created", "before", "2025-01-01")),
    ("Created after 2026-06-01", c("created", "after", "2026-06-01")),
    ("Created between 2025-03-01 and 2025-05-31", c("created", "between", ["2025-03-01", "2025-05-31"])),
    ("Has phone is true", c("has_phone", "is true")),
    ("Has email is true", c("has_email", "is true")),
    ("Has email is false", c("has_email", "is false")),
    ("Birthday month is 5", c("birthday_month", "is", 5)),
    ("Birthday month is one of 11, 12", c("birthday_month", "is one of", [11, 12])),
    ("Zip code is 94110", c("zip", "is", "94110")),
    ("Zip code starts with 941", c("zip", "starts with", "941")),
    ("Last consent change before 2024-06-01", c("last_consent_change", "before", "2024-06-01")),
    ("Last consent change after 2026-11-01", c("last_consent_change", "after", "2026-11-01")),
    ("Pending for more than 30 days", c("pending_for", "more than", 30)),
    ("Opt-in true AND zip starts with 941", c("opt_in_status", "is true") + c("zip", "starts with", "941")),
    (
        "Opt-in true AND birthday month 5 AND has email",
        c("opt_in_status", "is true") + c("birthday_month", "is", 5) + c("has_email", "is true"),
    ),
    (
        "Opt-in true AND source is sign-up form",
        c("opt_in_status", "is true") + c("source", "is one of", ["signup_form"]),
    ),
    ("Opt-in true AND has email", c("opt_in_status", "is true") + c("has_email", "is true")),
    (
        "Opt-in false AND created before 2025-01-01",
        c("opt_in_status", "is false") + c("created", "before", "2025-01-01"),
    ),
    (
        "Source is sign-up form AND zip starts with 941",
        c("source", "is one of", ["signup_form"]) + c("zip", "starts with", "941"),
    ),
    (
        "Has email AND created between 2025-03-01 and 2025-05-31",
        c("has_email", "is true") + c("created", "between", ["2025-03-01", "2025-05-31"]),
    ),
    ("Source is Text To Join AND has email", c("source", "is one of", ["text_to_join"]) + c("has_email", "is true")),
    ("Contradiction: opted in AND pending", c("opt_in_status", "is true") + c("sms_status", "is one of", ["pending"])),
]

# which added index serves which case (names in core/models.py)
SERVES = {
    "ix_customer_birthday_month": [
        "count: Birthday month is 5",
        "count: Birthday month is one of 11, 12",
        "count: Opt-in true AND birthday month 5 AND has email",
    ],
    "ix_customer_zip": ["count: Zip code is 94110", "count: Zip code starts with 941"],
    "ix_customer_audience": [
        "count: Opt-in true AND zip starts with 941",
        "count: Opt-in true AND source is sign-up form",
        "count: Opt-in true AND has email",
        "count: Opt-in false AND created before 2025-01-01",
    ],
    "ix_customer_source_detail": [
        "count: Source is one of POS: Dutchie",
        "count: Source is one of sign-up form, POS: Treez",
    ],
    "ix_customer_status_changed": [
        "count: Pending for more than 30 days",
        "Member Club: first page",
        "Member Club: page 1,000 (keyset)",
    ],
    "ix_consent_new_time": [
        "figure: status counts 90 days ago (ledger rewound)",
        "figure: confirmations + median time to confirm (90 days)",
        "chart: opt-ins/outs per day, 90 days",
        "chart: by source, 90 days",
        "chart: double opt-in funnel, 90 days",
    ],
    "ix_consent_old_time": ["figure: status counts 90 days ago (ledger rewound)"],
    "ix_consent_customer_change": ["chart: double opt-in funnel, 90 days"],
    "ix_message_kind_sent": ["figure: requests sent + customers asked (90 days)"],
}


def export_run(engine, conditions, limit_rows=None, *, club=False) -> tuple[int, int, float]:
    """(rows, bytes, seconds) streaming the export to nowhere."""
    with Session(engine) as s:
        t0 = time.perf_counter()
        chunks = member_club.pending_export(s, now=NOW) if club else aud_export.export_csv(s, conditions, now=NOW)
        n_bytes = n_lines = 0
        for chunk in chunks:
            n_bytes += len(chunk)
            n_lines += chunk.count(b"\n")
            if limit_rows and n_lines > limit_rows:
                break
        return n_lines - 1, n_bytes, time.perf_counter() - t0


def export_peak(engine, conditions, *, club=False) -> int:
    tracemalloc.start()
    try:
        export_run(engine, conditions, club=club)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", default=str(PATH))
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-index-check", action="store_true")
    a = ap.parse_args()

    t0 = time.perf_counter()
    prepare(Path(a.path), a.customers)
    path = Path(a.path)
    print(f"database: {path} ({path.stat().st_size / 1e9:.2f} GB, ready in {time.perf_counter() - t0:.1f}s)")
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as s:
        counts = [
            s.connection().exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
            for t in ("customer", "consent_event", "message", "form_submission")
        ]
        today = period.local_today(s, NOW)
        pending_page = member_club.pending_requests(s, now=NOW)
        deep = pending_page
        for _ in range(999):
            deep = member_club.pending_requests(s, after=deep.next_cursor, now=NOW)
        deep_cursor = deep.next_cursor
        view_id = a.customers // 2 + 7
    print(
        f"rows: {counts[0]:,} customers, {counts[1]:,} consent events, {counts[2]:,} messages, "
        f"{counts[3]:,} form submissions"
    )

    last30 = (today - dt.timedelta(days=29), today)
    last365 = (today - dt.timedelta(days=364), today)
    with Session(engine) as s:
        p30 = period.shop_period(s, *last30)
        p90 = period.shop_period(s, today - dt.timedelta(days=89), today)
        p365 = period.shop_period(s, *last365)

    cases: list[tuple[str, str, object]] = [
        ("baseline", "baseline: customer by primary key", lambda s: s.get(Customer, view_id)),
    ]
    for name, conds in AUDIENCES:
        cases.append(("count", f"count: {name}", lambda s, conds=conds: aud_query.count(s, conds, now=NOW)))
    cases += [
        (
            "page",
            "preview page 1: Opt-in status is true",
            lambda s: aud_query.page(s, c("opt_in_status", "is true"), now=NOW),
        ),
        (
            "page",
            "preview page 1: Birthday month is 5",
            lambda s: aud_query.page(s, c("birthday_month", "is", 5), now=NOW),
        ),
        (
            "page",
            "preview page 1: Pending for more than 30 days",
            lambda s: aud_query.page(s, c("pending_for", "more than", 30), now=NOW),
        ),
        ("figure", "figure: status counts now", lambda s: figures.status_counts_at(s, None, now=NOW)),
        (
            "figure",
            "figure: status counts 30 days ago (ledger rewound)",
            lambda s: figures.status_counts_at(s, p30.start_utc, now=NOW),
        ),
        (
            "figure",
            "figure: status counts 90 days ago (ledger rewound)",
            lambda s: figures.status_counts_at(s, p90.start_utc, now=NOW),
        ),
        (
            "figure",
            "figure: status counts 365 days ago (ledger rewound)",
            lambda s: figures.status_counts_at(s, p365.start_utc, now=NOW),
        ),
        ("figure", "figure: requests sent + customers asked (30 days)", lambda s: figures.requests_sent(s, p30)),
        ("figure", "figure: requests sent + customers asked (90 days)", lambda s: figures.requests_sent(s, p90)),
        ("figure", "figure: requests sent + customers asked (365 days)", lambda s: figures.requests_sent(s, p365)),
        ("figure", "figure: confirmations + median time to confirm (30 days)", lambda s: figures.confirmations(s, p30)),
        ("figure", "figure: confirmations + median time to confirm (90 days)", lambda s: figures.confirmations(s, p90)),
        (
            "figure",
            "figure: confirmations + median time to confirm (365 days)",
            lambda s: figures.confirmations(s, p365),
        ),
        ("all", "all headline figures, last 30 days", lambda s: figures.headline(s, *last30, now=NOW)),
        ("all", "all headline figures, last 365 days", lambda s: figures.headline(s, *last365, now=NOW)),
        ("chart", "chart: opt-ins/outs per day, 30 days", lambda s: charts.opt_ins_and_outs(s, p30)),
        ("chart", "chart: opt-ins/outs per day, 90 days", lambda s: charts.opt_ins_and_outs(s, p90)),
        ("chart", "chart: opt-ins/outs per week, 365 days", lambda s: charts.opt_ins_and_outs(s, p365, by="week")),
        ("chart", "chart: by source, 30 days", lambda s: charts.by_source(s, p30)),
        ("chart", "chart: by source, 90 days", lambda s: charts.by_source(s, p90)),
        ("chart", "chart: by source, 365 days", lambda s: charts.by_source(s, p365)),
        ("chart", "chart: double opt-in funnel, 30 days", lambda s: charts.funnel(s, p30)),
        ("chart", "chart: double opt-in funnel, 90 days", lambda s: charts.funnel(s, p90)),
        ("chart", "chart: double opt-in funnel, 365 days", lambda s: charts.funnel(s, p365)),
        ("chart", "chart: form views + submissions, 30 days", lambda s: charts.form_activity(s, p30)),
        ("chart", "chart: form views + submissions, 365 days", lambda s: charts.form_activity(s, p365, by="week")),
        ("chart", "table: queued messages (first 20)", lambda s: figures.queued_messages(s)),
        ("page", "Member Club: first page", lambda s: member_club.pending_requests(s, now=NOW)),
        (
            "page",
            "Member Club: page 1,000 (keyset)",
            lambda s: member_club.pending_requests(s, after=deep_cursor, now=NOW),
        ),
    ]
    target = {"count": COUNT_MS, "figure": FIGURE_MS, "chart": CHART_MS, "page": FIGURE_MS}

    results = {}
    slow = []
    base = timed(engine, cases[0][2], a.runs)
    print(f"\nmedian of {a.runs} runs; ratio = time / primary-key lookup ({base:.2f} ms)")
    print(f"{'query':62} {'ms':>9} {'ratio':>8}  target", flush=True)
    for kind, name, fn in cases:
        ms = base if kind == "baseline" else timed(engine, fn, a.runs)
        results[name] = (kind, ms)
        limit = target.get(kind)
        flag = f"< {limit:.0f} ms" if limit else ""
        if limit and ms >= limit:
            flag = f"OVER {limit:.0f} ms"
            slow.append(name)
        print(f"{name:62} {ms:9.2f} {ms / base:8.1f}  {flag}", flush=True)

    print("\nexports (streamed; 100,000 rows each)")
    pending = c("sms_status", "is one of", ["pending"])
    for label, conds, club in (
        ("audience: SMS status is pending", pending, False),
        ("Member Club report (all pending)", None, True),
    ):
        rows, size, secs = export_run(engine, conds, club=club)
        peak = export_peak(engine, conds, club=club)
        small_peak = None
        if not club:
            small = c("sms_status", "is one of", ["pending"]) + c("created", "after", "2026-08-20")
            with Session(engine) as s:
                n_small = aud_query.count(s, small, now=NOW)
            small_peak = (n_small, export_peak(engine, small))
        flag = "" if secs < EXPORT_S else f"  OVER {EXPORT_S:.0f} s"
        if flag:
            slow.append(label)
        print(
            f"  {label:40} {rows:>8,} rows {size / 1e6:6.1f} MB in {secs:5.2f} s "
            f"({rows / secs:,.0f} rows/s); Python peak {peak / 1e6:.1f} MB{flag}",
            flush=True,
        )
        if small_peak:
            print(
                f"  {'  same, ' + f'{small_peak[0]:,} rows':40} Python peak {small_peak[1] / 1e6:.1f} MB "
                "(memory does not grow with the row count)"
            )

    if not a.no_index_check:
        print("\nindex check: each index added for audiences/reports dropped, its queries re-timed, rebuilt")
        print(f"{'index':28} {'query':58} {'with':>8} {'without':>9}")
        tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
        by_name = {i.name: i for t in tables.values() for i in t.indexes}
        fns = {name: fn for _, name, fn in cases}
        for index_name, names in SERVES.items():
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index_name}"')
            try:
                for name in names:
                    without = timed(engine, fns[name], max(1, min(a.runs, 3)))
                    print(f"{index_name:28} {name[:58]:58} {results[name][1]:8.1f} {without:9.1f}", flush=True)
            finally:
                t1 = time.perf_counter()
                with engine.begin() as conn:
                    by_name[index_name].create(conn)
                print(f"{'':28} (rebuilt in {time.perf_counter() - t1:.1f} s)")

    engine.dispose()
    if slow:
        print("\nover target: " + "; ".join(slow))
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
