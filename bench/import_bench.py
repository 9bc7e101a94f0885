"""Import speed and memory at a million rows (issues 6 and 12). Run by hand; figures go in the notes.

    nice timeout 1500 /work/main/.venv/bin/python bench/import_bench.py               # 1,000,000 rows (minutes)
    /work/main/.venv/bin/python bench/import_bench.py --rows 100000                   # a quick look

One run measures, each phase in a child process of its own (so no cache carries over from one phase to the
next), in the same run so the ratios compare like with like on a shared machine:
  floor     reading the file + phonenumbers on the distinct numbers + one bulk insert, the simplest code,
            in one process
  import    core.importing.service.import_csv into an empty SQLite database (phones checked by worker
            processes: core.importing.phone_cells)
  reimport  the same file again into that database
  naive     tests/import_reference.py (one customer at a time through the ORM, a commit each) on 50,000 rows
Peak memory counts the phase's process and every process it starts (the phone-checking workers): the
phase's own ru_maxrss plus the largest sum of its descendants' resident memory, sampled every 100 ms.
The file: messy real-world phones (brackets, dots, +1, Excel floats and scientific notation, leading
apostrophes, extensions, UK numbers), ~2% invalid, ~10% duplicate rows (the same number written
another way, sometimes a different opt-in answer), mixed opt-in values, names with accents.
Targets (issue 12): import <= 0.8 x floor; reimport <= 0.3 x import; peak < 1 GB; >= 10 x naive rows/s.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = dt.datetime(2026, 11, 30, 19, 0)
AREA = [
    201,
    202,
    206,
    212,
    213,
    214,
    303,
    305,
    310,
    312,
    404,
    415,
    503,
    510,
    512,
    602,
    617,
    646,
    702,
    718,
    773,
    805,
    818,
    858,
    917,
    949,
    972,
]
FIRST = ["Ann", "Bob", "José", "Zoë", "Li", "Priya", "Mateo", "Chloé", "Sam", "Olu", "Grace", "Ren", "Noor"]
LAST = ["Lee", "García", "Smith", "Nguyen", "O'Brien", "Müller", "Khan", "Rossi", "Kim", "Dubois"]
OPT = [
    "yes",
    "no",
    "Y",
    "N",
    "TRUE",
    "false",
    "1",
    "0",
    "subscribed",
    "unsubscribed",
    "opted in",
    "opted out",
    "",
    "",
    "",
    "Yes",
    "No",
]
OPT_WEIGHTS = [8, 6, 4, 3, 4, 3, 4, 3, 5, 1, 4, 1, 20, 0, 0, 4, 3]


def _spell(rng: random.Random, digits: str) -> str:
    """digits: the 10 national digits of a US number."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    k = rng.random()
    if k < 0.18:
        return f"({a}) {b}-{c}"
    if k < 0.32:
        return f"{a}-{b}-{c}"
    if k < 0.42:
        return f"{a}.{b}.{c}"
    if k < 0.55:
        return digits
    if k < 0.63:
        return f"+1 {a} {b} {c}"
    if k < 0.68:
        return f"1-{a}-{b}-{c}"
    if k < 0.76:
        return f"{digits}.0"  # Excel float
    if k < 0.79:
        return f"1.{digits}E+10"  # Excel scientific notation, all digits kept
    if k < 0.85:
        return f"'{digits}"  # Excel's "stored as text"
    if k < 0.90:
        return f"{a}-{b}-{c} x{rng.randint(1, 999)}"
    return f"+1{digits}"


