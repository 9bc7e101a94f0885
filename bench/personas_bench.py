"""How fast are the queries behind the Personas page at 1,000,000 customers (SQLite)?

    /tmp/venv-probe/bin/python -m bench.personas_bench            # builds bench/out/big.db once (~1 min)
    /tmp/venv-probe/bin/python -m bench.personas_bench --runs 9 --customers 1000000

Each query runs through the app's own code (core.personas, core.messages) on the app's engine
(core.db.make_engine: WAL, same pragmas), in a fresh Session per run; the median of --runs runs
is reported in ms and as a ratio to a baseline measured in the same run (a primary-key lookup of
one customer through the ORM). The first run of each is a warm-up and not counted.
Target: every query < 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.bigdb import DEFAULT_PATH, build  # noqa: E402
from core.messaging import messages  # noqa: E402
from core.consent import personas  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.models import Customer, SmsStatus, Source  # noqa: E402

TARGET_MS = 100.0


def timed(engine, fn, runs: int) -> float:
    samples = []
    for i in range(runs + 1):
        with Session(engine) as s:
            t0 = time.perf_counter()
            fn(s)
            dt_ms = (time.perf_counter() - t0) * 1000
        if i:  # the first run warms the cache
            samples.append(dt_ms)
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", default=str(DEFAULT_PATH))
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()

    t0 = time.perf_counter()
    path = build(a.path, a.customers, 3)
    print(f"database: {path} ({Path(path).stat().st_size / 1e9:.2f} GB, ready in {time.perf_counter() - t0:.1f}s)")
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as s:
        n_customers = s.exec(text("SELECT count(*) FROM customer")).one()[0]
        n_events = s.exec(text("SELECT count(*) FROM consent_event")).one()[0]
        n_messages = s.exec(text("SELECT count(*) FROM message")).one()[0]
        first = personas.search(s)
        cursor = first.next_cursor
        sample = s.get(Customer, a.customers // 2 + 7)
        phone = sample.phone
        view_id = sample.id
        last7 = phone[-7:]
        last4 = phone[-4:]
        formatted = f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
        # page 1,000 (keyset: as fast as page 2)
        deep = personas.search(s)
        for _ in range(20):
            deep = personas.search(s, after=deep.next_cursor)
        deep_cursor = deep.next_cursor
    print(f"rows: {n_customers:,} customers, {n_events:,} consent events, {n_messages:,} messages")
    print(f"sample customer #{view_id} {sample.name} {phone}")

    cases = [
        ("baseline: SELECT 1", lambda s: s.exec(text("SELECT 1")).one()),
        ("baseline: customer by primary key", lambda s: s.get(Customer, view_id)),
        ("first page (50 newest)", lambda s: personas.search(s)),
        ("next page (keyset)", lambda s: personas.search(s, after=cursor)),
        ("page 22 (keyset)", lambda s: personas.search(s, after=deep_cursor)),
        ("total count (all customers)", lambda s: personas.count(s)),
        (f"search phone exact '{formatted}'", lambda s: personas.search(s, query=formatted)),
        (f"search phone end '{last7[:3]}-{last7[3:]}'", lambda s: personas.search(s, query=f"{last7[:3]}-{last7[3:]}")),
        (f"search phone last 4 '{last4}'", lambda s: personas.search(s, query=last4)),
        (f"count phone last 4 '{last4}'", lambda s: personas.count(s, query=last4)),
        ("search name 'garcia'", lambda s: personas.search(s, query="garcia")),
        ("count name 'garcia'", lambda s: personas.count(s, query="garcia")),
        ("search name 'maria garcia'", lambda s: personas.search(s, query="maria garcia")),
        ("search name 'lovel' (rare)", lambda s: personas.search(s, query="lovel")),
        ("search name 'ma' (common)", lambda s: personas.search(s, query="ma")),
        ("search email 'maria.garcia1'", lambda s: personas.search(s, query="maria.garcia1")),
        ("filter status opted out", lambda s: personas.search(s, statuses=[SmsStatus.opted_out])),
        (
            "filter status pending + not opted in",
            lambda s: personas.search(s, statuses=[SmsStatus.pending, SmsStatus.not_opted_in]),
        ),
        ("count status opted out", lambda s: personas.count(s, statuses=[SmsStatus.opted_out])),
        ("filter source Text To Join", lambda s: personas.search(s, sources=[Source.text_to_join])),
        (
            "filter status + source + name",
            lambda s: personas.search(s, query="garcia", statuses=[SmsStatus.opted_in], sources=[Source.pos_sync]),
        ),
        ("customer view (ledger, thread, rules)", lambda s: personas.view(s, view_id)),
        ("message log first page", lambda s: messages.page(s)),
        ("message log count", lambda s: messages.count(s)),
        ("message log by phone", lambda s: messages.page(s, phone=phone)),
    ]
    results = []
    for name, fn in cases:
        results.append((name, timed(engine, fn, a.runs)))
    base = results[1][1]
    print(f"\nmedian of {a.runs} runs; ratio = time / primary-key lookup ({base:.2f} ms)")
    print(f"{'query':48} {'ms':>9} {'ratio':>8}")
    slow = []
    for name, ms in results:
        flag = "" if name.startswith("baseline") or ms < TARGET_MS else "  > 100 ms"
        if flag:
            slow.append(name)
        print(f"{name:48} {ms:9.2f} {ms / base:8.1f}{flag}")
    engine.dispose()
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
