"""Phone checking in worker processes (core.importing.phone_cells): a big file's numbers are checked by a pool,
a small file's here; both ways end in the same report and the same database."""

from __future__ import annotations

import multiprocessing

from bench.import_bench import generate
from core.importing import phone_cells
from core.importing.service import import_csv
from tests.conftest import NOW
from tests.import_helpers import snapshot


def _import(session, path):
    report = import_csv(session, path, attested=True, now=NOW)
    return report.counts(), [(e.row, e.column, e.reason, e.value) for e in report.invalid], snapshot(session)


def test_a_pool_of_workers_and_one_process_give_the_same_import(session, tmp_path, monkeypatch):
    path = tmp_path / "messy.csv"
    generate(path, 1_500, seed=12)  # messy phones: Excel floats, extensions, UK numbers, ~2% invalid, duplicates
    started = []
    real_pool = phone_cells._pool

    def counting_pool(workers):
        started.append(workers)
        return real_pool(workers)

    monkeypatch.setattr(phone_cells, "_pool", counting_pool)
    alone = _import(session, path)
    assert started == []  # under PARALLEL_MIN numbers: no pool

    # the same file into the emptied database, with the pool forced on
    monkeypatch.setattr(phone_cells, "PARALLEL_MIN", 1)
    monkeypatch.setattr(phone_cells, "BATCH", 300)
    monkeypatch.setattr(phone_cells.os, "cpu_count", lambda: 2)
    _wipe(session)
    pooled = _import(session, path)
    assert started == [2]
    assert pooled[0] == alone[0] and pooled[1] == alone[1]
    assert pooled[2] == alone[2]
    assert alone[0]["invalid"] > 20 and alone[0]["duplicates_in_file"] > 100  # the file is messy indeed


def _wipe(session):
    for table in ("message", "consent_event", "pos_contact", "import_run", "customer"):
        session.connection().exec_driver_sql(f"DELETE FROM {table}")
    session.commit()


def test_the_workers_stop_when_the_check_is_done(monkeypatch):
    monkeypatch.setattr(phone_cells, "PARALLEL_MIN", 1)
    monkeypatch.setattr(phone_cells, "BATCH", 2)
    monkeypatch.setattr(phone_cells.os, "cpu_count", lambda: 2)
    resolver = phone_cells.PhoneResolver("US", lambda c: set())
    ids = resolver.id_of(["(415) 555-0123", "abc", "+44 7911 123456", "415.555.0123", ""])
    assert resolver.pool is not None and resolver.workers == 2
    codes, reasons = resolver.finish()
    assert resolver.pool is None and not [p for p in multiprocessing.active_children() if "PoolWorker" in p.name]
    assert codes[ids[0]] == codes[ids[3]] == 14155550123  # two spellings, one number
    assert codes[ids[2]] == 447911123456
    assert reasons[-codes[ids[1]]] == "not a phone number" and codes[ids[4]] < 0