def generate(path: Path, rows: int, seed: int = 6) -> None:
    rng = random.Random(seed)
    seen: list[str] = []
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Customer ID", "First Name", "Last Name", "Email", "Mobile Phone", "SMS Opt-In", "Store", "Notes"])
        for i in range(rows):
            k = rng.random()
            if k < 0.02:
                phone = rng.choice(
                    [
                        "555-0134",
                        "abc",
                        "123",
                        "(000) 000-0000",
                        "+1 (123) 456-7890",
                        "n/a",
                        "415-555-012",
                        "1.41587E+10",
                    ]
                )
            elif k < 0.12 and seen:
                digits = rng.choice(seen)
                phone = _spell(rng, digits) if digits.isdigit() else digits
            elif k < 0.135:
                phone = f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
                seen.append(phone)
            else:
                digits = f"{rng.choice(AREA)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
                seen.append(digits)
                phone = _spell(rng, digits)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{i}@example.com" if rng.random() < 0.7 else ""
            w.writerow(
                [
                    f"C{i:07d}",
                    first,
                    last,
                    email,
                    phone,
                    rng.choices(OPT, OPT_WEIGHTS)[0],
                    rng.choice(["Main St", "Harbor", "Downtown"]),
                    "" if rng.random() < 0.9 else "VIP",
                ]
            )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _descendants_rss_mb(root: int, cpu: dict[int, float]) -> float:
    """Resident memory of every process descended from `root` (not root itself), from /proc; `cpu` gets each
    one's CPU seconds so far (the workers are the forkserver's children: RUSAGE_CHILDREN never sees them)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parent[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
            except (OSError, ValueError):
                continue
    tree, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier and pid not in tree}
        tree |= frontier
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in tree:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total / 1024


class _ChildMemory(threading.Thread):
    """The largest sum of the descendants' resident memory while the phase runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.cpu: dict[int, float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self._done.wait(0.1):
            self.peak = max(self.peak, _descendants_rss_mb(me, self.cpu))

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _engine(db: Path):
    from core.bootstrap import init_db
    from core.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    return engine


def phase_floor(path: Path, db: Path) -> dict:
    """The simplest code that reads the file, parses each distinct phone once and inserts once."""
    from core import phones

    engine = _engine(db)
    t0 = time.perf_counter()
    first_row: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        pi, fi, li, ei = (header.index(h) for h in ("Mobile Phone", "First Name", "Last Name", "Email"))
        for rec in reader:
            first_row.setdefault(rec[pi], rec)
    stamp = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    out: dict[str, tuple] = {}
    for raw, rec in first_row.items():
        try:
            e164 = phones.normalize(raw, "US")
        except phones.InvalidPhone:
            continue
        out.setdefault(e164, (e164, rec[fi], rec[li], rec[ei].lower(), "csv_import", "not_opted_in", stamp, stamp))
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customer (phone, first_name, last_name, email, source, sms_status, created_at, updated_at, "
            "zip, source_detail, opt_in_requests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '', 0)",
            list(out.values()),
        )
    return {"seconds": time.perf_counter() - t0, "customers": len(out), "distinct_raw": len(first_row)}


def phase_import(path: Path, db: Path) -> dict:
    from sqlmodel import Session

    from core.importing import service

    engine = _engine(db)
    t0 = time.perf_counter()
    with Session(engine) as s:
        report = service.import_csv(s, path, attested=True, now=NOW)
    return {"seconds": time.perf_counter() - t0, **report.counts(), "request_reasons": None}


