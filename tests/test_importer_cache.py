"""ImportCache: what one owner's session reuses between Check the file and Import, and nothing else. No
module-level cache: a scan is reused only for the same database, a workbook copy lives as long as its cache."""

from __future__ import annotations

import io
import os

import openpyxl
from sqlmodel import Session

from core.bootstrap import init_db
from core.db import make_engine
from core.importing import service
from core.importing.cache import ImportCache
from tests.conftest import NOW
from tests.import_helpers import status_of, write_csv


def _count_scans(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = service.scan

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "scan", counting)
    return calls


def test_the_check_is_not_read_again_by_the_import_that_follows_it(session, tmp_path, monkeypatch):
    scans = _count_scans(monkeypatch)
    path = write_csv(tmp_path, "list.csv", ["phone,sms opt-in", "415-555-0101,yes", "415-555-0102,no"])
    with ImportCache() as cache:
        dry = service.dry_run(session, path, attested=True, now=NOW, cache=cache)
        done = service.import_csv(session, path, attested=True, now=NOW, cache=cache)
    assert len(scans) == 1 and dry.counts() == done.counts()
    service.import_csv(session, path, attested=True, now=NOW)  # no cache: read again
    assert len(scans) == 2


def test_a_scan_is_never_reused_for_another_shops_database(tmp_path, monkeypatch):
    scans = _count_scans(monkeypatch)
    path = write_csv(tmp_path, "list.csv", ["phone,sms opt-in", "415-555-0101,unsubscribed"])
    shops = [make_engine("sqlite://"), make_engine("sqlite://")]
    with ImportCache() as cache:
        for engine in shops:
            init_db(engine)
            with Session(engine) as s:
                assert service.import_csv(s, path, attested=False, now=NOW, cache=cache).created == 1
                assert status_of(s, "+14155550101") == "opted_out"
    assert len(scans) == 2
    for engine in shops:
        engine.dispose()


def _xlsx(tmp_path, name: str, phone: str):
    wb = openpyxl.Workbook()
    wb.active.append(["phone"])
    wb.active.append([phone])
    buf = io.BytesIO()
    wb.save(buf)
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return path


def test_a_workbooks_csv_copy_lives_as_long_as_its_cache_and_no_longer(session, tmp_path):
    path = _xlsx(tmp_path, "list.xlsx", "415-555-0101")
    service.import_csv(session, path, attested=False, now=NOW)
    with ImportCache() as cache:
        service.dry_run(session, path, now=NOW, cache=cache)
        (copy,) = cache.xlsx_paths
        assert os.path.exists(copy)
        service.import_csv(session, path, attested=False, now=NOW, cache=cache)
        assert cache.xlsx_paths == [copy]  # the import read the check's copy
    assert not os.path.exists(copy)


def test_the_cache_keeps_the_last_two_workbooks(session, tmp_path):
    with ImportCache() as cache:
        copies = []
        for i in range(3):
            service.dry_run(session, _xlsx(tmp_path, f"l{i}.xlsx", f"415-555-010{i}"), now=NOW, cache=cache)
            copies.append(cache.xlsx_paths[-1])
        assert cache.xlsx_paths == copies[1:] and not os.path.exists(copies[0])
