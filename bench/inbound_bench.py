"""Inbound handling speed: 10,000 texts through core.inbox.receive on a SQLite file.

    .venv/bin/python bench/inbound_bench.py [--texts 10000]

Prints texts/s for the real path and for a baseline measured in the same run
(one committed INSERT of the inbound message per text: the least any handler must do),
their ratio, and how many SQL statements one text costs, by keyword.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402
from sqlmodel import Session  # noqa: E402

from core.messaging import inbox  # noqa: E402
from core.bootstrap import init_db  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.models import Direction, Message, MessageStatus, utcnow  # noqa: E402
from core.messaging.texting import DEFAULT_JOIN_NUMBER  # noqa: E402

BODIES = ["JOIN", "YES", "Y", "STOP", "START", "HELP", "what time do you open?", "please stop texting me"]


def plan(n: int, phones: int, seed: int = 1) -> list[tuple[str, str, str | None]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        phone = f"+1415{rng.randrange(200, 999):03d}{rng.randrange(0, 10000):04d}"
        if rng.random() < 0.7:
            phone = f"+1415555{rng.randrange(phones):04d}"
        body = rng.choice(BODIES)
        out.append((phone, body, DEFAULT_JOIN_NUMBER if body == "JOIN" else None))
    return out


def baseline(path: Path, texts) -> float:
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    t0 = time.perf_counter()
    with Session(engine) as s:
        for phone, body, to in texts:
            s.add(
                Message(
                    phone=phone,
                    shop_number=to or "",
                    direction=Direction.inbound,
                    body=body,
                    status=MessageStatus.received,
                    created_at=utcnow(),
                )
            )
            s.commit()
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed


def real(path: Path, texts) -> tuple[float, dict[str, list[int]]]:
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    counter = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_a, **_k):
        counter["n"] += 1

    per_kw: dict[str, list[int]] = collections.defaultdict(list)
    t0 = time.perf_counter()
    with Session(engine) as s:
        for phone, body, to in texts:
            before = counter["n"]
            inbox.receive(s, phone=phone, body=body, to=to)
            per_kw[body].append(counter["n"] - before)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed, per_kw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=10_000)
    ap.add_argument("--phones", type=int, default=3_000)
    args = ap.parse_args()
    texts = plan(args.texts, args.phones)
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(Path(tmp) / "base.db", texts)
        secs, per_kw = real(Path(tmp) / "real.db", texts)
    n = len(texts)
    print(f"texts: {n:,} on a SQLite file (WAL)")
    print(f"baseline (one committed INSERT per text): {n / base:8.0f} texts/s")
    print(
        f"inbox.receive (rules, ledger, replies):   {n / secs:8.0f} texts/s   "
        f"({secs / n * 1000:.2f} ms/text, {secs / base:.2f}x the baseline's time)"
    )
    print("SQL statements per text (median, by message):")
    for body, counts in sorted(per_kw.items()):
        counts.sort()
        print(f"  {body!r:28} {counts[len(counts) // 2]:3d}  (max {counts[-1]})")


if __name__ == "__main__":
    main()