def phase_naive(path: Path, db: Path, rows: int) -> dict:
    from sqlmodel import Session

    from tests import import_reference

    engine = _engine(db)
    t0 = time.perf_counter()
    with Session(engine) as s:
        counts = import_reference.import_file(s, path, attested=True, now=NOW, limit=rows)
    return {"seconds": time.perf_counter() - t0, "rows": rows, **counts}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"phase {args[1]} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--naive-rows", type=int, default=50_000)
    ap.add_argument("--dir", default=None, help="where the CSV and databases go (default: a temp dir)")
    ap.add_argument("--phase", choices=["floor", "import", "naive"], help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.phase:
        children = _ChildMemory()
        children.start()
        cpu0 = _cpu_seconds()
        path, db = Path(args.file), Path(args.db)
        if args.phase == "floor":
            result = phase_floor(path, db)
        elif args.phase == "import":
            result = phase_import(path, db)
        else:
            result = phase_naive(path, db, args.naive_rows)
        children_mb = children.stop()
        result["own_peak_mb"] = round(_peak_mb(), 1)
        result["children_peak_mb"] = round(children_mb, 1)
        result["peak_mb"] = round(_peak_mb() + children_mb, 1)
        result["cpu"] = round(_cpu_seconds() - cpu0, 2)
        result["children_cpu"] = round(sum(children.cpu.values()), 2)
        print(json.dumps(result))
        return

    load0 = os.getloadavg()[0]
    work = Path(args.dir or tempfile.mkdtemp(prefix="import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"customers-{args.rows}.csv"
    if not csv_path.exists():
        t = time.perf_counter()
        generate(csv_path, args.rows)
        print(f"generated {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    dbs = {k: work / f"{k}.db" for k in ("floor", "import", "naive")}
    for p in dbs.values():
        for suffix in ("", "-wal", "-shm"):
            Path(str(p) + suffix).unlink(missing_ok=True)

    floor = _child(["--phase", "floor", "--file", str(csv_path), "--db", str(dbs["floor"])])
    print(
        f"floor     {floor['seconds']:8.1f} s (cpu {floor['cpu']:6.1f} s)   peak {floor['peak_mb']:6.0f} MB   "
        f"{floor['customers']:,} customers from {floor['distinct_raw']:,} distinct phone strings"
    )
    first = _child(["--phase", "import", "--file", str(csv_path), "--db", str(dbs["import"])])
    print(
        f"import    {first['seconds']:8.1f} s (cpu {first['cpu']:6.1f} s + workers {first['children_cpu']:5.1f} s)   "
        f"peak {first['peak_mb']:6.0f} MB (workers {first['children_peak_mb']:.0f})   "
        f"created {first['created']:,}, invalid {first['invalid']:,}, duplicates {first['duplicates_in_file']:,}, "
        f"opted in {first['opted_in']:,}, opted out {first['opted_out']:,}"
    )
    again = _child(["--phase", "import", "--file", str(csv_path), "--db", str(dbs["import"])])
    print(
        f"reimport  {again['seconds']:8.1f} s (cpu {again['cpu']:6.1f} s + workers {again['children_cpu']:5.1f} s)   "
        f"peak {again['peak_mb']:6.0f} MB (workers {again['children_peak_mb']:.0f})   "
        f"created {again['created']:,}, updated {again['updated']:,}, unchanged {again['unchanged']:,}"
    )
    naive = _child(
        ["--phase", "naive", "--file", str(csv_path), "--db", str(dbs["naive"]), "--naive-rows", str(args.naive_rows)]
    )
    print(
        f"naive     {naive['seconds']:8.1f} s (cpu {naive['cpu']:6.1f} s)   peak {naive['peak_mb']:6.0f} MB   "
        f"{naive['rows']:,} rows"
    )

    import_rate = args.rows / first["seconds"]
    naive_rate = naive["rows"] / naive["seconds"]
    peak = max(first["peak_mb"], again["peak_mb"])
    checks = [
        ("import / floor", first["seconds"] / floor["seconds"], "<= 0.8", first["seconds"] <= 0.8 * floor["seconds"]),
        (
            "reimport / import",
            again["seconds"] / first["seconds"],
            "<= 0.3",
            again["seconds"] <= 0.3 * first["seconds"],
        ),
        ("import rows/s / naive rows/s", import_rate / naive_rate, ">= 10", import_rate >= 10 * naive_rate),
        ("peak MB incl. workers", peak, "< 1024", peak < 1024),
    ]
    print(
        f"\nimport {import_rate:,.0f} rows/s; naive {naive_rate:,.0f} rows/s. Wall clock on a shared machine "
        f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, {load0:.1f} at the start). "
        f"CPU seconds: the import's own process / floor {first['cpu'] / floor['cpu']:.2f}, with its workers "
        f"{(first['cpu'] + first['children_cpu']) / floor['cpu']:.2f}; reimport/import "
        f"{again['cpu'] / first['cpu']:.2f}"
    )
    for label, value, target, ok in checks:
        print(f"{label:32s} {value:10.2f}   target {target:8s} {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
