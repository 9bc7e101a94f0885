"""The same file imported twice at once while customers text STOP: no duplicates, opt-out wins."""

import threading

import pytest
from sqlmodel import Session, select

from core.consent import customers
from core.importing import apply, service
from core.messaging import inbox
from core.models import Customer, Message, MessageKind, SmsStatus
from tests.conftest import BACKENDS, NOW
from tests.import_helpers import write_csv

ROWS = 60


@pytest.mark.parametrize("file_engine", BACKENDS, indirect=True)
def test_two_imports_of_one_file_and_stop_replies_at_once_end_consistent(file_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(apply, "CHUNK_ROWS", 7)
    lines = ["phone,first_name,sms_opt_in"] + [
        f"415-555-{3000 + i},N{i},{['yes', '', 'no'][i % 3]}" for i in range(ROWS)
    ]
    path = write_csv(tmp_path, "shared.csv", lines)
    stoppers = [f"+1415555{3000 + i}" for i in range(0, ROWS, 5)]
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def import_it():
        try:
            start.wait()
            with Session(file_engine) as s:
                service.import_csv(s, path, attested=True, now=NOW)
        except BaseException as exc:  # noqa: BLE001 - any escape fails the test
            errors.append(exc)

    def text_stop():
        try:
            start.wait()
            with Session(file_engine) as s:
                for phone in stoppers:
                    inbox.receive(s, phone=phone, body="STOP", now=NOW)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [
        threading.Thread(target=import_it),
        threading.Thread(target=import_it),
        threading.Thread(target=text_stop),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors

    with Session(file_engine) as s:
        people = s.exec(select(Customer)).all()
        assert len(people) == ROWS == len({c.phone for c in people})
        for c in people:
            ledger = list(reversed(customers.ledger(s, c.id)))
            if ledger:
                assert ledger[-1].new_status is c.sms_status, c.phone
            for before, after in zip(ledger, ledger[1:]):
                assert after.old_status is before.new_status, c.phone
            if c.phone in stoppers:
                assert c.sms_status is SmsStatus.opted_out, c.phone
        requests = s.exec(select(Message.phone).where(Message.kind == MessageKind.opt_in_request)).all()
        assert len(requests) == len(set(requests))  # one request per phone at most
